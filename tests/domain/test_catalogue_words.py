"""The catalogue as the one source of the words both the screen and the report use: every
category's short posting, each case's, and the retained-card reasons; a bad edit of them is
refused at start-up with its JSON path."""

from __future__ import annotations

import json

import pytest

from custodian_app.domain.catalogue import Catalogue, CatalogueError
from custodian_app.domain.formats import CATEGORIES, RETAIN_REASONS
from custodian_app.support.catalogue import load_catalogue
from custodian_app.support.resources import resource


def _doc():
    return json.loads(resource("catalogue.json").read_text(encoding="utf-8"))


def test_every_category_and_case_has_a_short_posting_and_every_reason_words():
    cat = load_catalogue()
    for c in CATEGORIES:
        info = cat.category(c)
        assert info.short is not None and info.short.zh and info.short.en, c
        for variant in info.variants:
            assert info.short_action(variant) is not info.short, (c, variant)
    assert "不得冲正或退款" in cat.category("UNKNOWN_OUTCOME").short.zh
    assert "supervisor" in cat.category("COUNT_DIFFERS").short_action("shortage").en
    for reason in RETAIN_REASONS:
        assert cat.retain_reason(reason, "zh") != reason and cat.retain_reason(reason, "en") != reason
    assert cat.retain_reason("not-a-reason") == "not-a-reason"


@pytest.mark.parametrize(
    "breakage, where",
    [
        (lambda d: d["categories"]["RETRACTED"]["short"].pop("en"), r"\$\.categories\.RETRACTED\.short\.en"),
        (
            lambda d: d["categories"]["COUNT_DIFFERS"]["variants"]["overage"].__setitem__("short", "x"),
            r"\$\.categories\.COUNT_DIFFERS\.variants\.overage\.short",
        ),
        (
            lambda d: d["retain_reasons"].__setitem__("swallowed", {"zh": "吞", "en": "eaten"}),
            r"\$\.retain_reasons: unknown reasons: swallowed",
        ),
        (lambda d: d["retain_reasons"]["host"].__setitem__("zh", " "), r"\$\.retain_reasons\.host\.zh"),
    ],
)
def test_a_bad_word_is_refused_with_its_path(breakage, where):
    doc = _doc()
    breakage(doc)
    with pytest.raises(CatalogueError, match=where):
        Catalogue.from_dict(doc, "x.json")
