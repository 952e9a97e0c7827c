"""The kernel backend's costs: setup, boot, snapshot restore, ops per second, the DMA corpus.

Figures, each with its target from the kernel backend's issue (this machine class, TCG):

- setup, cold (an empty cache: downloads, builds, the KVM probe with `--accel auto`, the boot
  and the snapshot) and warm (a second run: it only checks); the kernel part of CI must stay
  within 5 minutes after apt;
- boot to the agent's first answer, cold (<= 10 s) and restored from the snapshot (<= 1.5 s),
  each the median of several starts, plus a whole session's start (artifacts verified, QEMU's
  version checked, the snapshot restored);
- ops per second from a scenario of map/unmap/avail lines (>= 800);
- the corpus's DMA scenarios (`scenarios/dma`) on the kernel against the model (<= 30 s).

It prints figures and ratios and never asserts them. The cold setup uses a temporary cache and
downloads about 75 MB (`--no-cold` skips it); everything else uses the set-up cache.

Usage: `.venv/bin/python bench/kernel.py [--no-cold] [--starts N] [--ops N]`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# Run as a script, this file's folder leads sys.path, and bench/annotations.py would shadow the
# `annotations` package the runner imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from harness.backend import CoreDefaults  # noqa: E402
from harness.discovery import Scenario, group  # noqa: E402
from harness.kernel import artifacts, provision  # noqa: E402
from harness.kernel.config import KernelConfig  # noqa: E402
from harness.kernel.guest import Guest, Images  # noqa: E402
from harness.kernel.session import KernelSession  # noqa: E402
from harness.runner import run_scenario  # noqa: E402
from harness.sessions import open_backend  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"cold boot": 10.0, "restore": 1.5, "ops/s": 800.0, "dma corpus": 30.0, "ci": 300.0}


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def setup_times(config: KernelConfig) -> tuple[float, float]:
    """A cold setup into an empty cache, then a warm one on the same cache."""
    with tempfile.TemporaryDirectory(prefix="vfio-bench-kernel-") as scratch:
        root = Path(scratch)
        cold = _timed(lambda: provision.setup(config, root, say=lambda _: None))
        warm = _timed(lambda: provision.setup(config, root, say=lambda _: None))
    return cold, warm


def start_times(installed: artifacts.Installed, starts: int, snapshot: bool) -> list[float]:
    """Seconds from starting QEMU to the agent's first answer, `starts` times."""
    images = Images(
        installed.vmlinux, installed.initramfs, installed.snapshot if snapshot else None
    )
    seconds = []
    with tempfile.TemporaryDirectory(prefix="vfio-bench-incidents-") as incidents:
        for _ in range(starts):
            guest = Guest.start(
                images,
                installed.config.iommu,
                installed.accel,
                watchdog=60.0,
                ready_timeout=180.0,
                incidents=Path(incidents),
            )
            seconds.append(guest.ready_seconds)
            guest.stop()
    return seconds


def ops_scenario(folder: Path, pairs: int) -> tuple[Scenario, int]:
    """A scenario of `pairs` maps, as many unmaps and avail checks; it and its call count."""
    lines = ["container c0"]
    for n in range(pairs):
        iova = 0x100000 + n * 0x2000
        lines.append(f"map c0 iova={iova:#x} vaddr={0x7F0000000000 + n * 0x1000:#x} size=4K")
    lines.append(f"assert c0.avail == {65535 - pairs}")
    for n in range(pairs):
        lines.append(f"unmap c0 iova={0x100000 + n * 0x2000:#x} size=4K == 4K")
    lines.append("assert c0.mappings == 0")
    path = folder / "ops.vfio"
    path.write_text("\n".join(lines) + "\n")
    (scenario,) = group([path], folder)
    return scenario, 2 * pairs + 1 + 2  # the container, the maps and unmaps, two queries


def run_all(scenarios: list[Scenario], session: object) -> float:
    """Seconds to run the scenarios one after the other on the session."""
    began = time.perf_counter()
    for scenario in scenarios:
        run_scenario(scenario, session=session)  # type: ignore[arg-type]
    return time.perf_counter() - began


def main() -> None:
    """Print every figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cold", action="store_true", help="skip the cold setup")
    parser.add_argument("--starts", type=int, default=5, help="starts per boot figure")
    parser.add_argument("--ops", type=int, default=1000, help="map/unmap pairs")
    args = parser.parse_args()
    config = KernelConfig()

    if not args.no_cold:
        cold, warm = setup_times(config)
        print(f"setup, cold (empty cache):   {cold:7.1f} s")
        print(f"setup, warm (second run):    {warm:7.2f} s  (cold/warm {cold / warm:.0f}x)")

    installed = artifacts.installed(config)
    boots = start_times(installed, max(1, args.starts // 2), snapshot=False)
    restores = start_times(installed, args.starts, snapshot=True)
    cold_boot, restore = statistics.median(boots), statistics.median(restores)
    print(
        f"boot to ready, cold:         {cold_boot:7.2f} s  (median of {len(boots)};"
        f" target <= {TARGETS['cold boot']:g} s; {installed.accel})"
    )
    print(
        f"boot to ready, from snapshot:{restore:7.2f} s  (median of {len(restores)};"
        f" target <= {TARGETS['restore']:g} s; cold/snapshot {cold_boot / restore:.0f}x)"
    )
    opened: list[KernelSession] = []
    session_start = _timed(lambda: opened.append(KernelSession(CoreDefaults())))
    session = opened[0]
    print(f"session start (verify+restore):{session_start:5.2f} s")
    try:
        with tempfile.TemporaryDirectory(prefix="vfio-bench-ops-") as scratch:
            scenario, calls = ops_scenario(Path(scratch), args.ops)
            seconds = run_all([scenario], session)
            model = open_backend("model", CoreDefaults())
            try:
                model_seconds = run_all([scenario], model)
            finally:
                model.close()
        print(
            f"ops per second (scenario):   {calls / seconds:7.0f}    ({calls} calls in"
            f" {seconds:.2f} s; target >= {TARGETS['ops/s']:g};"
            f" model {calls / model_seconds:.0f}/s)"
        )
        dma = group(sorted((ROOT / "scenarios" / "dma").rglob("*.vfio")), ROOT / "scenarios")
        kernel_seconds = run_all(dma, session)
        model_session = open_backend("model", CoreDefaults())
        try:
            model_dma = run_all(dma, model_session)
        finally:
            model_session.close()
        print(
            f"DMA corpus ({len(dma)} scenarios): kernel {kernel_seconds:.2f} s, model"
            f" {model_dma:.2f} s (kernel/model {kernel_seconds / model_dma:.0f}x;"
            f" target <= {TARGETS['dma corpus']:g} s)"
        )
    finally:
        session.close()


if __name__ == "__main__":
    main()
