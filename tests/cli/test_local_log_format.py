"""`tapgate local --log-format`: human on a terminal, JSON otherwise, unless given."""

from __future__ import annotations

import pytest

from tapgate.local import logs


class Stream:
    def __init__(self, terminal: bool) -> None:
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize(
    ("given", "terminal", "chosen"),
    [
        (None, True, "human"),
        (None, False, "json"),
        ("json", True, "json"),
        ("human", False, "human"),
    ],
)
def test_the_log_format_follows_the_terminal_unless_given(
    given: str | None, terminal: bool, chosen: str
) -> None:
    assert logs.choose(given, Stream(terminal)) == chosen  # type: ignore[arg-type]
