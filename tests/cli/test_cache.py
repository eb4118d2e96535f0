"""The credentials cache: permissions, atomic writes, corruption, the expiry window."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tapgate import cache as cache_module
from tapgate.cache import CredentialCache, cache_key, default_directory

NOW = 1_800_000_000.0
KEY = cache_key(
    api_url="https://api.example", role_arn="arn:aws:iam::123456789012:role/r", identity="key:A"
)


def document(*, expires_in: float) -> dict[str, object]:
    expiration = datetime.fromtimestamp(NOW + expires_in, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "Version": 1,
        "AccessKeyId": "ASIAEXAMPLE",
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": expiration,
    }


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "tapgate"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(directory: Path, clock: Clock) -> CredentialCache:
    return CredentialCache(directory, clock=clock)


def test_round_trip_prints_exactly_what_was_stored(store: CredentialCache) -> None:
    stored = document(expires_in=3600)
    assert store.put(KEY, stored)
    text = store.get_text(KEY)
    assert text is not None
    assert json.loads(text) == stored
    assert store.get(KEY) == stored


def test_directory_is_0700_and_file_0600(store: CredentialCache, directory: Path) -> None:
    old_umask = os.umask(0)
    try:
        store.put(KEY, document(expires_in=3600))
    finally:
        os.umask(old_umask)
    assert directory.stat().st_mode & 0o777 == 0o700
    assert Path(store.path_for(KEY)).stat().st_mode & 0o777 == 0o600


def test_a_loose_existing_directory_is_tightened(store: CredentialCache, directory: Path) -> None:
    directory.mkdir(parents=True, mode=0o755)
    directory.chmod(0o755)
    store.put(KEY, document(expires_in=3600))
    assert directory.stat().st_mode & 0o777 == 0o700


def test_a_file_readable_by_others_is_ignored(store: CredentialCache) -> None:
    store.put(KEY, document(expires_in=3600))
    Path(store.path_for(KEY)).chmod(0o644)
    assert store.get_text(KEY) is None


def test_a_symlinked_file_is_ignored(store: CredentialCache, tmp_path: Path) -> None:
    other = CredentialCache(tmp_path / "elsewhere", clock=store.clock)
    other.put(KEY, document(expires_in=3600))
    Path(store.directory).mkdir(parents=True)
    Path(store.path_for(KEY)).symlink_to(other.path_for(KEY))
    assert store.get_text(KEY) is None


def test_write_leaves_no_temp_file(store: CredentialCache, directory: Path) -> None:
    store.put(KEY, document(expires_in=3600))
    store.put(KEY, document(expires_in=7200))
    assert [p.name for p in directory.iterdir()] == [KEY + ".cache"]


def test_a_failed_write_keeps_the_old_entry(
    store: CredentialCache, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = document(expires_in=3600)
    store.put(KEY, old)

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(cache_module.os, "fsync", broken_fsync)
    assert store.put(KEY, document(expires_in=7200)) is False
    monkeypatch.undo()
    assert store.get(KEY) == old
    assert [p.name for p in directory.iterdir()] == [KEY + ".cache"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"garbage",
        b"\xff\xfe\x00binary",
        b"tapgate-cache 1 notanumber abc\n{}",
        b"tapgate-cache 2 9999999999 abc\n{}",
        b"other-magic 1 9999999999 abc\n{}",
    ],
)
def test_corrupted_file_is_a_miss_and_is_replaced(store: CredentialCache, content: bytes) -> None:
    store.put(KEY, document(expires_in=3600))
    Path(store.path_for(KEY)).write_bytes(content)
    assert store.get_text(KEY) is None
    fresh = document(expires_in=1800)
    assert store.put(KEY, fresh)
    assert store.get(KEY) == fresh


def test_a_changed_body_fails_the_digest(store: CredentialCache) -> None:
    store.put(KEY, document(expires_in=3600))
    path = Path(store.path_for(KEY))
    path.write_bytes(path.read_bytes().replace(b"ASIAEXAMPLE", b"ASIAEXAMPLF"))
    assert store.get_text(KEY) is None


def test_a_truncated_file_is_a_miss(store: CredentialCache) -> None:
    store.put(KEY, document(expires_in=3600))
    path = Path(store.path_for(KEY))
    path.write_bytes(path.read_bytes()[:-5])
    assert store.get_text(KEY) is None


def test_hit_while_more_than_the_window_remains(store: CredentialCache, clock: Clock) -> None:
    store.put(KEY, document(expires_in=901))
    assert store.get_text(KEY) is not None


def test_miss_at_exactly_the_window(store: CredentialCache, clock: Clock) -> None:
    store.put(KEY, document(expires_in=900))
    assert store.get_text(KEY) is None


def test_miss_once_time_passes(store: CredentialCache, clock: Clock) -> None:
    store.put(KEY, document(expires_in=3600))
    clock.now += 3600 - 900
    assert store.get_text(KEY) is None


def test_the_window_is_configurable(directory: Path, clock: Clock) -> None:
    CredentialCache(directory, clock=clock).put(KEY, document(expires_in=600))
    assert CredentialCache(directory, clock=clock).get_text(KEY) is None
    assert CredentialCache(directory, clock=clock, min_remaining_seconds=300).get_text(KEY)


def test_documents_without_the_fields_are_not_stored(store: CredentialCache) -> None:
    incomplete = document(expires_in=3600)
    del incomplete["SessionToken"]
    assert store.put(KEY, incomplete) is False
    assert store.get_text(KEY) is None


def test_keys_differ_per_api_role_and_identity() -> None:
    base = {"api_url": "https://a", "role_arn": "arn:aws:iam::1:role/r", "identity": "key:A"}
    keys = {
        cache_key(**base),
        cache_key(**{**base, "api_url": "https://b"}),
        cache_key(**{**base, "role_arn": "arn:aws:iam::1:role/s"}),
        cache_key(**{**base, "identity": "key:B"}),
    }
    assert len(keys) == 4
    assert cache_key(**{**base, "api_url": "https://a/"}) == cache_key(**base)


def test_clear_removes_entries_and_temp_files(store: CredentialCache, directory: Path) -> None:
    store.put(KEY, document(expires_in=3600))
    (directory / ".tmp-leftover").write_text("x")
    (directory / "unrelated.txt").write_text("x")
    assert store.clear() == 2
    assert [p.name for p in directory.iterdir()] == ["unrelated.txt"]


def test_default_directory_respects_xdg(tmp_path: Path) -> None:
    assert default_directory({"XDG_CACHE_HOME": str(tmp_path)}) == str(tmp_path / "tapgate")
    relative = default_directory({"XDG_CACHE_HOME": "relative/path"})
    assert relative == os.path.join(os.path.expanduser("~"), ".cache", "tapgate")
