"""The shipped reject-code and category catalogue."""

from __future__ import annotations

import json

import pytest

from custodian_app.domain import catalogue as catalogue_mod
from custodian_app.domain.catalogue import Catalogue, CatalogueError
from custodian_app.domain.formats import CATEGORIES
from custodian_app.support.catalogue import load_catalogue
from custodian_app.support.resources import resource

REQUIRED_CODES = [
    "00",
    "05",
    "12",
    "13",
    "14",
    "30",
    "41",
    "43",
    "51",
    "54",
    "55",
    "57",
    "58",
    "61",
    "62",
    "65",
    "68",
    "75",
    "91",
    "94",
    "96",
]


def test_shipped_catalogue_is_complete():
    cat = load_catalogue()
    for code in REQUIRED_CODES:
        assert code in cat.reject_codes
        assert cat.reject_meaning(code, "zh") != cat.reject_meaning(code, "en")
    assert cat.reject_meaning("Z9") == cat.fallback_reject.zh
    for c in CATEGORIES:
        info = cat.category(c)
        assert info.name.zh and info.name.en and info.custodian.zh and info.back_office.en
    assert "冲正" in cat.action("DEBITED_NOT_DISPENSED")
    assert "补记账" in cat.action("DEPOSIT_NOT_CREDITED")
    assert "挂账" in cat.action("RETRACTED")
    assert "dual custody" in cat.action("LOADING_MISMATCH", lang="en")
    assert cat.action("DISPENSED_NOT_DEBITED", "68", "en").startswith(
        "Reject code 68 (response received too late"
    )


def test_loading_installs_the_default_for_reconcile():
    load_catalogue()
    assert catalogue_mod.default_catalogue() is load_catalogue()


def _doc():
    return json.loads(resource("catalogue.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "breakage, where",
    [
        (lambda d: d.pop("categories"), "$.categories"),
        (lambda d: d["categories"].pop("RETRACTED"), "RETRACTED"),
        (
            lambda d: d["categories"]["RETRACTED"]["custodian"].pop("en"),
            "$.categories.RETRACTED.custodian.en",
        ),
        (lambda d: d["reject_codes"].__setitem__("51", "insufficient"), "$.reject_codes.51"),
        (lambda d: d.__setitem__("format", "catalogue/9"), "$.format"),
    ],
)
def test_a_broken_catalogue_fails_loudly(breakage, where):
    doc = _doc()
    breakage(doc)
    with pytest.raises(CatalogueError, match=f"x.json: .*{where.replace('$', '[$]')}"):
        Catalogue.from_dict(doc, "x.json")


def test_rules_revision_2_actions_read_as_an_operations_manual():
    cat = load_catalogue()
    unknown_zh, unknown_en = (
        cat.action("UNKNOWN_OUTCOME", lang="zh"),
        cat.action("UNKNOWN_OUTCOME", lang="en"),
    )
    assert "监控" in unknown_zh and "挂" in unknown_zh and "不得凭流水冲正或退款" in unknown_zh
    assert "camera" in unknown_en and "suspense" in unknown_en and "do not reverse or refund" in unknown_en
    short_zh, short_en = (cat.action("COUNT_DIFFERS", lang=lang, variant="shortage") for lang in ("zh", "en"))
    assert "双人复点" in short_zh and "当日报告主管" in short_zh
    assert "dual custody" in short_en and "supervisor the same day" in short_en
    over_zh, over_en = (cat.action("COUNT_DIFFERS", lang=lang, variant="overage") for lang in ("zh", "en"))
    assert "长款" in over_zh and "suspense" in over_en
    partial_en = cat.action("AMOUNT_MISMATCH", lang="en", variant="partial_reversal")
    assert "backend applied the partial reversal" in partial_en and "refund" in partial_en
    assert cat.action("AMOUNT_MISMATCH", lang="en") != partial_en  # the plain case keeps its words
    assert cat.action("COUNT_DIFFERS", lang="en", variant="no such case") == cat.action(
        "COUNT_DIFFERS", lang="en"
    )


def test_a_variant_without_both_languages_is_refused():
    doc = json.loads(resource("catalogue.json").read_text(encoding="utf-8"))
    doc["categories"]["COUNT_DIFFERS"]["variants"]["shortage"]["custodian"] = {"zh": "复点"}
    with pytest.raises(CatalogueError, match=r"COUNT_DIFFERS\.variants\.shortage\.custodian\.en"):
        Catalogue.from_dict(doc)
