"""Saved grammar analyses (annotations/lark_cache.py): loaded only from a file nobody else wrote.

`NoLoad` and `NoBuild` are `Lark` subclasses swapped in to show which of the two `cached_lark`
did: `NoLoad` records any attempt to load (a failed load is quietly rebuilt, so raising would
go unseen), `NoBuild` refuses to analyse the grammar.
"""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from lark import Lark

from annotations import lark_cache
from annotations.lark_cache import FOLDER, cached_lark, trusted_file, trusted_folder

GRAMMAR = 'start: "a" "b"\n'
OPTIONS: dict[str, Any] = {"parser": "lalr"}

pytestmark = pytest.mark.skipif(not lark_cache.supported(), reason="needs POSIX dir_fd calls")


class NoLoad(Lark):
    """A Lark that must be built: `build` fails the test if a saved analysis reached `load`."""

    attempts: ClassVar[list[bytes]] = []

    @classmethod
    def load(cls, f: Any) -> NoLoad:  # type: ignore[override]
        cls.attempts.append(f.read())
        raise AssertionError("a saved analysis was loaded")


class NoBuild(Lark):
    """A Lark that must be loaded: building from the grammar fails the test."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("the grammar was analysed afresh")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache base of the test's own; returns the folder the analyses go to."""
    base = tmp_path / "cache"
    base.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_CACHE_HOME", str(base))
    return base / FOLDER


def saved(folder: Path) -> Path:
    (file,) = [p for p in folder.iterdir() if p.name.startswith("g-")]
    return file


def build(monkeypatch: pytest.MonkeyPatch, kind: type[Lark], grammar: str = GRAMMAR) -> Lark:
    monkeypatch.setattr(lark_cache, "Lark", kind)
    NoLoad.attempts.clear()
    parser = cached_lark("g", grammar, **OPTIONS)
    assert parser.parse("ab") is not None
    assert NoLoad.attempts == [], "a saved analysis was handed to lark"
    return parser


def test_a_first_use_saves_the_analysis_in_a_private_folder(cache: Path) -> None:
    parser = cached_lark("g", GRAMMAR, **OPTIONS)
    assert parser.parse("ab") is not None
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    file = saved(cache)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert [p.name for p in cache.iterdir()] == [file.name]  # no temporary file left


def test_a_saved_analysis_is_loaded_instead_of_analysing_the_grammar(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    build(monkeypatch, NoBuild)


def test_a_missing_cache_base_is_created_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "new" / "cache"))
    cached_lark("g", GRAMMAR, **OPTIONS)
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700
    build(monkeypatch, NoBuild)


def test_an_analysis_of_another_grammar_is_replaced_not_loaded(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", 'start: "x"\n', **OPTIONS)
    build(monkeypatch, NoLoad)
    build(monkeypatch, NoBuild)  # the rebuilt analysis was saved in its place


def test_a_truncated_file_is_not_unpickled(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    file = saved(cache)
    file.write_bytes(file.read_bytes()[:-10])
    build(monkeypatch, NoLoad)


def test_a_folder_others_can_write_is_not_used(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    os.chmod(cache, 0o777)
    build(monkeypatch, NoLoad)


def test_a_symbolic_link_in_place_of_the_folder_is_not_followed(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    cache.rename(tmp_path / "elsewhere")
    cache.symlink_to(tmp_path / "elsewhere")
    build(monkeypatch, NoLoad)


def test_a_symbolically_linked_parent_is_not_followed(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    (tmp_path / "link").symlink_to(cache.parent)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "link"))
    build(monkeypatch, NoLoad)


@pytest.mark.parametrize(("mode", "used"), [(0o777, False), (0o1777, True), (0o775, False)])
def test_a_parent_others_can_write_is_used_only_with_the_sticky_bit(
    cache: Path, monkeypatch: pytest.MonkeyPatch, mode: int, used: bool
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    os.chmod(cache.parent, mode)
    build(monkeypatch, NoBuild if used else NoLoad)


def test_a_symbolic_link_in_place_of_the_file_is_not_followed(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    file = saved(cache)
    file.rename(tmp_path / "planted")
    file.symlink_to(tmp_path / "planted")
    build(monkeypatch, NoLoad)
    assert not file.is_symlink()  # the rebuilt analysis replaced the link, not its target


def test_a_file_others_can_write_is_not_loaded(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    os.chmod(saved(cache), 0o666)
    build(monkeypatch, NoLoad)


def test_a_file_longer_than_the_bound_is_not_read(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    monkeypatch.setattr(lark_cache, "MAX_BYTES", saved(cache).stat().st_size - 1)
    build(monkeypatch, NoLoad)


def test_a_fifo_in_place_of_the_file_never_blocks(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    file = saved(cache)
    file.unlink()
    os.mkfifo(file, 0o600)
    done: list[Lark] = []
    worker = threading.Thread(target=lambda: done.append(build(monkeypatch, NoLoad)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert done, "cached_lark blocked on a FIFO"
    assert stat.S_ISREG(file.lstat().st_mode)


def test_a_link_to_an_endless_device_is_not_read(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cached_lark("g", GRAMMAR, **OPTIONS)
    file = saved(cache)
    file.unlink()
    file.symlink_to("/dev/zero")
    build(monkeypatch, NoLoad)


def test_no_cache_where_the_folder_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    build(monkeypatch, NoLoad)
    assert blocker.read_text(encoding="utf-8") == ""


def info(mode: int, uid: int, size: int = 100) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, 0, size, 0, 0, 0))


def test_trusted_file_requires_the_users_own_regular_file_no_one_else_can_write() -> None:
    assert trusted_file(info(stat.S_IFREG | 0o600, 1000), 1000)
    assert not trusted_file(info(stat.S_IFREG | 0o600, 1001), 1000)  # another user's
    assert not trusted_file(info(stat.S_IFREG | 0o620, 1000), 1000)  # group-writable
    assert not trusted_file(info(stat.S_IFIFO | 0o600, 1000), 1000)
    assert not trusted_file(info(stat.S_IFREG | 0o600, 1000, lark_cache.MAX_BYTES + 1), 1000)


def test_trusted_folder_accepts_roots_and_the_users_folders_others_cannot_write() -> None:
    assert trusted_folder(info(stat.S_IFDIR | 0o755, 0), 1000)
    assert trusted_folder(info(stat.S_IFDIR | 0o700, 1000), 1000)
    assert trusted_folder(info(stat.S_IFDIR | 0o1777, 0), 1000)  # /tmp
    assert not trusted_folder(info(stat.S_IFDIR | 0o755, 1001), 1000)  # another user's
    assert not trusted_folder(info(stat.S_IFDIR | 0o777, 0), 1000)
    assert not trusted_folder(info(stat.S_IFDIR | 0o770, 0), 1000)
