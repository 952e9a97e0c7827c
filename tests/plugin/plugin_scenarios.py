"""Small scenarios the plugin tests write into temporary folders, one per outcome."""

from __future__ import annotations

import os

# The backend the inner runs use unless a test names one: `VFIO_TEST_BACKEND=exec:python -m
# harness serve` runs every plugin test over the process protocol (.ci/run does).
TEST_BACKEND = os.environ.get("VFIO_TEST_BACKEND") or "model"

# A scenario that passes: the second map overlaps the first, as annotated.
PASSING = """container c0
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
//:: ExpectedOutput(dma.map.failed:overlap)
map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K
"""
# The same without the annotation: an additional output on line 3.
FAILING = """container c0
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K
"""
# The overlap is a known bug of the model (issue 12).
KNOWN_BUG = """container c0
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)
map c0 iova=0x101000 vaddr=0x7f0000300000 size=4K
"""
# A known bug whose output no longer occurs: issue 12 looks fixed.
STALE_BUG = """container c0
//:: UnexpectedOutput(dma.map.failed:overlap, /model/issue/12/)
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
"""
# An output the model should give but does not (issue 7): a known bug too.
MISSING_BUG = """container c0
//:: MissingOutput(dma.map.failed:overlap, /model/issue/7/)
map c0 iova=0x100000 vaddr=0x7f0000100000 size=2M
"""
IGNORED = """//:: IgnoreFile(/model/issue/3/)
container c0
map c0 iova=0x101000 vaddr=0x7f0000300000 size=3
"""
