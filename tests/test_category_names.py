"""One name per category: the wizard's mismatch list and the printed report say the same words,
in Chinese and in English, for every category the engine can give (issue 14)."""

from __future__ import annotations

import dataclasses

import pytest

from custodian_app.domain.formats import CATEGORIES, Mismatch
from custodian_app.report import ReportMeta, build_report
from custodian_app.report.labels import default_vocabulary
from custodian_app.support.catalogue import load_catalogue
from tests.report import clearing
from tests.report.conftest import pages_text


def _one_of_each() -> list[Mismatch]:
    return [
        Mismatch(
            category=c,
            tsn=f"{900 + i:06d}",
            type="withdrawal",
            atm_amount=10000,
            host_amount=None,
            reject_code=None,
            cash_effect=0,
        )
        for i, c in enumerate(CATEGORIES)
    ]


def _screen_names(qapp, language: str) -> dict[str, str]:
    """What the wizard's mismatch table shows in its category column."""
    from custodian_app.gui import i18n
    from custodian_app.gui.models import MismatchModel

    assert i18n.install(language)
    try:
        model = MismatchModel()
        rows = _one_of_each()
        model.set_rows(rows)
        return {m.category: model.index(i, 0).data() for i, m in enumerate(rows)}
    finally:
        i18n.install("en")


@pytest.mark.parametrize("language,index", [("zh_CN", 0), ("en", 1)])
def test_the_screen_and_the_report_name_every_category_alike(qapp, language, index):
    screen = _screen_names(qapp, language)
    printed = default_vocabulary()
    catalogue = load_catalogue()
    for category in CATEGORIES:
        name = printed.category(category)[index]
        assert name != category, f"{category} has no name in the catalogue"
        assert screen[category] == name, category
        assert name == catalogue.category_name(category, "zh" if index == 0 else "en")
    # and no two categories share a name
    assert len({printed.category(c)[index] for c in CATEGORIES}) == len(CATEGORIES)


@pytest.mark.parametrize("language,index", [("zh", 0), ("en", 1)])
def test_the_printed_report_carries_the_screen_names(qapp, language, index):
    """The words the wizard shows are found in the PDF read back as text."""
    screen = _screen_names(qapp, "zh_CN" if language == "zh" else "en")
    atm = clearing.atm_ledger(10)
    result = dataclasses.replace(clearing.unbalanced_result(atm, 1), mismatches=_one_of_each())
    meta = ReportMeta(
        "银行",
        "网点",
        "R-1",
        "2026-11-22T08:30:00+08:00",
        "王五",
        ("张三", "李四"),
        "赵六",
        clearing.DIGEST,
        language=language,
    )
    text = "\n".join(pages_text(build_report(result, atm, meta=meta, host=clearing.host_ledger(atm))))
    flat = text.replace("\n", " ")
    for category in CATEGORIES:
        assert screen[category] in text or screen[category] in flat, (category, screen[category])
