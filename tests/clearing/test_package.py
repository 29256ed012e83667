"""The clearing package as its callers see it: one namespace, and an error whose dotted name
the GUI's words are keyed by."""

from __future__ import annotations

import pytest

from custodian_app import clearing
from custodian_app.gui.error_words import WORDS, words_for


def test_the_error_keeps_the_name_the_gui_words_it_by():
    assert clearing.ClearingError.__module__ == "custodian_app.clearing"
    assert "custodian_app.clearing.ClearingError" in WORDS
    assert words_for(clearing.ClearingError("the clearing has no result yet"), zh=True)


@pytest.mark.parametrize("name", clearing.__all__)
def test_every_public_name_is_served_by_the_package(name):
    assert getattr(clearing, name) is not None
