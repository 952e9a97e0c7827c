"""A backend the bless tests copy next to their scenarios (as the module `bless_backends`).

`container edit` changes the scenario file `scenarios/edited.vfio` while the scenario runs,
as an editor saving it would: bless must then write nothing to it. A map at iova 0xdead000
raises, as a broken ioctl wrapper would: the run is aborted, and never blessed.
"""

from __future__ import annotations

from typing import Any

from harness.model import ModelBackend

EDITED = "scenarios/edited.vfio"  # relative to the folder the run starts in
CRASH_IOVA = 0xDEAD000


class Editing(ModelBackend):
    """The model, with a container that edits a scenario and a map address that crashes."""

    def container(self, name: str, **options: Any) -> None:
        if name == "edit":
            with open(EDITED, "a", encoding="utf-8") as handle:
                handle.write("// edited while bless ran\n")
        super().container(name, **options)

    def map(self, container: str, iova: int, *args: Any, **kwargs: Any) -> None:
        if iova == CRASH_IOVA:
            raise RuntimeError("ioctl wrapper broke")
        super().map(container, iova, *args, **kwargs)
