"""Reports of clearings made by the scenario generator and reconciled by the engine."""

from __future__ import annotations

import dataclasses
import re

import pytest

from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.formats import dumps, result_to_dict
from custodian_app.domain.generator import generate
from custodian_app.domain.money import format_grouped
from custodian_app.domain.reconcile import reconcile
from custodian_app.report import build_report
from custodian_app.report.labels import default_vocabulary
from custodian_app.support.catalogue import load_catalogue
from tests.report.conftest import pages_text


def clearing(seed: int, n: int, faults: str):
    scenario = generate(seed, n, faults=faults, keep_documents=True)
    result = reconcile(scenario.atm, scenario.host, scenario.counts, catalogue=load_catalogue())
    docs = scenario.documents
    digest = evidence_digest(docs.atm, docs.host, docs.counts, dumps(result_to_dict(result)))
    return scenario, result, digest


def has_tsn(text: str, tsn: str) -> bool:
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(tsn)}(?![0-9A-Za-z])", text) is not None


def test_every_fault_of_a_generated_cycle_is_on_the_report(meta):
    scenario, result, digest = clearing(11, 400, "all")
    assert sum(scenario.expected.values()) == len(result.mismatches)
    meta = dataclasses.replace(meta, evidence_sha256=digest, headless=True)
    pages = pages_text(
        build_report(result, scenario.atm, meta=meta, host=scenario.host, counts=scenario.counts)
    )
    text = "\n".join(pages)
    vocab = default_vocabulary()
    for m in result.mismatches:
        if m.tsn:
            assert has_tsn(text, m.tsn), m.tsn
        assert vocab.category(m.category)[0] in text
    n = len(result.mismatches)
    assert f"账账不符：{n:,} 笔不符账目" in text
    cp = result.cash_position
    assert format_grouped(cp.difference, "CNY", plus=True) in text
    assert format_grouped(cp.atm_expected, "CNY") in pages[0]
    assert digest in pages[-1]
    # the catalogue's full instructions are in the handling guide
    guide = load_catalogue().category("RETRACTED").custodian.zh
    assert guide[:20] in text.replace("\n", "")


def test_a_clean_generated_cycle_reports_the_books_agree(meta):
    scenario, result, digest = clearing(12, 200, "none")
    assert result.balanced
    meta = dataclasses.replace(meta, evidence_sha256=digest)
    pages = pages_text(
        build_report(
            result, scenario.atm, meta=meta, host=scenario.host, counts=scenario.counts, appendix=True
        )
    )
    text = "\n".join(pages)
    assert "账账相符" in pages[0] and "账账不符" not in text
    for tx in scenario.atm.transactions:
        assert has_tsn(text, tx.tsn), tx.tsn
    for unit in scenario.atm.units:
        assert unit.id in pages[0] + pages[1]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_realistic_cycles_in_one_language(meta, seed):
    scenario, result, digest = clearing(seed, 150, "realistic")
    for language, folio in (("zh", "第 1 页 共"), ("en", "Page 1 of")):
        pdf = build_report(
            result,
            scenario.atm,
            meta=dataclasses.replace(meta, language=language, evidence_sha256=digest),
            host=scenario.host,
            counts=scenario.counts,
        )
        pages = pages_text(pdf)
        assert folio in pages[0]
        assert digest in pages[-1]
