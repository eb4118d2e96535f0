"""`tapgate list`'s table shows each key's assurance level and its attested model."""

from __future__ import annotations

from tapgate.cli.keys import render_table


def test_the_table_shows_the_level_and_the_model_only_when_attested() -> None:
    table = render_table(
        [
            {"credentialId": "AAAA", "assurance": "certified", "authenticator": "YubiKey 5"},
            {"credentialId": "BBBB", "assurance": "synced", "authenticator": None},
        ]
    ).splitlines()
    header, certified, synced = (line.split() for line in table)
    assert header[-2:] == ["ASSURANCE", "MODEL"]
    assert certified[-3:] == ["certified", "YubiKey", "5"]
    assert synced[-1] == "synced"
