"""A password typed into the user-name field is not echoed back (issue 18)."""

from __future__ import annotations

import pytest

from custodian_app.store import UnknownUser
from tests.store.conftest import PASSWORD

TYPED = "Secr3tPassw0rd!"


def test_an_unknown_name_is_not_repeated_in_the_error(store, crew):
    with pytest.raises(UnknownUser) as info:
        store.authenticate(TYPED, PASSWORD)
    shown = str(info.value) + repr(info.value) + "".join(map(str, info.value.args))
    assert "check the spelling" in shown and TYPED not in shown


def test_the_command_line_does_not_echo_it_either(cli, db_url, store, crew):
    done = cli(
        db_url,
        "users",
        "set-password",
        "carol",
        "--by",
        TYPED,
        "--password-stdin",
        stdin=f"{PASSWORD}\nanother good password\n",
    )
    assert done.returncode == 2 and "no user by the name typed" in done.stderr
    assert TYPED not in done.stdout + done.stderr
    assert TYPED not in repr(store.audit_entries())
