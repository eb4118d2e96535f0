"""The touch lock (tapgate.locks) and the cached provider in front of a source (tapgate.providers):
one process asks for the touch, the others wait and read the cache; a dead holder blocks no one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tapgate.cache import CacheEntry, CredentialCache
from tapgate.locks import LockTimeoutError, ProcessLock
from tapgate.providers import CachedProvider

ROOT = Path(__file__).resolve().parents[2]


class Ticks:
    """A clock that advances one second per reading."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def document(access_key: str) -> dict[str, Any]:
    expiration = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return {
        "Version": 1,
        "AccessKeyId": access_key,
        "SecretAccessKey": "secret",
        "SessionToken": "token",
        "Expiration": expiration,
    }


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    return tmp_path / "touch.lock"


def test_a_second_process_waits_for_the_holder_and_is_told_who_it_is(lock_path: Path) -> None:
    holder = ProcessLock(lock_path)
    holder.acquire()
    told: list[int | None] = []
    waiter = ProcessLock(lock_path, on_wait=told.append, sleep=lambda _: holder.release())
    waiter.acquire()
    waiter.release()
    assert told == [os.getpid()]


def test_waiting_ends_after_the_timeout_naming_the_holder(lock_path: Path) -> None:
    with ProcessLock(lock_path):
        waiter = ProcessLock(lock_path, timeout=3, clock=Ticks(), sleep=lambda _: None)
        with pytest.raises(LockTimeoutError, match=f"pid {os.getpid()}"):
            waiter.acquire()


def test_a_killed_holder_leaves_no_lock_behind(lock_path: Path) -> None:
    holding = (
        "import sys, time; from tapgate.locks import ProcessLock; "
        "ProcessLock(sys.argv[1]).acquire(); print('held', flush=True); time.sleep(120)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holding, str(lock_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "held"
        assert lock_path.read_text().strip() == str(process.pid)  # it says who holds it
    finally:
        process.send_signal(signal.SIGKILL)  # crashed: no chance to clean up
        process.wait(timeout=30)
    assert lock_path.read_text().strip() == str(process.pid)  # the file stays, stale
    told: list[int | None] = []
    with ProcessLock(lock_path, timeout=0, on_wait=told.append):
        pass  # taken at once: timeout=0 would have raised on any wait
    assert told == []


def test_a_lock_that_cannot_be_created_does_not_stop_the_command(tmp_path: Path) -> None:
    with ProcessLock(tmp_path / "missing-folder" / "touch.lock"):
        pass


# -- the cached provider -------------------------------------------------------------------


class Source:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> Mapping[str, Any]:
        self.calls += 1
        return document(f"ASIAFRESH{self.calls}")


@pytest.fixture
def entry(tmp_path: Path) -> CacheEntry:
    return CacheEntry(CredentialCache(tmp_path / "cache", clock=time.time), "k")


def test_a_hit_does_not_ask_the_source(entry: CacheEntry) -> None:
    entry.write(document("ASIACACHED"))
    source = Source()
    text = CachedProvider(source, entry=entry).retrieve()
    assert (json.loads(text)["AccessKeyId"], source.calls) == ("ASIACACHED", 0)


def test_a_miss_asks_the_source_once_and_fills_the_cache(entry: CacheEntry) -> None:
    source = Source()
    text = CachedProvider(source, entry=entry).retrieve()
    assert json.loads(text)["AccessKeyId"] == "ASIAFRESH1"
    assert source.calls == 1
    assert json.loads(entry.read() or "{}")["AccessKeyId"] == "ASIAFRESH1"


def test_a_waiter_answers_from_what_the_holder_cached(entry: CacheEntry) -> None:
    entry.store.ensure_directory()
    other = ProcessLock(entry.lock_path())
    other.acquire()

    def the_other_process_finishes(pid: int | None) -> None:
        entry.write(document("ASIAOTHER"))
        other.release()

    source = Source()
    provider = CachedProvider(source, entry=entry, on_wait=the_other_process_finishes)
    assert json.loads(provider.retrieve())["AccessKeyId"] == "ASIAOTHER"
    assert source.calls == 0


def test_no_cache_asks_the_source_even_on_a_hit(entry: CacheEntry) -> None:
    entry.write(document("ASIACACHED"))
    source = Source()
    text = CachedProvider(source, entry=entry, use_cache=False).retrieve()
    assert (json.loads(text)["AccessKeyId"], source.calls) == ("ASIAFRESH1", 1)
    assert json.loads(entry.read() or "{}")["AccessKeyId"] == "ASIAFRESH1"
