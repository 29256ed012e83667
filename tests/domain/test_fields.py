"""The one rule for card numbers and the safe rendering of values (``domain.fields``)."""

from __future__ import annotations

import pytest

from custodian_app.domain import fields


@pytest.mark.parametrize(
    "text",
    [
        "6222021234567890123",
        "6222021234567",
        "4111111111111111",
        "6222 0212 3456 7890",
        "6222-0212-3456-7890-123",
        "6222 0212 3456 7",
    ],
)
def test_full_card_numbers_in_a_row_or_in_groups_of_four(text):
    assert fields.is_full_card(text) and fields.has_full_card(f"card {text} kept")
    digits = sum(c.isdigit() for c in text)
    assert fields.withhold_cards(f"card {text}!") == f"card <{digits} digits withheld>!"


@pytest.mark.parametrize(
    "text",
    [
        "632409000117",  # a backend reference (ISO 8583 RRN): 12 digits, readable
        "NJ-0001-20261119",
        "2026-11-20T09:12:03+08:00",
        "622202******1234",
        "6222 0212 3456",
        "1000.00",
        "000101",
    ],
)
def test_what_is_not_a_full_card_number(text):
    assert not fields.is_full_card(text) and not fields.has_full_card(text)
    assert fields.withhold_cards(text) == text


def test_luhn_is_not_required():
    assert fields.is_full_card("6222021234561001")  # fails the Luhn check, still withheld


def test_masked_cards_and_masking():
    assert fields.is_masked_card("622202******1234") and fields.is_masked_card("622202**1234")
    for bad in ("622202*1234", "622202**********1234", "6222021234561001", None, 622202):
        assert not fields.is_masked_card(bad)
    assert fields.mask_card("6222 0212 3456 7890") == "622202******7890"
    assert fields.is_masked_card(fields.mask_card("6222021234567890123"))


def test_show_names_json_values_and_never_echoes_a_card():
    assert [fields.show(v) for v in (None, True, 1.5, {}, [], "a")] == [
        "null",
        "true",
        "the number 1.5",
        "an object",
        "an array",
        "'a'",
    ]
    shown = fields.show("x" * 50 + "6222021234567890123")
    assert "6222021234567890123" not in shown and "6222021" not in shown and len(shown) <= 60
