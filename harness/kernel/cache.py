"""Artifacts under the user's cache directory, each complete or absent.

An artifact is a folder `<cache>/kernel/<kind>-<key>/` holding its files and a `manifest.json`
that lists every file with its size and SHA-256, plus what it was built from. The builder
fills a private temporary folder, writes the manifest there last (through a temporary file and
`os.replace`), and only then renames the folder into place, so a reader sees a whole artifact
or none. `verify` checks every file against the manifest: a folder with no manifest, an
unreadable one, a missing, extra-sized or altered file is reported as broken, and the setup
removes and rebuilds it; nothing ever uses a broken artifact.

Keys are short hashes of everything that decides the artifact's bytes (package versions, the
agent's source, the QEMU version and machine line), so a change of any input is a new folder
and an old folder is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
FORMAT = 1  # bumped when the manifest's layout changes: older manifests are then broken
_CHUNK = 1 << 20


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_CACHE_HOME/vfio-harness/kernel`, by default `~/.cache/vfio-harness/kernel`."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "vfio-harness" / "kernel"


def key_of(*parts: str | bytes) -> str:
    """A 16-hex-digit key naming everything `parts` say (order matters)."""
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:16]


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Artifact:
    """A verified artifact folder and what its manifest says."""

    path: Path
    inputs: Mapping[str, str]  # what it was built from (package versions, keys, ...)
    facts: Mapping[str, object]  # what the build found out (kernel release, devices, ...)
    digests: Mapping[str, str]  # each file's SHA-256, as verified

    def file(self, name: str) -> Path:
        """The path of one of its files."""
        return self.path / name


class BrokenArtifact(Exception):
    """An artifact folder that must not be used: why, for `kernel status` and the setup."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def verify(path: Path) -> Artifact:
    """The artifact at `path` when every file matches its manifest, else BrokenArtifact."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrokenArtifact(path, "no manifest (an interrupted build)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BrokenArtifact(path, f"unreadable manifest: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BrokenArtifact(path, "a manifest of another format")
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise BrokenArtifact(path, "the manifest lists no files")
    for name, entry in files.items():
        target = path / name
        if not isinstance(entry, dict) or path.resolve() not in target.resolve().parents:
            raise BrokenArtifact(path, f"bad manifest entry {name!r}")
        try:
            size = target.stat().st_size
        except OSError:
            raise BrokenArtifact(path, f"{name} is missing") from None
        if size != entry.get("size"):
            raise BrokenArtifact(
                path, f"{name} has {size} bytes, the manifest says {entry.get('size')}"
            )
        if file_digest(target) != entry.get("sha256"):
            raise BrokenArtifact(path, f"{name} does not match its SHA-256 (altered or truncated)")
    inputs = manifest.get("inputs", {})
    facts = manifest.get("facts", {})
    if not isinstance(inputs, dict) or not isinstance(facts, dict):
        raise BrokenArtifact(path, "bad inputs or facts in the manifest")
    digests = {name: str(entry["sha256"]) for name, entry in files.items()}
    return Artifact(path, inputs, facts, digests)


class Builder:
    """A temporary folder that becomes the artifact at `final` when `commit` is called.

    Use as a context manager: leaving it without `commit` (an error, Ctrl-C) removes the
    temporary folder, so nothing half-built is left under the final name.
    """

    def __init__(self, final: Path) -> None:
        self.final = final
        self.path = final.with_name(f".{final.name}.tmp-{os.getpid()}")

    def __enter__(self) -> Builder:
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def commit(
        self,
        files: Iterable[str],
        inputs: Mapping[str, str],
        facts: Mapping[str, object] | None = None,
    ) -> Artifact:
        """Hash `files`, write the manifest last and atomically, move the folder into place."""
        entries = {}
        for name in sorted(files):
            target = self.path / name
            entries[name] = {"size": target.stat().st_size, "sha256": file_digest(target)}
        manifest = {
            "format": FORMAT,
            "files": entries,
            "inputs": dict(inputs),
            "facts": dict(facts or {}),
        }
        scratch = self.path / f".{MANIFEST}.tmp"
        with scratch.open("w", encoding="utf-8") as stream:
            json.dump(manifest, stream, indent=1, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(scratch, self.path / MANIFEST)
        if self.final.exists():
            # Another setup finished the same artifact first (same key, same inputs), or a
            # broken one is in the way: keep a verified one, else replace it.
            try:
                return verify(self.final)
            except BrokenArtifact:
                shutil.rmtree(self.final)
        os.rename(self.path, self.final)
        return verify(self.final)


def find(root: Path, kind: str) -> list[Path]:
    """Every folder of one kind of artifact under `root` (verified or not), newest first."""
    if not root.is_dir():
        return []
    folders = [p for p in root.glob(f"{kind}-*") if p.is_dir()]
    return sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)
