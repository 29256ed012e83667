"""Dialects are data: the shipped ones load, a bank's own is picked up from the settings
folder without a release, and a faulty one is refused saying which rule and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from custodian_app.journal import JournalError, available_dialects, load_dialect, read_journals
from custodian_app.journal.dialect import parse_dialect
from custodian_app.journal.writer import write_cycle
from tests.journal.helpers import DIALECTS, rev2_cycle, without_source

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "dialects"


def test_shipped_dialects():
    assert set(DIALECTS) <= set(available_dialects())
    for name in DIALECTS:
        d = load_dialect(name)
        assert d.name == name and d.rules_for("tx_start") and d.rules_for("counter_unit")
        # every event the rules need has a line in each shipped dialect
        for event in (
            "notes_presented",
            "notes_taken",
            "cash_retracted",
            "power_failure",
            "reversal",
            "card_retained",
            "deposit_accepted",
            "deposit_returned",
            "tx_end",
        ):
            assert d.rules_for(event), (name, event)


def test_a_banks_own_dialect_needs_no_release(_isolated_home, tmp_path):
    # IT copies the NCR-style dialect, renames it and changes one word of it
    text = (SHIPPED / "ncr.toml").read_text(encoding="utf-8")
    text = text.replace('name = "ncr"', 'name = "bank-x"').replace("NOTES TAKEN", "CASH TAKEN")
    folder = _isolated_home / "dialects"
    folder.mkdir()
    (folder / "bank-x.toml").write_text(text, encoding="utf-8")
    assert "bank-x" in available_dialects()
    d = load_dialect("bank-x")
    ledger = rev2_cycle()
    jpath, fsn_dir = write_cycle(ledger, d, tmp_path)
    assert "CASH TAKEN" in Path(jpath).read_text(encoding="utf-8")
    assert (
        without_source(read_journals([jpath], fsn_dir, "bank-x").ledger)["transactions"]
        == ledger["transactions"]
    )
    with pytest.raises(JournalError, match="cannot read the dialect"):
        load_dialect(str(tmp_path / "none.toml"))
    with pytest.raises(JournalError, match="no such journal dialect; known: .*bank-x"):
        load_dialect("diebold")


_GOOD = 'name = "t"\n[[rule]]\nevent = "tx_start"\npattern = \'START (?P<time>\\d\\d:\\d\\d:\\d\\d)\'\n'


@pytest.mark.parametrize(
    "text,words",
    [
        ("name = ", "not valid TOML"),
        ('name = "Bad Name"\n', "name must be"),
        ('name = "t"\n', "no [[rule]]"),
        (_GOOD + '[[rule]]\nevent = "jam"\npattern = "X"\n', "rule 2: event 'jam'"),
        (_GOOD + '[[rule]]\nevent = "ignore"\npattern = "(X"\n', "rule 2: pattern is not a valid"),
        (
            _GOOD + '[[rule]]\nevent = "tx_field"\npattern = "(?P<pan>\\\\d+)"\n',
            "rule 2: unknown group(s) pan",
        ),
        (_GOOD + '[[rule]]\nevent = "notes_presented"\npattern = "NP"\n', "needs the group(s) counts"),
        ('name = "t"\n[[rule]]\nevent = "ignore"\npattern = "X"\n', "no tx_start rule"),
        (_GOOD + '[types]\nWD = "withdraw"\n', "[types] 'WD' = 'withdraw'"),
        ('utc_offset = "8"\n' + _GOOD, "utc_offset"),
        (_GOOD + '[fsn]\ndispense = "("\n', "[fsn] dispense"),
    ],
)
def test_faulty_dialects_are_refused_with_the_reason(text, words):
    with pytest.raises(JournalError) as err:
        parse_dialect(text, "bank.toml")
    assert str(err.value).startswith("bank.toml: dialect: ") and words in str(err.value)
