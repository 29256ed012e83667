"""Amounts in words, and the text wrapping the tables rely on."""

from __future__ import annotations

import pytest

from custodian_app.report.fonts import register_fonts
from custodian_app.report.labels import Vocabulary, amount_in_chinese, amount_in_english
from custodian_app.report.layout import ELLIPSIS, Metrics


@pytest.mark.parametrize(
    "minor, words",
    [
        (0, "人民币零元整"),
        (5, "人民币伍分"),
        (50, "人民币伍角整"),
        (150050, "人民币壹仟伍佰元伍角整"),
        (100505, "人民币壹仟零伍元零伍分"),
        (1000000, "人民币壹万元整"),
        (100010000, "人民币壹佰万零壹佰元整"),
        (1000100000, "人民币壹仟万壹仟元整"),
        (10000000000, "人民币壹亿元整"),
        (10000010000, "人民币壹亿零壹佰元整"),
        (-45000, "人民币肆佰伍拾元整"),  # the sign is said by 长款/短款 beside it
    ],
)
def test_chinese_capital_amounts(minor, words):
    assert amount_in_chinese(minor) == words


def test_english_amounts():
    assert amount_in_english(150050) == "CNY one thousand five hundred and 50/100"
    assert amount_in_english(2365000000) == "CNY twenty-three million six hundred fifty thousand and 00/100"
    assert amount_in_english(7, "USD") == "USD zero and 07/100"


def test_money_in_words_refuses_floats():
    with pytest.raises(TypeError):
        amount_in_chinese(1.5)
    with pytest.raises(TypeError):
        amount_in_english(1.5)


def test_unknown_codes_still_have_words():
    # without the catalogue (the one source of category names) a category is named by its code
    vocab = Vocabulary({}, {})
    assert vocab.category("DISPENSED_NOT_DEBITED") == ("DISPENSED_NOT_DEBITED", "DISPENSED_NOT_DEBITED")
    assert vocab.reject("68") == ("响应超时", "Response received too late")
    assert vocab.reject("Q7") == ("未知代码", "Unknown code")
    assert vocab.category("SOMETHING_NEW") == ("SOMETHING_NEW", "SOMETHING_NEW")


@pytest.fixture(scope="module")
def metrics():
    font, _ = register_fonts()
    return Metrics(font)


def test_wrap_keeps_to_two_lines_and_marks_what_was_cut(metrics):
    text = "Suspense; recover from the customer after review by the branch manager and the auditor"
    lines = metrics.wrap(text, 7, 100, 2)
    assert len(lines) == 2
    assert lines[0] == "Suspense; recover from the"  # broken at a space
    assert lines[1].endswith(ELLIPSIS)
    assert all(metrics.width(line, 7) <= 100 for line in lines)


def test_wrap_breaks_chinese_between_characters(metrics):
    lines = metrics.wrap("冲正：退还客户扣款，核实后补记账并挂账处理", 7, 100, 2)
    assert "".join(lines) == "冲正：退还客户扣款，核实后补记账并挂账处理"
    assert len(lines) == 2 and all(metrics.width(line, 7) <= 100 for line in lines)


def test_short_text_is_one_line_and_empty_text_none(metrics):
    assert metrics.wrap("M000001", 7, 40) == ("M000001",)
    assert metrics.wrap("", 7, 40) == ()
    assert metrics.fit("622848******0148", 7, 30).endswith(ELLIPSIS)


def test_the_font_comes_from_the_product_not_the_system():
    from custodian_app.support.resources import resource

    regular, mono = register_fonts()
    shipped = resource("fonts", "wqy-microhei.ttc")
    assert regular.face.filename == mono.face.filename == str(shipped)
    assert (shipped.parent / "LICENSE-wqy-microhei.txt").read_text(encoding="utf-8").count(
        "Apache License"
    ) >= 1
