"""What rules revision 2 adds to the printed report, read back from the PDF as text: the count
difference per unit with its counted and derived amounts, a partial reversal's reversed amount,
the unknown outcome said before the list, the retained-cards hand-over list with its signature
lines, and each unit's derived amount beside the count."""

from __future__ import annotations

import dataclasses

import pytest

from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.formats import dumps, result_to_dict
from custodian_app.domain.generator import generate
from custodian_app.domain.money import format_grouped
from custodian_app.domain.reconcile import notes_into_units, reconcile
from custodian_app.report import build_report
from custodian_app.report.meta import mask_card
from custodian_app.support.catalogue import load_catalogue
from tests.report.conftest import pages_text

FAULTS = "PARTIAL_REVERSAL_IGNORED=1,UNKNOWN_OUTCOME=1,COUNT_DIFFERS=2,RETAINED_CARD=2,RETRACTED=1"


@pytest.fixture(scope="module")
def cleared():
    scenario = generate(41, 80, faults=FAULTS, keep_documents=True)
    result = reconcile(scenario.atm, scenario.host, scenario.counts, catalogue=load_catalogue())
    docs = scenario.documents
    digest = evidence_digest(docs.atm, docs.host, docs.counts, dumps(result_to_dict(result)))
    return scenario, result, digest


def _text(cleared, meta, language: str) -> str:
    scenario, result, digest = cleared
    meta = dataclasses.replace(meta, evidence_sha256=digest, language=language)
    pdf = build_report(result, scenario.atm, meta=meta, host=scenario.host, counts=scenario.counts)
    return "\n".join(pages_text(pdf))


@pytest.fixture
def texts(cleared, meta):
    return {lang: _text(cleared, meta, lang) for lang in ("both", "zh", "en")}


def test_the_cycle_has_every_rev2_entry(cleared):
    _, result, _ = cleared
    cats = [m.category for m in result.mismatches]
    assert cats.count("COUNT_DIFFERS") == 2
    assert "UNKNOWN_OUTCOME" in cats
    assert any(m.reversed_amount for m in result.mismatches)
    assert len(result.retained_cards) == 2


def test_count_differences_print_unit_counted_and_derived(cleared, texts):
    _, result, _ = cleared
    rows = [m for m in result.mismatches if m.category == "COUNT_DIFFERS"]
    for m in rows:
        counted, derived = format_grouped(m.counted), format_grouped(m.derived)
        assert f"{m.unit} 实点 {counted}" in texts["both"]
        assert f"推算 {derived}" in texts["both"]
        assert f"{m.unit} counted {counted}" in texts["en"]
        assert f"derived {derived}" in texts["en"]
    # the action follows the sign: a shortage is recounted and reported the same day
    variant = (
        load_catalogue()
        .category("COUNT_DIFFERS")
        .short_action("shortage" if rows[0].counted < rows[0].derived else "overage")
    )
    assert variant.zh in texts["zh"] and variant.en in texts["en"]


def test_a_partial_reversal_prints_its_reversed_amount(cleared, texts):
    _, result, _ = cleared
    m = next(m for m in result.mismatches if m.reversed_amount)
    amount = format_grouped(m.reversed_amount)
    assert f"部分冲正 {amount}" in texts["both"]
    assert f"Partly reversed {amount}" in texts["en"]
    # and the partial-reversal case's steps, not the plain amount mismatch's, in the guide
    info = load_catalogue().category("AMOUNT_MISMATCH")
    flat = texts["zh"].replace("\n", "")
    assert info.variants["partial_reversal"][1].zh[:24] in flat
    assert info.back_office.zh[:16] not in flat  # "debit what was under-debited" would lose money


def test_an_unknown_outcome_is_said_before_the_list(cleared, texts):
    scenario, result, _ = cleared
    m = next(m for m in result.mismatches if m.category == "UNKNOWN_OUTCOME")
    for lang, words in (
        ("zh", "不得凭流水冲正或退款"),
        ("en", "do not reverse or refund on the ledger alone"),
    ):
        text = texts[lang].replace("\n", " ")
        notice = text.index(words)
        assert m.tsn in text[notice - 80 : notice]
        # before the list's first row
        assert notice < text.index(
            load_catalogue().category_name(result.mismatches[0].category, "zh" if lang == "zh" else "en"),
            notice,
        )
    tx = next(t for t in scenario.atm.transactions if t.tsn == m.tsn)
    assert f"去向不明 {format_grouped(tx.unknown)}" in texts["both"]


def test_retained_cards_are_listed_for_hand_over_with_signatures(cleared, texts):
    _, result, _ = cleared
    cat = load_catalogue()
    for lang in ("both", "zh", "en"):
        text = texts[lang]
        for card in result.retained_cards:
            assert mask_card(card.card) in text
            if card.tsn:
                assert card.tsn in text
            if lang != "en":
                assert cat.retain_reason(card.reason, "zh") in text
            if lang != "zh":
                assert cat.retain_reason(card.reason, "en") in text
    assert "吞卡交接清单" in texts["zh"] and "Retained cards hand-over list" in texts["en"]
    for words in ("交出人 管机员（一）", "交出人 管机员（二）", "接收人"):
        assert words in texts["zh"]
    for words in ("Handed over by custodian 1", "Handed over by custodian 2", "Received by"):
        assert words in texts["en"]


def test_no_hand_over_list_without_retained_cards(meta):
    scenario = generate(42, 30, faults="RETRACTED=1", keep_documents=True)
    result = reconcile(scenario.atm, scenario.host, scenario.counts, catalogue=load_catalogue())
    assert not result.retained_cards
    text = "\n".join(
        pages_text(build_report(result, scenario.atm, meta=meta, host=scenario.host, counts=scenario.counts))
    )
    assert "吞卡交接清单" not in text


def test_each_unit_prints_its_derived_amount_and_its_difference(cleared, texts):
    scenario, _, _ = cleared
    into = notes_into_units(scenario.atm.notes)
    lines = texts["both"].splitlines()
    for u in scenario.atm.units:
        derived = u.derived_amount(into)
        counted = scenario.counts.units.get(u.id)
        row = next(line for line in lines if line.startswith(u.id + " "))
        assert format_grouped(derived) in row, (u.id, row)
        if counted is not None:
            assert format_grouped(counted) in row
            assert format_grouped(counted - derived, plus=True) in row
