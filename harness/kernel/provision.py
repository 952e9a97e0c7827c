"""`python -m harness kernel setup`: every artifact of a guest, found verified or built.

The steps, each skipped when its artifact is in the cache and verifies:

1. host tools: when one is missing, the exact `apt-get install` line, and stop;
2. packages: the kernel image the series' meta-package depends on today, and busybox-static;
3. `linux-*`: `apt-get download`, `dpkg -x`, the PVH `vmlinux`, the VFIO modules;
4. `busybox-*`: the static busybox;
5. `guest-*`: the agent compiled (static C), the initramfs built with `busybox cpio`;
6. with `kernel.accel=auto`, a probe: does a KVM guest reach its agent within a few seconds?
7. `snapshot-*`: one cold boot, the guest surveyed, a migration snapshot saved, then restored
   once to prove it works.

A second run does nothing but check. A broken artifact (no manifest, a file that does not match
it) is removed and rebuilt. Downloads go to a scratch folder that is always removed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.kernel import artifacts, cache, machine, modules, packages, tools, vmlinux
from harness.kernel.cache import Artifact, BrokenArtifact, Builder, key_of
from harness.kernel.config import BUSYBOX_PACKAGE, IommuName, KernelConfig
from harness.kernel.errors import SetupError
from harness.kernel.guest import Guest, GuestFault, Images
from harness.kernel.qemu import QemuError, qemu_version
from harness.kernel.survey import FACTS_FORMAT, survey

AGENT_SOURCE = artifacts.GUEST_SOURCES / "agent.c"
INIT_SOURCE = artifacts.GUEST_SOURCES / "init"
# vfio-pci pulls in vfio, vfio_pci_core, irqbypass (and vfio_virqfd on 6.1) by its depends=;
# virtio_console gives the agent its channel to the host (built in on 6.12).
VFIO_MODULES = ("virtio_pci", "virtio_console", "vfio_iommu_type1", "vfio_pci")
VIRTIO_IOMMU_MODULE = "virtio_iommu"
# virtio-iommu does no interrupt remapping: type1 refuses its groups unless told to allow it.
MODULE_PARAMS: dict[IommuName, dict[str, str]] = {
    "vtd": {},
    "virtio": {"vfio_iommu_type1": "allow_unsafe_interrupts=1"},
}
BOOT_TIMEOUT = 180.0  # seconds a cold TCG boot may take on a loaded machine
KVM_PROBE_SECONDS = 8.0  # a KVM guest that has not reached its agent by then does not work

Say = Callable[[str], None]


def _safe(text: str) -> str:
    return text.replace(":", "%3a").replace("/", "_")


def ensure(root: Path, name: str, build: Callable[[Builder], Artifact], say: Say) -> Artifact:
    """The artifact `root/name`, verified, or built afresh (a broken one is removed first)."""
    path = root / name
    if path.exists():
        try:
            found = cache.verify(path)
        except BrokenArtifact as broken:
            say(f"  {name}: broken ({broken.reason}); rebuilding")
            shutil.rmtree(path)
        else:
            say(f"  {name}: up to date")
            return found
    began = time.monotonic()
    with Builder(path) as builder:
        try:
            built = build(builder)
        except BrokenArtifact as broken:  # what was just written does not read back
            raise SetupError(
                "cache", f"{name} does not verify after its build: {broken.reason}"
            ) from None
    say(f"  {name}: built in {time.monotonic() - began:.1f} s")
    return built


def check_tools() -> None:
    """SetupError naming the missing tools and the line that installs them."""
    absent = tools.missing()
    if absent:
        names = ", ".join(t.what for t in absent)
        raise SetupError(
            "host tools",
            f"missing on this machine: {names}",
            f"install them (as root), then run the setup again:\n  {tools.install_line(absent)}",
        )


def build_linux(builder: Builder, image: packages.Package) -> Artifact:
    """Download and unpack the kernel image; keep the PVH vmlinux and the modules it needs."""
    with tempfile.TemporaryDirectory(prefix="vfio-kernel-deb-") as scratch:
        work = Path(scratch)
        deb = packages.download(image, work / "debs")
        packages.unpack(deb, work / "tree")
        vmlinuz = sorted((work / "tree" / "boot").glob("vmlinuz-*"))
        if not vmlinuz:
            raise SetupError("kernel", f"{deb.name} holds no /boot/vmlinuz-*")
        release = vmlinuz[0].name.removeprefix("vmlinuz-")
        try:
            image_bytes = vmlinux.extract(vmlinuz[0].read_bytes())
        except vmlinux.ImageError as error:
            raise SetupError("kernel", f"{vmlinuz[0].name}: {error}") from None
        (builder.path / artifacts.VMLINUX).write_bytes(image_bytes)
        files = modules.index(work / "tree")
        wanted = [*VFIO_MODULES, *([VIRTIO_IOMMU_MODULE] if VIRTIO_IOMMU_MODULE in files else [])]
        try:
            order = modules.load_order(wanted, files, modules.builtin(work / "tree"))
        except modules.ModuleError as error:
            raise SetupError("kernel", f"{deb.name}: {error}") from None
        (builder.path / "modules").mkdir()
        for module in order:
            target = builder.path / "modules" / module.file_name
            target.write_bytes(modules.elf_bytes(module.path))
    names = [artifacts.VMLINUX, *(f"modules/{m.file_name}" for m in order)]
    facts = {
        "release": release,
        "modules": {m.name: list(m.depends) for m in order},
        "order": [m.name for m in order],
    }
    return builder.commit(names, {"package": image.name, "version": image.version}, facts)


def build_busybox(builder: Builder, package: packages.Package) -> Artifact:
    """Download and unpack busybox-static; keep the binary."""
    with tempfile.TemporaryDirectory(prefix="vfio-kernel-deb-") as scratch:
        work = Path(scratch)
        deb = packages.download(package, work / "debs")
        packages.unpack(deb, work / "tree")
        binary = work / "tree" / "bin" / "busybox"
        if not binary.is_file():
            raise SetupError("busybox", f"{deb.name} holds no /bin/busybox")
        shutil.copyfile(binary, builder.path / "busybox")
        os.chmod(builder.path / "busybox", 0o755)
    return builder.commit(["busybox"], {"package": package.name, "version": package.version})


def gcc_version() -> str:
    """`gcc --version`'s first line (part of the guest's key: another compiler, another agent)."""
    result = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False)
    return result.stdout.splitlines()[0] if result.stdout else "unknown gcc"


def compile_agent(target: Path) -> None:
    """The agent as a static binary; SetupError with gcc's messages when it does not build."""
    argv = ["gcc", "-static", "-O2", "-Wall", "-Wextra", "-o", str(target), str(AGENT_SOURCE)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SetupError(
            "agent",
            f"the guest agent does not compile:\n{result.stderr.strip()}",
            "check that gcc, libc6-dev and linux-libc-dev are installed",
        )


def module_lines(linux: Artifact, iommu: IommuName) -> list[str]:
    """`/etc/vfio-modules`: one `FILE [PARAM...]` line per module, in load order."""
    order = [str(name) for name in linux.facts.get("order", [])]  # type: ignore[attr-defined]
    if iommu == "virtio":
        if VIRTIO_IOMMU_MODULE not in order:
            raise SetupError(
                "guest", f"the kernel {linux.facts.get('release')} has no virtio-iommu module"
            )
        # the IOMMU comes first, so the devices are in its groups when vfio-pci binds them
        order = [VIRTIO_IOMMU_MODULE, *(m for m in order if m != VIRTIO_IOMMU_MODULE)]
    else:
        order = [m for m in order if m != VIRTIO_IOMMU_MODULE]
    params = MODULE_PARAMS[iommu]
    return [f"{name}.ko {params.get(name, '')}".rstrip() for name in order]


def build_guest(builder: Builder, linux: Artifact, busybox: Artifact, iommu: IommuName) -> Artifact:
    """The initramfs: busybox, /init, the agent, the modules and their order."""
    tree = builder.path / "tree"
    for folder in ("bin", "dev", "etc", "proc", "sys", "tmp", "lib/modules"):
        (tree / folder).mkdir(parents=True)
    shutil.copyfile(busybox.file("busybox"), tree / "bin" / "busybox")
    shutil.copyfile(INIT_SOURCE, tree / "init")
    compile_agent(tree / "bin" / "vfio-agent")
    lines = module_lines(linux, iommu)
    for line in lines:
        name = line.split()[0]
        shutil.copyfile(linux.file(f"modules/{name}"), tree / "lib" / "modules" / name)
    (tree / "etc" / "vfio-modules").write_text("".join(f"{line}\n" for line in lines))
    for executable in ("init", "bin/busybox", "bin/vfio-agent"):
        os.chmod(tree / executable, 0o755)
    entries = [".", *sorted(str(p.relative_to(tree)) for p in tree.rglob("*"))]
    with (builder.path / artifacts.INITRAMFS).open("wb") as archive:
        result = subprocess.run(
            [str(busybox.file("busybox")), "cpio", "-o", "-H", "newc"],
            cwd=tree,
            input="\n".join(entries).encode() + b"\n",
            stdout=archive,
            stderr=subprocess.PIPE,
            check=False,
        )
    if result.returncode != 0:
        raise SetupError("guest", f"busybox cpio failed: {result.stderr.decode().strip()}")
    shutil.rmtree(tree)
    inputs = {
        "linux": linux.path.name,
        "busybox": busybox.path.name,
        "iommu": iommu,
        **artifacts.guest_sources(),
    }
    return builder.commit([artifacts.INITRAMFS], inputs, {"modules": lines})


def _start(
    images: Images, iommu: IommuName, accel: machine.RunAccel, root: Path, timeout: float
) -> Guest:
    return Guest.start(
        images,
        iommu,
        accel,
        watchdog=60.0,
        ready_timeout=timeout,
        incidents=root / "incidents",
    )


def probe_kvm(images: Images, iommu: IommuName, root: Path, say: Say) -> machine.RunAccel:
    """`kvm` when a KVM guest reaches its agent within KVM_PROBE_SECONDS, else `tcg`."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        say("  accelerator: tcg (no usable /dev/kvm)")
        return "tcg"
    try:
        guest = _start(images, iommu, "kvm", root, KVM_PROBE_SECONDS)
    except GuestFault:
        say(f"  accelerator: tcg (a KVM guest did not start within {KVM_PROBE_SECONDS:g} s)")
        return "tcg"
    guest.stop()
    say(f"  accelerator: kvm (ready in {guest.ready_seconds:.1f} s)")
    return "kvm"


def build_snapshot(
    builder: Builder,
    images: Images,
    iommu: IommuName,
    accel: machine.RunAccel,
    qemu: str,
    root: Path,
    say: Say,
) -> Artifact:
    """Boot once, survey the guest, save a migration snapshot, and restore it once."""
    try:
        guest = _start(images, iommu, accel, root, BOOT_TIMEOUT)
    except GuestFault as fault:
        raise SetupError("boot", fault.message, _boot_hint(accel)) from None
    try:
        booted = guest.ready_seconds
        say(f"  booted to the agent in {booted:.1f} s ({accel})")
        facts = survey(guest)
        began = time.monotonic()
        monitor = guest.monitor()
        try:
            monitor.command("migrate_set_parameter max-bandwidth 100G")
            monitor.command(f'migrate "exec:cat > {machine.SNAPSHOT}"')
            while True:
                status = monitor.command("info migrate")
                if "Migration status: completed" in status:
                    break
                if "Migration status: failed" in status or "Migration status: cancelled" in status:
                    raise SetupError("snapshot", f"QEMU could not save the snapshot:\n{status}")
                time.sleep(0.05)
        finally:
            monitor.close()
        saved = time.monotonic() - began
        shutil.move(guest.runtime / machine.SNAPSHOT, builder.path / artifacts.SNAPSHOT)
    except (GuestFault, QemuError) as error:
        raise SetupError("snapshot", str(error)) from None
    finally:
        guest.stop()
    restored_images = Images(images.vmlinux, images.initramfs, builder.path / artifacts.SNAPSHOT)
    try:
        check = _start(restored_images, iommu, accel, root, BOOT_TIMEOUT)
    except GuestFault as fault:
        raise SetupError(
            "snapshot", f"the saved snapshot does not restore: {fault.message}"
        ) from None
    restore = check.ready_seconds
    check.stop()
    say(f"  snapshot saved in {saved:.1f} s, restores in {restore:.2f} s")
    return builder.commit(
        [artifacts.SNAPSHOT],
        {"machine": machine.identity(iommu, accel), "qemu": qemu},
        {
            "guest": facts.to_json(),
            "accel": accel,
            "qemu": qemu,
            "boot_seconds": round(booted, 3),
            "restore_seconds": round(restore, 3),
        },
    )


def _boot_hint(accel: machine.RunAccel) -> str:
    if accel == "kvm":
        return "KVM does not run this guest here: use --accel tcg (or auto)"
    return "the guest console above says why; a slow machine may need a quieter moment"


def setup(config: KernelConfig, root: Path | None = None, say: Say = print) -> artifacts.Installed:
    """Find or build every artifact of `config`; what a session then uses."""
    base = cache.cache_root() if root is None else root
    base.mkdir(parents=True, exist_ok=True)
    say(f"kernel setup: {config.describe()} in {base}")
    check_tools()
    image = packages.candidate(packages.depends(config.meta_package))
    busybox_package = packages.candidate(BUSYBOX_PACKAGE)
    say(f"  packages: {image.key}, {busybox_package.key}")
    # the modules kept are part of the name: another list is another artifact
    modules_key = key_of(*VFIO_MODULES, VIRTIO_IOMMU_MODULE)[:8]
    linux_name = f"linux-{_safe(image.key.removeprefix('linux-image-'))}-{modules_key}"
    linux = ensure(base, linux_name, lambda b: build_linux(b, image), say)
    busybox_name = f"busybox-{_safe(busybox_package.version)}"
    busybox = ensure(base, busybox_name, lambda b: build_busybox(b, busybox_package), say)
    guest_key = key_of(
        linux.path.name,
        busybox.path.name,
        *artifacts.guest_sources().values(),
        config.iommu,
        gcc_version(),
    )
    guest = ensure(
        base, f"guest-{guest_key}", lambda b: build_guest(b, linux, busybox, config.iommu), say
    )
    try:
        qemu = qemu_version()
    except QemuError as error:
        raise SetupError("qemu", str(error)) from None
    images = Images(linux.file(artifacts.VMLINUX), guest.file(artifacts.INITRAMFS))
    accel: machine.RunAccel = "tcg" if config.accel == "tcg" else "kvm"
    probe_name = None
    if config.accel == "auto":
        accel, probe_name = _probe(base, linux.path.name, qemu, images, config.iommu, say)
    snapshot_key = key_of(
        guest.digests[artifacts.INITRAMFS],
        linux.digests[artifacts.VMLINUX],
        qemu,
        machine.identity(config.iommu, accel),
        str(FACTS_FORMAT),
    )
    snapshot = ensure(
        base,
        f"snapshot-{snapshot_key}",
        lambda b: build_snapshot(b, images, config.iommu, accel, qemu, base, say),
        say,
    )
    names = {
        "linux": linux.path.name,
        "busybox": busybox.path.name,
        "guest": guest.path.name,
        "snapshot": snapshot.path.name,
    }
    if probe_name is not None:
        names["probe"] = probe_name
    artifacts.write_pointer(base, config, names)
    prune(base, set(), say)
    done = artifacts.installed(config, base)
    say(f"kernel setup: ready ({done.facts.release}, {accel}, QEMU {qemu})")
    return done


def _probe(
    root: Path, linux: str, qemu: str, images: Images, iommu: IommuName, say: Say
) -> tuple[machine.RunAccel, str]:
    """The accelerator `auto` resolves to (and its artifact's name), probed once per kernel,
    QEMU and host kernel."""
    key = key_of(linux, iommu, qemu, os.uname().release)

    def build(builder: Builder) -> Artifact:
        found = probe_kvm(images, iommu, root, say)
        (builder.path / "accel").write_text(found)
        return builder.commit(["accel"], {"linux": linux, "qemu": qemu})

    probe = ensure(root, f"probe-{key}", build, say)
    found = probe.file("accel").read_text().strip()
    return ("kvm" if found == "kvm" else "tcg"), probe.path.name


def prune(root: Path, keep: set[str], say: Say) -> None:
    """Remove the artifacts no configuration's pointer names (older packages, an older agent),
    and the scratch folders of builds whose process is gone."""
    named = set(keep)
    for pointer in root.glob("current-*.json"):
        try:
            named.update(json.loads(pointer.read_text(encoding="utf-8")).values())
        except (OSError, ValueError, AttributeError):
            continue  # unreadable: its configuration is rebuilt by its next setup
    for kind in (*artifacts.KINDS, "probe"):
        for folder in cache.find(root, kind):
            if folder.name not in named:
                shutil.rmtree(folder, ignore_errors=True)
                say(f"  {folder.name}: removed (no configuration uses it)")
    for scratch in root.glob(".*.tmp-*"):
        pid = scratch.name.rpartition("-")[2]
        if not pid.isdigit() or Path(f"/proc/{pid}").exists():
            continue
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            scratch.unlink(missing_ok=True)
