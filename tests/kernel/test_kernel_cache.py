"""Artifacts with manifests (`harness.kernel.cache`): whole or absent, broken ones detected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.kernel import cache
from harness.kernel.cache import BrokenArtifact, Builder


def _build(root: Path, name: str = "guest-1234", files: dict[str, bytes] | None = None) -> Path:
    files = files if files is not None else {"a.bin": b"alpha", "sub/b.bin": b"beta" * 100}
    with Builder(root / name) as builder:
        for relpath, data in files.items():
            (builder.path / relpath).parent.mkdir(parents=True, exist_ok=True)
            (builder.path / relpath).write_bytes(data)
        builder.commit(files, {"package": "p_1.0"}, {"release": "6.1.0"})
    return root / name


def test_commit_makes_an_artifact_that_verifies_with_its_inputs_and_facts(tmp_path: Path) -> None:
    artifact = cache.verify(_build(tmp_path))
    assert artifact.inputs == {"package": "p_1.0"}
    assert artifact.facts == {"release": "6.1.0"}
    assert artifact.file("sub/b.bin").read_bytes() == b"beta" * 100


def test_an_interrupted_build_leaves_nothing_under_the_final_name(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Builder(tmp_path / "snapshot-1") as builder:
        (builder.path / "snapshot.bin").write_bytes(b"half")
        raise RuntimeError("Ctrl-C while saving")
    assert list(tmp_path.iterdir()) == []


def test_verify_fails_on_a_folder_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "guest-1").mkdir()
    (tmp_path / "guest-1" / "initramfs.cpio").write_bytes(b"partial")
    with pytest.raises(BrokenArtifact, match="no manifest"):
        cache.verify(tmp_path / "guest-1")


def test_verify_fails_on_an_altered_file_of_the_same_size(tmp_path: Path) -> None:
    path = _build(tmp_path)
    (path / "a.bin").write_bytes(b"ALPHA")
    with pytest.raises(BrokenArtifact, match=r"a\.bin does not match its SHA-256"):
        cache.verify(path)


def test_verify_fails_on_a_truncated_file(tmp_path: Path) -> None:
    path = _build(tmp_path)
    (path / "sub" / "b.bin").write_bytes(b"beta")
    with pytest.raises(BrokenArtifact, match=r"sub/b\.bin has 4 bytes, the manifest says 400"):
        cache.verify(path)


def test_verify_fails_on_a_missing_file(tmp_path: Path) -> None:
    path = _build(tmp_path)
    (path / "a.bin").unlink()
    with pytest.raises(BrokenArtifact, match=r"a\.bin is missing"):
        cache.verify(path)


def test_verify_fails_on_an_unreadable_manifest(tmp_path: Path) -> None:
    path = _build(tmp_path)
    (path / cache.MANIFEST).write_text("{not json")
    with pytest.raises(BrokenArtifact, match="unreadable manifest"):
        cache.verify(path)


def test_verify_fails_on_a_manifest_of_another_format(tmp_path: Path) -> None:
    path = _build(tmp_path)
    manifest = json.loads((path / cache.MANIFEST).read_text())
    manifest["format"] = cache.FORMAT + 1
    (path / cache.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BrokenArtifact, match="another format"):
        cache.verify(path)


def test_verify_fails_on_a_manifest_entry_outside_the_folder(tmp_path: Path) -> None:
    path = _build(tmp_path)
    manifest = json.loads((path / cache.MANIFEST).read_text())
    manifest["files"]["../escape"] = {"size": 1, "sha256": "0"}
    (path / cache.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BrokenArtifact, match="bad manifest entry"):
        cache.verify(path)


def test_commit_keeps_a_verified_artifact_another_build_finished_first(tmp_path: Path) -> None:
    first = _build(tmp_path, files={"a.bin": b"one"})
    second = _build(tmp_path, files={"a.bin": b"two"})
    assert first == second
    assert (first / "a.bin").read_bytes() == b"one"


def test_commit_replaces_a_broken_artifact_in_its_way(tmp_path: Path) -> None:
    (tmp_path / "guest-1234").mkdir()
    (tmp_path / "guest-1234" / "a.bin").write_bytes(b"leftover")
    path = _build(tmp_path)
    assert cache.verify(path).file("a.bin").read_bytes() == b"alpha"


def test_key_of_depends_on_every_part_and_its_order() -> None:
    assert cache.key_of("a", "b") == cache.key_of("a", "b")
    assert len({cache.key_of("a", "b"), cache.key_of("b", "a"), cache.key_of("ab")}) == 3


def test_cache_root_follows_xdg_cache_home(tmp_path: Path) -> None:
    root = cache.cache_root({"XDG_CACHE_HOME": str(tmp_path)})
    assert root == tmp_path / "vfio-harness" / "kernel"


def test_cache_root_ignores_a_relative_xdg_cache_home() -> None:
    root = cache.cache_root({"XDG_CACHE_HOME": "relative/dir"})
    assert root == Path.home() / ".cache" / "vfio-harness" / "kernel"
