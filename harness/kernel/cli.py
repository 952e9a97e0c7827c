"""`python -m harness kernel setup|status|serve` (also `python -m harness.kernel ...`).

- `setup`: find or build the guest of a configuration (see `harness.kernel.provision`);
- `status`: what the cache holds, each artifact verified, and which configurations are ready;
- `serve`: the kernel backend behind the `vfio-harness/1` protocol on stdin/stdout; this is
  what `-D backend=kernel` runs.

Exit status: 0 done, 1 a setup step failed (the message says which, with a hint), 2 usage,
3 (`serve`) the guest broke down: the fault is on stderr.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from harness.backend import BackendFault
from harness.kernel import artifacts, cache
from harness.kernel.config import ACCELS, IOMMUS, SERIES, ConfigError, KernelConfig
from harness.kernel.errors import SetupError
from harness.protocol.server import fault_report

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_FAULT = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m harness kernel",
        description="The kernel backend: scenarios against Linux VFIO in a QEMU guest.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("setup", "download, build and snapshot the guest (once; a second run only checks)"),
        ("status", "what the cache holds and which configurations are ready"),
        ("serve", "serve the kernel backend over the vfio-harness/1 protocol on stdin/stdout"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("--version", choices=SERIES, default="6.1", help="kernel series")
        command.add_argument("--iommu", choices=IOMMUS, default="vtd", help="emulated IOMMU")
        command.add_argument("--accel", choices=ACCELS, default="auto", help="QEMU accelerator")
        command.add_argument(
            "--cache", type=Path, default=None, help="cache folder (default: the user's cache)"
        )
        if name == "serve":
            command.add_argument(
                "--timeout",
                type=float,
                default=30.0,
                help="the harness's backend.timeout: the guest's watchdog is 80%% of it",
            )
    return parser


def _say(text: str) -> None:
    print(text, flush=True)


def status(root: Path) -> int:
    """Print every artifact (verified or broken) and every configuration set up; 0."""
    print(f"kernel cache: {root}")
    found = False
    for kind in (*artifacts.KINDS, "probe"):
        for path in cache.find(root, kind):
            found = True
            size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            try:
                cache.verify(path)
                state = "ok"
            except cache.BrokenArtifact as broken:
                state = f"BROKEN: {broken.reason}"
            print(f"  {path.name}: {state} ({size / 2**20:.1f} MiB)")
    if not found:
        print("  (empty)")
    ready = False
    for pointer in sorted(root.glob("current-*.json")):
        parts = pointer.stem.split("-")[1:]
        try:
            config = KernelConfig(*parts)  # type: ignore[arg-type]
        except (ConfigError, TypeError):
            continue
        try:
            done = artifacts.installed(config, root)
        except SetupError as error:
            print(f"{config.describe()}: not usable: {error.message}")
            continue
        ready = True
        info = ", ".join(f"{k} {v}" for k, v in done.info().items())
        print(f"{config.describe()}: ready ({info}); its devices:")
        for device in done.facts.devices:
            print(f"  {device.summary()}")
    if not ready:
        print(f"no configuration is ready: {artifacts.setup_hint(KernelConfig())}")
    return EXIT_OK


def _serve(config: KernelConfig, root: Path, timeout: float) -> int:
    from harness.kernel.session import KernelSession
    from harness.protocol.server import serve

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)  # unwind: the session's finally ends QEMU

    signal.signal(signal.SIGTERM, on_term)
    return serve(
        lambda defaults: KernelSession(
            defaults, config, root=root, watchdog=timeout * 0.8, on_fault=_exit_on_fault
        ),
        sys.stdin.buffer,
        sys.stdout.buffer,
    )


def _exit_on_fault(fault: BackendFault) -> None:
    """End the serving process: the protocol's way to say the backend broke down.

    The guest is already stopped; the harness reports "backend kernel exited with status 3
    during METHOD at FILE:LINE" with these lines as the stderr tail, and starts a new process
    (a restored guest) for the next scenario.
    """
    sys.stderr.write(fault_report(fault, "kernel backend fault: "))
    sys.stderr.flush()
    os._exit(EXIT_FAULT)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the exit status."""
    args = _parser().parse_args(argv)
    try:
        config = KernelConfig(args.version, args.iommu, args.accel)
    except ConfigError as error:
        print(f"error: {error.message}\nhint: {error.hint}", file=sys.stderr)
        return EXIT_USAGE
    root = args.cache if args.cache is not None else cache.cache_root()
    try:
        if args.command == "setup":
            from harness.kernel.provision import setup

            setup(config, root, say=_say)
            return EXIT_OK
        if args.command == "status":
            return status(root)
        return _serve(config, root, args.timeout)
    except SetupError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
