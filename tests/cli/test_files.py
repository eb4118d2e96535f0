"""tapgate.files: the one atomic, private write that the cache, local mode and configure use."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tapgate import files
from tapgate.files import private_directory, write_atomically


@pytest.fixture
def loose_umask() -> Iterator[None]:
    previous = os.umask(0o000)  # a umask that would leave new files world-writable
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path, loose_umask: None) -> None:
    target = tmp_path / "secret.json"
    write_atomically(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert mode(target) == 0o600


def test_a_loose_existing_file_is_replaced_by_a_private_one(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_bytes(b"old")
    target.chmod(0o644)
    write_atomically(target, b"new")
    assert (target.read_bytes(), mode(target)) == (b"new", 0o600)


def test_another_mode_when_asked(tmp_path: Path) -> None:
    target = tmp_path / "config"
    write_atomically(target, b"[default]\n", mode=0o640)
    assert mode(target) == 0o640


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "secret.json"
    write_atomically(target, b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.json"]


def test_a_missing_folder_is_created_0700(tmp_path: Path, loose_umask: None) -> None:
    folder = tmp_path / "a" / ".tapgate"
    private_directory(folder)
    assert mode(folder) == 0o700


def test_an_existing_folder_is_kept_unless_it_is_tapgates_own(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir(mode=0o755)
    project.chmod(0o755)
    private_directory(project)
    assert mode(project) == 0o755  # someone's project folder named by --state-file
    private_directory(project, own=True)
    assert mode(project) == 0o700  # the cache folder: tightened


def test_a_symlink_as_the_own_folder_is_refused(tmp_path: Path) -> None:
    impostor = tmp_path / "cache"
    impostor.symlink_to(tmp_path)
    with pytest.raises(NotADirectoryError):
        private_directory(impostor, own=True)
