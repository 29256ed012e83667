"""What the report prints, section by section: the header, totals, cash position, cassettes,
the mismatch list and its handling guide, the appendices, each wrapped to its columns once
for both layout passes. The mismatch list's cells and the guide are in ``guide``, the
appendices in ``appendices``, the retained-cards list in ``handover``."""

from __future__ import annotations

from datetime import datetime

from custodian_app.domain.formats import (
    AtmLedger,
    ClearingResult,
    Counts,
    HostLedger,
)
from custodian_app.domain.money import format_grouped
from custodian_app.domain.reconcile import notes_into_units
from custodian_app.report import appendices, handover, labels
from custodian_app.report.guide import Guide
from custodian_app.report.layout import (
    BLACK,
    GREEN,
    RED,
    Column,
    Metrics,
    Table,
    TableStyle,
)
from custodian_app.report.meta import DASH, ReportMeta, mask_card
from custodian_app.report.page import BODY_W


class _Words:
    """Labels in the chosen language: Chinese first when both."""

    def __init__(self, language: str) -> None:
        self.language = language

    def inline(self, zh: str, en: str) -> str:
        if self.language == "zh" or zh == en:
            return zh
        if self.language == "en":
            return en
        return f"{zh} {en}"

    def lines(self, zh: str, en: str) -> tuple[str, ...]:
        if self.language == "zh" or zh == en:
            return (zh,)
        if self.language == "en":
            return (en,)
        return (zh, en)

    def pair(self, pair: tuple[str, str]) -> tuple[str, ...]:
        return self.lines(*pair)


def _money(minor: int | None, currency: str | None = None, *, plus: bool = False) -> str:
    return DASH if minor is None else format_grouped(minor, currency, plus=plus)


def _red_if_negative(minor: int | None):
    return RED if minor is not None and minor < 0 else BLACK


