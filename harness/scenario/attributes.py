"""The attributes of containers and devices, and the backend query behind each.

`resolve(kind, attrs)` gives the backend method, whether the attribute takes an argument
(`c0.mapped_at(IOVA)`, `gpu0.msix.masked(V)`) and the BAR index it passes (`gpu0.bar2.size`),
or `scenario.error:unknown.name` naming the attributes that kind has.
"""

from __future__ import annotations

from harness.scenario.fields import fail
from harness.vfio.catalog import ErrorId
from harness.vfio.pci import BAR_COUNT

CONTAINER: dict[str, tuple[str, bool]] = {
    # attribute -> (backend method, takes an argument)
    "mappings": ("mappings", False),
    "mapped": ("mapped", False),
    "avail": ("avail", False),
    "mapped_at": ("mapped_at", True),
    "translate": ("translate", True),
}
DEVICE: dict[str, tuple[str, bool]] = {
    "command": ("command", False),
}
MSIX: dict[str, tuple[str, bool]] = {
    "vectors": ("msix_vectors", False),
    "enabled": ("msix_enabled", False),
    "fmask": ("msix_function_masked", False),
    "masked": ("msix_masked", True),
    "pending": ("msix_pending", True),
    "delivered": ("msix_delivered", True),
    "configured": ("msix_configured", False),
    "last_addr": ("msix_last_addr", True),
    "last_data": ("msix_last_data", True),
}
REGION = ("size", "gpa")
BARS = {f"bar{index}": index for index in range(BAR_COUNT)}


def resolve(kind: str, attrs: tuple[str, ...]) -> tuple[str, bool, int | None]:
    """(backend method, takes an argument, BAR index) of `NAME.attrs` for a name of `kind`."""
    if kind == "container":
        if len(attrs) == 1 and attrs[0] in CONTAINER:
            method, takes_arg = CONTAINER[attrs[0]]
            return method, takes_arg, None
        known = ", ".join(CONTAINER)
    else:
        if len(attrs) == 1 and attrs[0] in DEVICE:
            method, takes_arg = DEVICE[attrs[0]]
            return method, takes_arg, None
        if len(attrs) == 2 and attrs[0] == "msix" and attrs[1] in MSIX:
            method, takes_arg = MSIX[attrs[1]]
            return method, takes_arg, None
        if len(attrs) == 2 and attrs[1] in REGION:
            if attrs[0] in BARS:
                return f"bar_{attrs[1]}", False, BARS[attrs[0]]
            if attrs[0] == "rom":
                return f"rom_{attrs[1]}", False, None
        known = (
            f"command, barN.size, barN.gpa (N 0-{BAR_COUNT - 1}), rom.size, rom.gpa, msix."
            + ", msix.".join(MSIX)
        )
    raise fail(
        ErrorId.SCENARIO_UNKNOWN_NAME,
        f"a {kind} has no attribute '{'.'.join(attrs)}' (it has: {known})",
    )
