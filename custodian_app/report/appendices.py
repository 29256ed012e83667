"""The report's appendices: every transaction of the ATM and of the backend, one line each
(when asked for), and the journal lines the reading skipped (whenever there are any).

Kept out of ``sections`` for its size; ``Content`` calls these with itself."""

from __future__ import annotations

import os
from typing import Any

from custodian_app.domain.money import format_grouped
from custodian_app.report import labels
from custodian_app.report.layout import RED, Column, Table, TableStyle
from custodian_app.report.meta import DASH, mask_card
from custodian_app.report.page import BODY_W


def transactions(c: Any) -> list[tuple[tuple[str, str], Table]]:
    w, cur, m_ = c.w, c.cur, c.metrics
    found: dict[tuple[str | None, str | None], str] = {}
    for m in c.result.mismatches:
        found.setdefault((m.tsn, m.type), m.category)
    cols = [
        Column(w.lines("流水号", "TSN"), 50),
        Column(w.lines("时间", "Time"), 78),
        Column(w.lines("类型", "Type"), 72),
        Column(w.lines("卡号", "Card"), 68),
        Column(w.lines(f"金额 {cur}", f"Amount {cur}"), 60, "r"),
        Column(w.lines("应答码", "Code"), 30, "c"),
        Column(w.lines("后台参考号", "Backend ref."), 66),
        Column(w.lines("冲正", "Reversed"), 38, "c"),
        Column(w.lines("取走", "Taken"), 54, "r"),
        Column(w.lines("回收", "Retracted"), 50, "r"),
        Column(w.lines("存入", "Deposited"), 54, "r"),
        Column(w.lines("退回", "Returned"), 50, "r"),
        Column(w.lines("对账结果", "Result"), 0),
    ]
    cols[-1].width = BODY_W - sum(c.width for c in cols)
    for col in cols:
        col.max_lines = 1  # one line a transaction: the appendix can run to thousands
    atm_t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=1.8))
    yes, no = w.inline("是", "yes"), ""
    matched = w.inline("相符", "matched")
    for tx in c.atm.transactions:
        category = found.get((tx.tsn, tx.type))
        result = w.inline(*c.vocab.category(category)) if category else matched
        atm_t.add(
            m_,
            [
                tx.tsn,
                " ".join(c._time(tx.time)),
                w.inline(*labels.TX_TYPE_NAMES.get(tx.type, (tx.type,) * 2)),
                mask_card(tx.card),
                format_grouped(tx.amount),
                tx.host_code,
                tx.host_ref or DASH,
                yes if tx.reversed else (format_grouped(tx.reversed_amount) if tx.reversed_amount else no),
                format_grouped(tx.taken),
                format_grouped(tx.retracted),
                format_grouped(tx.deposited),
                format_grouped(tx.returned),
                result,
            ],
            {12: RED} if category else None,
        )
    tables = [(("附录一 ATM 交易明细", "Appendix 1: the ATM's transactions"), atm_t)]
    if c.host is not None:
        cols = [
            Column(w.lines("后台参考号", "Backend ref."), 90),
            Column(w.lines("流水号", "TSN"), 60),
            Column(w.lines("时间", "Time"), 90),
            Column(w.lines("类型", "Type"), 70),
            Column(w.lines("卡号", "Card"), 80),
            Column(w.lines(f"金额 {cur}", f"Amount {cur}"), 80, "r"),
            Column(w.lines("状态", "Status"), 70, "c"),
            Column(w.lines("对账结果", "Result"), 0),
        ]
        cols[-1].width = BODY_W - sum(c.width for c in cols)
        for col in cols:
            col.max_lines = 1
        host_t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=1.8))
        by_ref: dict[str, str] = {}
        for m in c.result.mismatches:
            for ref in m.host_refs:
                by_ref.setdefault(ref, m.category)
        booked, reversed_ = w.inline("已记账", "booked"), w.inline("已冲正", "reversed")
        for tx in c.host.transactions:
            category = by_ref.get(tx.host_ref) or (found.get((tx.tsn, tx.type)) if tx.tsn else None)
            host_t.add(
                m_,
                [
                    tx.host_ref,
                    tx.tsn or DASH,
                    " ".join(c._time(tx.time)),
                    w.inline(*labels.TX_TYPE_NAMES.get(tx.type, (tx.type,) * 2)),
                    mask_card(tx.card),
                    format_grouped(tx.amount),
                    booked if tx.status == "booked" else reversed_,
                    w.inline(*c.vocab.category(category)) if category else matched,
                ],
                {7: RED} if category else None,
            )
        tables.append((("附录二 后台交易明细", "Appendix 2: the backend's transactions"), host_t))
    return tables


def journal_gaps(c: Any) -> list[tuple[tuple[str, str], Table]]:
    """The journal lines accepted as gaps (the ledger was read from journal files): which
    lines of which file the reading skipped, for the supervisor to weigh."""
    if not c.meta.journal_gaps:
        return []
    w = c.w
    cols = [Column(w.lines("日志文件", "Journal file"), 200), Column(w.lines("行号", "Line"), 60, "r")]
    cols.append(Column(w.lines("说明", "Note"), BODY_W - 260))
    t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=1.8))
    note = w.inline("未能识别，未读入", "not understood, not read")
    for file, line in c.meta.journal_gaps:
        t.add(c.metrics, [os.path.basename(file), str(line), note])
    return [(("电子日志中未能识别的行", "Journal lines not understood"), t)]
