"""Where `tapgate credentials` gets role credentials: small providers, composed.

As in botocore's credential providers and aws-vault: a *source* fetches fresh
credentials — today a security-key ceremony through the API (tapgate.cli.ceremony);
a browser sign-in would be another source — and :class:`CachedProvider` puts the
credentials cache in front of it. On a miss it takes the cache folder's lock before
asking the source, and reads the cache again once it has the lock: when many tools
start at once on a cold cache, the first process asks for the touch and the others
wait, then answer from the cache it filled. One touch serves them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from tapgate.cache import CacheEntry
from tapgate.locks import ProcessLock

# A source returns a credential_process document (Version, AccessKeyId, SecretAccessKey,
# SessionToken, Expiration), checked; it may ask for a touch.
Source = Callable[[], Mapping[str, Any]]


class CachedProvider:
    """Credentials from ``entry`` while fresh, else from ``source`` under the lock.

    ``use_cache=False`` (``--no-cache``) always asks the source, still one process at a
    time, and still replaces the cached entry. ``on_wait(pid)`` is told once when
    another process holds the lock.
    """

    def __init__(
        self,
        source: Source,
        *,
        entry: CacheEntry,
        use_cache: bool = True,
        on_wait: Callable[[int | None], None] | None = None,
    ) -> None:
        self.source = source
        self.entry = entry
        self.use_cache = use_cache
        self.on_wait = on_wait

    def retrieve(self) -> str:
        """The credential_process JSON text."""
        if self.use_cache:
            hit = self.entry.read()
            if hit is not None:
                return hit
        self.entry.store.ensure_directory()
        with ProcessLock(self.entry.lock_path(), on_wait=self.on_wait):
            if self.use_cache:
                hit = self.entry.read()  # filled by the process we waited for
                if hit is not None:
                    return hit
            document = dict(self.source())
            self.entry.write(document)
        return json.dumps(document)