class Content(Guide):
    """Everything the report prints, prepared (wrapped to its columns) once for both passes."""

    def __init__(
        self,
        result: ClearingResult,
        atm: AtmLedger,
        host: HostLedger | None,
        counts: Counts | None,
        meta: ReportMeta,
        appendix: bool,
        metrics: Metrics,
        vocab: labels.Vocabulary,
        filename: str | None,
    ) -> None:
        self.result = result
        self.atm = atm
        self.host = host
        self.counts = counts
        self.meta = meta
        self.metrics = metrics
        self.vocab = vocab
        self.w = _Words(meta.language)
        self.cur = result.currency
        self.command = meta.command(filename)
        self.tz = _tz_of(atm.opened_at)
        self.offset = atm.opened_at[19:] if len(atm.opened_at) == 25 else None
        self.header_table = self._header()
        self.totals_table = self._totals()
        self.cash_table = self._cash_position()
        self.units_table = self._units()
        self._std_cache: dict[tuple, str | None] = {}
        self._txs: dict | None = None
        self._unlisted: dict[str, dict[tuple[str, str], None]] = {}
        self.cut: dict[str, list[tuple[int, str, str]]] = {}
        self.summary_table = self._category_summary() if result.mismatches else None
        self.mismatch_table = self._mismatches() if result.mismatches else None
        self.guide = self._guide() if result.mismatches else []
        self.retained_table = handover.retained_cards(self) if result.retained_cards else None
        self.appendix_tables = (appendices.transactions(self) if appendix else []) + appendices.journal_gaps(
            self
        )

    # -- helpers ------------------------------------------------------------------------------
    def _tx(self, tsn: str | None, kind: str | None):
        """The ATM's transaction of that TSN and type, or None."""
        if self._txs is None:
            self._txs = {(t.tsn, t.type): t for t in self.atm.transactions}
        return self._txs.get((tsn, kind))

    def _time(self, text: str | None) -> tuple[str, ...]:
        if not text:
            return (DASH,)
        if len(text) == 25 and text[19:] == self.offset:  # the cycle's own offset: as written
            return (text[:10], text[11:19])
        try:
            t = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return (text,)
        if self.tz is not None and t.tzinfo is not None:
            t = t.astimezone(self.tz)
        return (t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"))

    def _effect(self, minor: int) -> tuple[str, ...]:
        figure = format_grouped(minor, plus=True)
        if minor > 0:
            return (figure, self.w.inline("长款", "overage"))
        if minor < 0:
            return (figure, self.w.inline("短款", "shortage"))
        return (figure,)

    # -- the tables ---------------------------------------------------------------------------
    def _header(self) -> Table:
        w, meta, atm = self.w, self.meta, self.atm
        cols = [
            Column((), 100),
            Column((), 150),
            Column((), 100),
            Column((), 150),
            Column((), 100),
            Column((), BODY_W - 600),
        ]
        t = Table(cols, TableStyle(size=8, leading=10, pad_y=2.2, zebra=False))
        t.header_height = 0.0
        pairs = [
            (w.inline("银行", "Bank"), meta.bank),
            (w.inline("网点", "Branch"), meta.branch),
            (w.inline("报告编号", "Report no."), meta.report_no),
            (w.inline("终端", "Terminal"), atm.terminal_id),
            (w.inline("清机周期", "Cycle"), atm.cycle_id),
            (w.inline("币种", "Currency"), atm.currency),
            (w.inline("周期开始", "Cycle opened"), " ".join(self._time(atm.opened_at))),
            (
                w.inline("周期结束", "Cycle closed"),
                " ".join(self._time(atm.closed_at)) if atm.closed_at else w.inline("未结束", "not closed"),
            ),
            (w.inline("打印时间", "Printed at"), _show_time(meta.printed_at)),
            (w.inline("打印人", "Printed by"), meta.printed_by),
            (w.inline("管机员", "Custodians"), " / ".join(meta.custodians) if any(meta.custodians) else DASH),
            (w.inline("主管", "Supervisor"), meta.supervisor or DASH),
            (
                w.inline("清点人", "Counted by"),
                " / ".join(self.counts.counted_by)
                if self.counts is not None
                else w.inline("未清点", "not counted"),
            ),
            (
                w.inline("清机方式", "Cleared with"),
                w.inline("命令行（无向导）", "command line (headless)")
                if meta.headless
                else w.inline("清机向导", "the wizard"),
            ),
            (w.inline("会话", "Session"), DASH if meta.session_id is None else str(meta.session_id)),
        ]
        for i in range(0, len(pairs), 3):
            row = []
            for label, value in pairs[i : i + 3]:
                row += [label, value]
            t.add(self.metrics, row)
        return t

    def _totals(self) -> Table:
        w = self.w
        cols = [
            Column(w.lines("项目", "Item"), 200),
            Column(w.lines("ATM", "ATM"), 150, "r"),
            Column(w.lines("后台", "Backend"), 150, "r"),
            Column(w.lines("差额（ATM − 后台）", "Difference (ATM − backend)"), 150, "r"),
            Column(w.lines("结果", "Result"), BODY_W - 650, "c"),
        ]
        t = Table(cols, TableStyle(size=8, leading=10, zebra=False))
        for item in self.result.totals:
            name = w.inline(*labels.TOTALS_ITEM_NAMES.get(item.item, (item.item, item.item)))
            diff = item.atm - item.host
            if item.is_amount:
                values = [
                    name,
                    _money(item.atm, self.cur),
                    _money(item.host, self.cur),
                    _money(diff, self.cur, plus=True),
                ]
            else:
                values = [name, str(item.atm), str(item.host), f"{diff:+d}" if diff else "0"]
            values.append(w.inline("相符", "agree") if item.equal else w.inline("不符", "differ"))
            t.add(self.metrics, values, None if item.equal else {3: RED, 4: RED})
        return t

    def _cash_position(self) -> Table:
        w, cp, cur = self.w, self.result.cash_position, self.cur
        cols = [
            Column(w.lines("项目", "Item"), 250),
            Column(w.lines("金额", "Amount"), 140, "r"),
            Column(w.lines("长款 / 短款", "Overage / shortage"), 110, "c"),
            Column(w.lines("大写", "In words"), BODY_W - 500),
        ]
        t = Table(cols, TableStyle(size=8, leading=9.6, pad_y=2.0, zebra=False))

        def words(minor: int) -> tuple[str, ...]:
            return w.lines(labels.amount_in_chinese(minor, cur), labels.amount_in_english(minor, cur))

        t.add(
            self.metrics,
            [
                w.inline("ATM 账面应有现金", "Cash by the ATM's books"),
                _money(cp.atm_expected, cur),
                "",
                words(cp.atm_expected),
            ],
        )
        t.add(
            self.metrics,
            [
                w.inline("后台账面应有现金", "Cash by the backend's books"),
                _money(cp.host_expected, cur),
                "",
                words(cp.host_expected),
            ],
        )
        if cp.counted is None:
            t.add(
                self.metrics,
                [
                    w.inline("管机员实点现金", "Cash counted by the custodians"),
                    w.inline("未清点", "not counted"),
                    "",
                    "",
                ],
            )
        else:
            t.add(
                self.metrics,
                [
                    w.inline("管机员实点现金", "Cash counted by the custodians"),
                    _money(cp.counted, cur),
                    "",
                    words(cp.counted),
                ],
            )
        comparisons = [
            (w.inline("ATM 账 对 后台账", "ATM's books against the backend's"), cp.difference),
            (w.inline("实点 对 ATM 账", "Counted against the ATM's books"), cp.counted_vs_atm),
            (w.inline("实点 对 后台账", "Counted against the backend's books"), cp.counted_vs_host),
        ]
        for label, diff in comparisons:
            if diff is None:
                continue
            if diff > 0:
                verdict = w.inline("长款", "overage")
            elif diff < 0:
                verdict = w.inline("短款", "shortage")
            else:
                verdict = w.inline("相符", "agree")
            t.add(
                self.metrics,
                [
                    label,
                    _money(diff, cur, plus=True),
                    verdict,
                    words(diff) if diff else w.inline("无差额", "no difference"),
                ],
                {1: RED, 2: RED} if diff < 0 else ({1: GREEN, 2: GREEN} if diff == 0 else None),
            )
        return t

    def _units(self) -> Table:
        w = self.w
        widths = [40, 62, 62, 46, 46, 46, 46, 46, 46, 52, 84, 84, 0]
        widths[-1] = BODY_W - sum(widths)
        titles = [
            w.lines("钞箱", "Unit"),
            w.lines("类型", "Type"),
            w.lines("面额", "Denomination"),
            w.lines("初始", "Initial"),
            w.lines("出钞", "Dispensed"),
            w.lines("存入", "Deposited"),
            w.lines("回收", "Retracted"),
            w.lines("废钞", "Rejected"),
            w.lines("去向不明", "Unknown"),
            w.lines("推算张数", "Derived count"),
            w.lines("推算金额", "Derived amount"),
            w.lines("清点金额", "Counted amount"),
            w.lines("差额", "Counted − derived"),
        ]
        cols = [Column(titles[0], widths[0]), Column(titles[1], widths[1])]
        cols += [Column(titles[i], widths[i], "r") for i in range(2, 13)]
        t = Table(cols, TableStyle(size=7.5, leading=9))
        counted = self.counts.units if self.counts is not None else {}
        # a mixed bin's derived amount is the value of the notes the trail put into it (rev 2)
        into = None if self.atm.notes is None else notes_into_units(self.atm.notes)
        for u in self.atm.units:
            dispensed = u.out.get("presented", 0)
            rejected = u.out.get("rejected", 0) + u.in_.get("rejected", 0)
            other_out = u.out.get("unknown", 0)  # out.distributed overlaps presented: not shown
            derived = u.derived_amount(into)
            got = counted.get(u.id)
            diff = None if got is None or derived is None else got - derived
            t.add(
                self.metrics,
                [
                    u.id,
                    w.inline(*labels.UNIT_TYPE_NAMES.get(u.type, (u.type, u.type))),
                    DASH if u.value is None else format_grouped(u.value),
                    f"{u.initial:,}",
                    f"{dispensed:,}",
                    f"{u.in_.get('deposited', 0):,}",
                    f"{u.in_.get('retracted', 0):,}",
                    f"{rejected:,}",
                    f"{other_out:,}",
                    f"{u.count:,}",
                    _money(derived),
                    _money(got),
                    DASH if diff is None else format_grouped(diff, plus=True),
                ],
                {12: RED} if diff is not None and diff < 0 else None,
            )
        if counted:
            known = {u.id for u in self.atm.units}
            for uid, amount in counted.items():
                if uid not in known:  # counted a bin the ATM did not report: show it, do not drop it
                    t.add(
                        self.metrics, [uid, w.inline("未知", "unknown")] + [DASH] * 9 + [_money(amount), DASH]
                    )
            t.add(
                self.metrics,
                [
                    w.inline("合计", "Total"),
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    _money(sum(counted.values())),
                    "",
                ],
            )
        return t

    def _category_summary(self) -> Table:
        w = self.w
        cols = [
            Column(w.lines("类别", "Category"), 300),
            Column(w.lines("笔数", "Count"), 80, "r"),
            Column(w.lines("现金影响合计", "Cash effect, total"), 160, "r"),
        ]
        t = Table(cols, TableStyle(size=8, leading=10, zebra=False))
        counts: dict[str, list[int]] = {}
        for m in self.result.mismatches:
            entry = counts.setdefault(m.category, [0, 0])
            entry[0] += 1
            entry[1] += m.cash_effect
        total = 0
        for category, (n, effect) in counts.items():
            total += effect
            t.add(
                self.metrics,
                [
                    w.inline(*self.vocab.category(category)),
                    f"{n:,}",
                    format_grouped(effect, self.cur, plus=True),
                ],
                {2: _red_if_negative(effect)},
            )
        t.add(
            self.metrics,
            [
                w.inline("合计", "Total"),
                f"{len(self.result.mismatches):,}",
                format_grouped(total, self.cur, plus=True),
            ],
            {2: _red_if_negative(total)},
        )
        return t

    def _mismatches(self) -> Table:
        w, m_ = self.w, self.metrics
        cols = [
            Column(w.lines("序号", "No."), 24, "r"),
            Column(w.lines("类别", "Category"), 98),
            Column(w.lines("流水号", "TSN"), 46),
            Column(w.lines("时间", "Time"), 46),
            Column(w.lines("卡号", "Card"), 68),  # a masked card, 16 characters, on one line
            Column(w.lines("ATM 金额", "ATM amount"), 54, "r"),
            Column(w.lines("后台金额", "Backend amt."), 54, "r"),
            Column(w.lines("拒绝码 / 说明", "Reject code / detail"), 100),
            Column(w.lines("现金影响", "Cash effect"), 56, "r"),
            Column(w.lines("处理", "Action"), 144),
            Column(w.lines("备注", "Remark"), 0),
        ]
        cols[-1].width = BODY_W - sum(c.width for c in cols)
        t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=2.0))
        vocab = self.vocab
        self._action_width = cols[9].width - 2 * t.style.pad_x
        self._reason_width = cols[7].width - 2 * t.style.pad_x
        for i, m in enumerate(self.result.mismatches, 1):
            detail = self._detail(m)
            colors = {8: RED} if m.cash_effect < 0 else {}
            if m.category == "UNKNOWN_OUTCOME":  # never to be reversed on the ledger alone
                colors[9] = RED
            t.add(
                m_,
                [
                    str(i),
                    w.pair(vocab.category(m.category)),
                    m.tsn or DASH,
                    self._time(m.time),
                    mask_card(m.card),
                    _money(m.atm_amount),
                    _money(m.host_amount),
                    self._reason(m, detail, i),
                    self._effect(m.cash_effect),
                    self._action(m, detail),
                    "",
                ],
                colors or None,
            )
        return t


def _tz_of(text: str | None):
    try:
        return datetime.fromisoformat((text or "").replace("Z", "+00:00")).tzinfo
    except ValueError:
        return None


def _show_time(t: datetime) -> str:
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S ") + (f"{offset[:3]}:{offset[3:]}" if offset else "")
