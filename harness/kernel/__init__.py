"""The kernel backend: scenarios against the real Linux VFIO code in a QEMU guest.

`python -m harness kernel setup` builds the guest once (a Debian kernel, busybox, the agent in
`guest/`, a snapshot); `-D backend=kernel` then runs each scenario's calls as VFIO system calls
in the guest, with the model beside it to name failures (`failures`). See docs/kernel.md.
"""
