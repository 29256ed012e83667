"""The report's rev-2 pieces: the retained-cards hand-over list (吞卡交接清单), and the cells
that say what a count difference, a partial reversal and an unknown outcome are about.

Kept out of ``sections`` (already near its size limit); ``Content`` calls these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custodian_app.domain.formats import Mismatch
from custodian_app.domain.money import format_grouped
from custodian_app.report.layout import Column, Table, TableStyle
from custodian_app.report.meta import DASH, mask_card
from custodian_app.report.page import BODY_W


def count_detail(w: Any, m: Mismatch) -> tuple[str, ...]:
    """A COUNT_DIFFERS row's unit, counted and derived amounts, on the two lines a cell has."""
    assert m.counted is not None and m.derived is not None
    unit = m.unit or DASH
    counted, derived = format_grouped(m.counted), format_grouped(m.derived)
    if w.language == "en":
        return (f"{unit} counted {counted}", f"derived {derived}")
    return (f"{unit} 实点 {counted}", f"推算 {derived}")


def cash_detail(m: Mismatch, tx_of: Callable[[str | None, str | None], Any]) -> tuple[str, str] | None:
    """(zh, en) of what rev 2 adds to a transaction's row: the part reversed, the notes whose
    fate is unknown; None when neither."""
    zh, en = [], []
    if m.reversed_amount:
        zh.append(f"部分冲正 {format_grouped(m.reversed_amount)}")
        en.append(f"partly reversed {format_grouped(m.reversed_amount)}")
    if m.category == "UNKNOWN_OUTCOME":
        tx = tx_of(m.tsn, m.type)
        if tx is not None and tx.unknown:
            zh.append(f"去向不明 {format_grouped(tx.unknown)}")
            en.append(f"fate unknown {format_grouped(tx.unknown)}")
    if not zh:
        return None
    en_text = "; ".join(en)
    return "；".join(zh), en_text[:1].upper() + en_text[1:]


def retained_cards(content: Any) -> Table:
    """One row per card the ATM captured: when, the masked card, its TSN and why, for the two
    custodians to hand over and the receiver to sign for (dual control)."""
    w, vocab = content.w, content.vocab
    cols = [
        Column(w.lines("序号", "No."), 30, "r"),
        Column(w.lines("时间", "Time"), 110),
        Column(w.lines("卡号", "Card"), 110),
        Column(w.lines("流水号", "TSN"), 70),
        Column(w.lines("吞卡原因", "Reason"), 180),
        Column(w.lines("接收人核对", "Checked by receiver"), 0),
    ]
    cols[-1].width = BODY_W - sum(c.width for c in cols)
    t = Table(cols, TableStyle(size=8, leading=10))
    for i, card in enumerate(content.result.retained_cards, 1):
        t.add(
            content.metrics,
            [
                str(i),
                " ".join(content._time(card.time)),
                mask_card(card.card),
                card.tsn or DASH,
                w.pair(vocab.retain_reason(card.reason)),
                "",
            ],
        )
    return t
