"""Where each statement starts in its source text, so a finding points at its line: JSON
(found from the text) and YAML (recorded by the loader), and the one way to parse a policy
found inside a file with its lines, turning a grammar error into a ReadError at that line."""

from __future__ import annotations

import re
from typing import Any

from tapgate.audit.errors import PolicyFormatError
from tapgate.audit.inventory import ReadError
from tapgate.audit.policy import Policy, PolicyKind, parse_policy

_EFFECT = re.compile(r'"Effect"\s*:')


class LineIndex:
    """Maps each statement object of a parsed JSON document to the line where it starts."""

    def __init__(self, text: str, document: Any) -> None:
        self._text = text
        self._positions = [m.start() for m in _EFFECT.finditer(text)]
        self._ordinal: dict[int, int] = {}
        self._walk(document)
        self._usable = len(self._ordinal) == len(self._positions)

    def _walk(self, node: Any) -> None:
        if isinstance(node, dict):
            if "Effect" in node:
                self._ordinal[id(node)] = len(self._ordinal)
            for value in node.values():
                self._walk(value)
        elif isinstance(node, list):
            for item in node:
                self._walk(item)

    def line_of(self, statement: Any) -> int | None:
        ordinal = self._ordinal.get(id(statement))
        if not self._usable or ordinal is None:
            return None
        return self._text.count("\n", 0, self._open_brace(self._positions[ordinal])) + 1

    def _open_brace(self, position: int) -> int:
        depth = 0
        in_string = False
        for i in range(position - 1, -1, -1):
            ch = self._text[i]
            if ch == '"' and self._text[i - 1] != "\\":
                in_string = not in_string
            elif in_string:
                continue
            elif ch == "}":
                depth += 1
            elif ch == "{":
                if depth == 0:
                    return i
                depth -= 1
        return position

    def lines_for(self, raw_document: Any) -> tuple[int | None, ...]:
        raw = raw_document.get("Statement") if isinstance(raw_document, dict) else None
        items = raw if isinstance(raw, list) else [raw]
        return tuple(self.line_of(item) for item in items)

    def line_of_key(self, key: str) -> int | None:
        """The line where `key` is first written as a mapping key (a template's logical id)."""
        found = re.search(self._key_pattern(key), self._text, re.MULTILINE)
        return None if found is None else self._text.count("\n", 0, found.start()) + 1

    def _key_pattern(self, key: str) -> str:
        return '"' + re.escape(key) + r'"\s*:'

    def line_of_key_value(self, key: str, value: str) -> int | None:
        """The line of `"key": "value"` (a Terraform resource's address in a plan)."""
        pattern = '"' + re.escape(key) + r'"\s*:\s*"' + re.escape(value) + '"'
        found = re.search(pattern, self._text)
        return None if found is None else self._text.count("\n", 0, found.start()) + 1


class YamlLineIndex(LineIndex):
    """Lines that the YAML loader recorded for each mapping it built (id -> 1-based line)."""

    def __init__(self, text: str, lines: dict[int, int]) -> None:
        self._text = text
        self._lines = lines

    def line_of(self, statement: Any) -> int | None:
        return self._lines.get(id(statement))

    def _key_pattern(self, key: str) -> str:
        return r"^\s*[\"']?" + re.escape(key) + r"[\"']?\s*:"


def parse_located(
    raw_document: Any,
    *,
    name: str,
    source: str,
    index: LineIndex,
    kind: PolicyKind | None = None,
    resolved: Any = None,
    anchor: str | None = None,
) -> tuple[Policy | None, ReadError | None]:
    lines = index.lines_for(raw_document) if isinstance(raw_document, dict) else ()
    try:
        document = raw_document if resolved is None else resolved
        return parse_policy(document, name=name, kind=kind, source=source, lines=lines), None
    except PolicyFormatError as exc:
        line = index.line_of_key(anchor) if anchor else (lines[0] if lines else None)
        return None, ReadError(source, f"{name}: {exc}", line)
