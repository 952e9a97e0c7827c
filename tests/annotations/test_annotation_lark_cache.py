"""Where lark's grammar analyses are cached: a folder only the user can write, or nowhere."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from annotations.lark_cache import FOLDER, cache_file


def test_cache_file_is_in_a_private_folder_of_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = cache_file("scenario", "1.3.1")
    assert isinstance(path, str)
    assert Path(path).parent == tmp_path / FOLDER
    assert Path(path).name.startswith("scenario-lark1.3.1-py")
    assert stat.S_IMODE((tmp_path / FOLDER).stat().st_mode) == 0o700


def test_a_folder_others_can_write_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / FOLDER).mkdir(mode=0o700)
    os.chmod(tmp_path / FOLDER, 0o777)
    assert cache_file("scenario", "1.3.1") is False


def test_a_symbolic_link_in_place_of_the_folder_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / FOLDER).symlink_to(elsewhere)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cache_file("scenario", "1.3.1") is False


def test_no_cache_where_the_folder_cannot_be_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert cache_file("scenario", "1.3.1") is False
