"""The clearing report (清机对账报告): the PDF the custodians and the supervisor sign.

The whole report is A4 landscape. The mismatch list is the heart of it and has eleven columns,
two of them bilingual text (category, action) and one left blank for the custodians' remark;
in portrait they would need three or four lines a row or a font too small to read. One
orientation for every page keeps the binding edge (a wider left margin) and the printer
settings the same throughout.

The document is laid out twice with the same code: a counting pass without a canvas that only
advances the cursor (cheap: every cell is wrapped once, before either pass) to learn the number
of pages, then the drawing pass that can print "page x of y" on every page.
"""

from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from custodian_app import __version__
from custodian_app.domain.formats import (
    AtmLedger, ClearingResult, Counts, FormatError, HostLedger, Mismatch, check_same_clearing,
)
from custodian_app.domain.money import format_grouped
from custodian_app.errors import scrub
from custodian_app.report import labels
from custodian_app.report.errors import ReportError, ReportInputError
from custodian_app.report.layout import (
    BLACK, GREEN, GREY, RED, Column, Metrics, Pen, Rules, Table, TableStyle, draw_table,
)

LANGUAGES = ("both", "zh", "en")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
_MASKED = re.compile(r"[0-9]{6}\*{2,9}[0-9]{4}\Z")
_DIGITS = re.compile(r"[0-9]{12,19}\Z")

DASH = "—"
NOT_SET = "（未设置 not set）"
GUIDE_DETAILS = 30  # rows per category whose cut detail the handling guide prints in full
APPENDIX_LIMIT = 50_000  # transactions (both ledgers) an appendix may list: about 1,100 pages


@dataclass(frozen=True)
class ReportMeta:
    """What the report says about itself: who, where, when, and the evidence it stands for.

    ``printed_at`` is an aware datetime or an RFC 3339 string. ``custodians`` are the two
    custodians' names (dual custody), or empty when they are not known (a file reconciled from
    the command line): their name lines are then left blank to be written by hand.
    ``evidence_sha256`` is
    ``custodian_app.domain.evidence.evidence_digest(...)`` of the clearing's documents; without
    it the report says it cannot be verified. ``headless``: the clearing was done from the
    command line, without the wizard; the report says so. ``language``: "both" (Chinese first,
    then English), "zh" or "en". ``verify_command``: printed on the last page; by default
    ``custodian-app session verify <session_id> --pdf <file>``.
    """

    bank: str
    branch: str
    report_no: str
    printed_at: datetime | str
    printed_by: str
    custodians: tuple[str, str] | list[str] | None
    supervisor: str | None = None
    evidence_sha256: str | None = None
    headless: bool = False
    language: str = "both"
    verify_command: str | None = None
    session_id: str | int | None = None
    draft: bool = False  # not signed off yet: every page is marked 草稿 DRAFT

    def __post_init__(self) -> None:
        if not isinstance(self.report_no, str) or not self.report_no.strip():
            raise ReportInputError("report: the report number is missing")
        # Bank and branch come from the settings, which a fresh installation may not have
        # filled in yet: the report says so rather than refuse to print.
        for name in ("bank", "branch", "printed_by"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ReportInputError(f"report: {name} must be text")
            if not (value or "").strip():
                object.__setattr__(self, name, NOT_SET if name != "printed_by" else DASH)
        if self.language not in LANGUAGES:
            raise ReportInputError(f"report: language must be one of {', '.join(LANGUAGES)}, not {self.language!r}")
        custodians = tuple(self.custodians or ())
        if custodians and (len(custodians) != 2 or
                           not all(isinstance(c, str) and c.strip() for c in custodians)):
            raise ReportInputError("report: name the two custodians (dual custody), or none to "
                                   f"leave their names to be written by hand; got {len(custodians)} name(s)")
        object.__setattr__(self, "custodians", custodians or ("", ""))
        if self.evidence_sha256 is not None:
            digest = self.evidence_sha256.lower() if isinstance(self.evidence_sha256, str) else None
            if digest is None or not _SHA256.match(digest):
                raise ReportInputError("report: evidence_sha256 must be 64 hexadecimal digits "
                                       "(custodian_app.domain.evidence.evidence_digest)")
            object.__setattr__(self, "evidence_sha256", digest)
        object.__setattr__(self, "printed_at", _aware(self.printed_at))

    def command(self, filename: str | None = None) -> str:
        if self.verify_command:
            return self.verify_command
        return (f"custodian-app session verify {self.session_id or '<session>'} "
                f"--pdf {filename or '<report.pdf>'}")


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ReportInputError(f"report: printed_at {value!r} is not an RFC 3339 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ReportInputError("report: printed_at must be a time with its UTC offset")
    return value


def mask_card(card: str | None) -> str:
    """The card as printed: masked. A full number that slipped through is masked here too."""
    if not card:
        return DASH
    if _MASKED.match(card):
        return card
    if _DIGITS.match(card):
        return card[:6] + "*" * (len(card) - 10) + card[-4:]
    return scrub(card)


# ---------------------------------------------------------------------------------------------

PAGE_W, PAGE_H = 841.8898, 595.2756  # A4 landscape, points
LEFT = 56.7  # 20 mm: room to staple or bind on the left
RIGHT = 34.0  # 12 mm
TOP = 34.0
BOTTOM = 34.0
BODY_W = PAGE_W - LEFT - RIGHT
BODY_TOP = PAGE_H - TOP - 20
BODY_BOTTOM = BOTTOM + 16


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


class _Content:
    """Everything the report prints, prepared (wrapped to its columns) once for both passes."""

    def __init__(self, result: ClearingResult, atm: AtmLedger, host: HostLedger | None,
                 counts: Counts | None, meta: ReportMeta, appendix: bool, metrics: Metrics,
                 vocab: labels.Vocabulary, filename: str | None) -> None:
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
        self._unlisted: dict[str, dict[tuple[str, str], None]] = {}
        self._cut: dict[str, list[tuple[int, str, str]]] = {}
        self.summary_table = self._category_summary() if result.mismatches else None
        self.mismatch_table = self._mismatches() if result.mismatches else None
        self.guide = self._guide() if result.mismatches else []
        self.appendix_tables = self._appendix() if appendix else []

    # -- helpers ------------------------------------------------------------------------------
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
        cols = [Column((), 100), Column((), 150), Column((), 100), Column((), 150),
                Column((), 100), Column((), BODY_W - 600)]
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
            (w.inline("周期结束", "Cycle closed"), " ".join(self._time(atm.closed_at)) if atm.closed_at
             else w.inline("未结束", "not closed")),
            (w.inline("打印时间", "Printed at"), _show_time(meta.printed_at)),
            (w.inline("打印人", "Printed by"), meta.printed_by),
            (w.inline("管机员", "Custodians"), " / ".join(meta.custodians) if any(meta.custodians) else DASH),
            (w.inline("主管", "Supervisor"), meta.supervisor or DASH),
            (w.inline("清点人", "Counted by"), " / ".join(self.counts.counted_by) if self.counts is not None
             else w.inline("未清点", "not counted")),
            (w.inline("清机方式", "Cleared with"), w.inline("命令行（无向导）", "command line (headless)")
             if meta.headless else w.inline("清机向导", "the wizard")),
            (w.inline("会话", "Session"), DASH if meta.session_id is None else str(meta.session_id)),
        ]
        for i in range(0, len(pairs), 3):
            row = []
            for label, value in pairs[i:i + 3]:
                row += [label, value]
            t.add(self.metrics, row)
        return t

    def _totals(self) -> Table:
        w = self.w
        cols = [Column(w.lines("项目", "Item"), 200), Column(w.lines("ATM", "ATM"), 150, "r"),
                Column(w.lines("后台", "Backend"), 150, "r"),
                Column(w.lines("差额（ATM − 后台）", "Difference (ATM − backend)"), 150, "r"),
                Column(w.lines("结果", "Result"), BODY_W - 650, "c")]
        t = Table(cols, TableStyle(size=8, leading=10, zebra=False))
        for item in self.result.totals:
            name = w.inline(*labels.TOTALS_ITEM_NAMES.get(item.item, (item.item, item.item)))
            diff = item.atm - item.host
            if item.is_amount:
                values = [name, _money(item.atm, self.cur), _money(item.host, self.cur),
                          _money(diff, self.cur, plus=True)]
            else:
                values = [name, str(item.atm), str(item.host), f"{diff:+d}" if diff else "0"]
            values.append(w.inline("相符", "agree") if item.equal else w.inline("不符", "differ"))
            t.add(self.metrics, values, None if item.equal else {3: RED, 4: RED})
        return t

    def _cash_position(self) -> Table:
        w, cp, cur = self.w, self.result.cash_position, self.cur
        cols = [Column(w.lines("项目", "Item"), 250), Column(w.lines("金额", "Amount"), 140, "r"),
                Column(w.lines("长款 / 短款", "Overage / shortage"), 110, "c"),
                Column(w.lines("大写", "In words"), BODY_W - 500)]
        t = Table(cols, TableStyle(size=8, leading=9.6, pad_y=2.0, zebra=False))

        def words(minor: int) -> tuple[str, ...]:
            return w.lines(labels.amount_in_chinese(minor, cur), labels.amount_in_english(minor, cur))

        t.add(self.metrics, [w.inline("ATM 账面应有现金", "Cash by the ATM's books"),
                             _money(cp.atm_expected, cur), "", words(cp.atm_expected)])
        t.add(self.metrics, [w.inline("后台账面应有现金", "Cash by the backend's books"),
                             _money(cp.host_expected, cur), "", words(cp.host_expected)])
        if cp.counted is None:
            t.add(self.metrics, [w.inline("管机员实点现金", "Cash counted by the custodians"),
                                 w.inline("未清点", "not counted"), "", ""])
        else:
            t.add(self.metrics, [w.inline("管机员实点现金", "Cash counted by the custodians"),
                                 _money(cp.counted, cur), "", words(cp.counted)])
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
            t.add(self.metrics, [label, _money(diff, cur, plus=True), verdict,
                                 words(diff) if diff else w.inline("无差额", "no difference")],
                  {1: RED, 2: RED} if diff < 0 else ({1: GREEN, 2: GREEN} if diff == 0 else None))
        return t

    def _units(self) -> Table:
        w, cur = self.w, self.cur
        widths = [40, 62, 62, 46, 46, 46, 46, 46, 46, 52, 84, 84, 0]
        widths[-1] = BODY_W - sum(widths)
        titles = [w.lines("钞箱", "Unit"), w.lines("类型", "Type"), w.lines("面额", "Denomination"),
                  w.lines("初始", "Initial"), w.lines("出钞", "Dispensed"), w.lines("存入", "Deposited"),
                  w.lines("回收", "Retracted"), w.lines("废钞", "Rejected"), w.lines("其他出", "Other out"),
                  w.lines("推算张数", "Derived count"), w.lines("推算金额", "Derived amount"),
                  w.lines("清点金额", "Counted amount"), w.lines("差额", "Counted − derived")]
        cols = [Column(titles[0], widths[0]), Column(titles[1], widths[1])]
        cols += [Column(titles[i], widths[i], "r") for i in range(2, 13)]
        t = Table(cols, TableStyle(size=7.5, leading=9))
        counted = self.counts.units if self.counts is not None else {}
        for u in self.atm.units:
            dispensed = u.out.get("presented", 0)
            rejected = u.out.get("rejected", 0) + u.in_.get("rejected", 0)
            other_out = sum(u.out.values()) - dispensed - u.out.get("rejected", 0)
            derived = None if u.value is None else u.count * u.value
            got = counted.get(u.id)
            diff = None if got is None or derived is None else got - derived
            t.add(self.metrics, [
                u.id, w.inline(*labels.UNIT_TYPE_NAMES.get(u.type, (u.type, u.type))),
                DASH if u.value is None else format_grouped(u.value),
                f"{u.initial:,}", f"{dispensed:,}", f"{u.in_.get('deposited', 0):,}",
                f"{u.in_.get('retracted', 0):,}", f"{rejected:,}", f"{other_out:,}", f"{u.count:,}",
                _money(derived), _money(got), DASH if diff is None else format_grouped(diff, plus=True),
            ], {12: RED} if diff is not None and diff < 0 else None)
        if counted:
            known = {u.id for u in self.atm.units}
            for uid, amount in counted.items():
                if uid not in known:  # counted a bin the ATM did not report: show it, do not drop it
                    t.add(self.metrics, [uid, w.inline("未知", "unknown")] + [DASH] * 9 + [_money(amount), DASH])
            t.add(self.metrics, [w.inline("合计", "Total"), "", "", "", "", "", "", "", "", "", "",
                                 _money(sum(counted.values())), ""])
        return t

    def _category_summary(self) -> Table:
        w = self.w
        cols = [Column(w.lines("类别", "Category"), 300), Column(w.lines("笔数", "Count"), 80, "r"),
                Column(w.lines("现金影响合计", "Cash effect, total"), 160, "r")]
        t = Table(cols, TableStyle(size=8, leading=10, zebra=False))
        counts: dict[str, list[int]] = {}
        for m in self.result.mismatches:
            entry = counts.setdefault(m.category, [0, 0])
            entry[0] += 1
            entry[1] += m.cash_effect
        total = 0
        for category, (n, effect) in counts.items():
            total += effect
            t.add(self.metrics, [w.inline(*self.vocab.category(category)), f"{n:,}",
                                 format_grouped(effect, self.cur, plus=True)], {2: _red_if_negative(effect)})
        t.add(self.metrics, [w.inline("合计", "Total"), f"{len(self.result.mismatches):,}",
                             format_grouped(total, self.cur, plus=True)], {2: _red_if_negative(total)})
        return t

    def _mismatches(self) -> Table:
        w, m_, cur = self.w, self.metrics, self.cur
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
            t.add(m_, [
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
            ], {8: RED} if m.cash_effect < 0 else None)
        return t

    def _standard(self, category: str, reject_code: str | None, lang: str) -> str | None:
        key = (category, reject_code, lang)
        try:
            return self._std_cache[key]
        except KeyError:
            text = self._std_cache[key] = self.vocab.standard_action(category, reject_code, lang)
            return text

    def _detail(self, m: Mismatch) -> tuple[str, str] | None:
        """What the row's action says beyond its category's catalogue text, as (zh, en): the
        engine puts row details (which totals item, which note amounts) in front of it.
        ("", "") when the action is the catalogue's; None when it is not the catalogue's
        text at all (or there is no catalogue to tell)."""
        out = []
        for text, lang in ((m.action, "zh"), (m.action_en, "en")):
            if not text:
                out.append("")
                continue
            base = self._standard(m.category, None, lang)
            if base is None:
                return None
            if text == base or text == self._standard(m.category, m.reject_code, lang):
                out.append("")
            elif text.endswith(base):
                out.append(text[:-len(base)].strip())
            else:
                return None
        return out[0], out[1]

    def _reason(self, m: Mismatch, detail: tuple[str, str] | None, no: int) -> tuple[str, ...] | str:
        """The reject code and its meaning; else the row's own detail (which totals item,
        which note amounts); else the backend references. Text cut to fit the cell is
        printed in full in the handling guide, under the row's number."""
        w = self.w
        if m.reject_code:
            zh, en = self.vocab.reject(m.reject_code)
            zh, en = f"{m.reject_code} {zh}", f"{m.reject_code} {en}"
        elif detail and any(detail):
            zh, en = detail[0] or detail[1], detail[1] or detail[0]
        elif m.category == "TOTALS_INCONSISTENT" and m.item:
            side = labels.SIDE_NAMES.get(m.side or "", (m.side or "", m.side or ""))
            item = labels.TOTALS_ITEM_NAMES.get(m.item, (m.item, m.item))
            zh, en = f"{side[0]}合计：{item[0]}", f"{side[1]}: {item[1]}"
        elif m.host_refs:
            refs = ", ".join(m.host_refs)
            zh, en = f"后台参考号 {refs}", f"Backend ref. {refs}"
        else:
            return DASH
        inner = self._reason_width
        if w.language == "both":
            cut = self.metrics.width(zh, 7) > inner or self.metrics.width(en, 7) > inner
            value: tuple[str, ...] | str = (zh, en)
        else:
            value = w.inline(zh, en)
            cut = self.metrics.wrap(value, 7, inner, 2)[-1].endswith("…")
        if cut and not m.reject_code:
            self._cut.setdefault(m.category, []).append((no, zh, en))
        return value

    def _action(self, m: Mismatch, detail: tuple[str, str] | None) -> tuple[str, ...] | str:
        """The posting to make, in the trade's words. The catalogue's full instructions are in
        the handling guide; a row whose action is the catalogue's (or empty) shows the short
        form; any other text is printed when it fits, else listed in the guide."""
        w = self.w
        short = self.vocab.action(m.category)
        zh, en = m.action, m.action_en
        if detail is None and (zh or en):
            zh, en = zh or en, en or zh
            inner = self._action_width
            if w.language == "both":
                fits = self.metrics.width(zh, 7) <= inner and self.metrics.width(en, 7) <= inner
            else:
                fits = not self.metrics.wrap(w.inline(zh, en), 7, inner, 2)[-1].endswith("…")
            if fits or not any(short):
                return (zh, en) if w.language == "both" else w.inline(zh, en)
            self._unlisted.setdefault(m.category, {}).setdefault((zh, en), None)
        zh, en = short
        return (zh, en) if w.language == "both" else w.inline(zh, en)

    def _guide(self) -> list[tuple[str, int, list[tuple[tuple[str, str], tuple[str, str]]]]]:
        """(category, how many, steps) for each category in the list, in order of appearance;
        the rows whose detail did not fit their cell are in ``self._cut``."""
        counts: dict[str, int] = {}
        for m in self.result.mismatches:
            counts[m.category] = counts.get(m.category, 0) + 1
        out = []
        for category, n in counts.items():
            steps = list(self.vocab.guide(category))
            for zh, en in list(self._unlisted.get(category, {}))[:3]:
                steps.append((("处理", "Action"), (zh, en)))
            if not steps:
                zh, en = self.vocab.action(category)
                if zh or en:
                    steps.append((("处理", "Action"), (zh, en)))
            out.append((category, n, steps))
        return out

    def _appendix(self) -> list[tuple[tuple[str, str], Table]]:
        w, cur, m_ = self.w, self.cur, self.metrics
        found: dict[tuple[str | None, str | None], str] = {}
        for m in self.result.mismatches:
            found.setdefault((m.tsn, m.type), m.category)
        cols = [
            Column(w.lines("流水号", "TSN"), 50), Column(w.lines("时间", "Time"), 78),
            Column(w.lines("类型", "Type"), 72), Column(w.lines("卡号", "Card"), 68),
            Column(w.lines(f"金额 {cur}", f"Amount {cur}"), 60, "r"),
            Column(w.lines("应答码", "Code"), 30, "c"), Column(w.lines("后台参考号", "Backend ref."), 66),
            Column(w.lines("冲正", "Reversed"), 38, "c"),
            Column(w.lines("取走", "Taken"), 54, "r"), Column(w.lines("回收", "Retracted"), 50, "r"),
            Column(w.lines("存入", "Deposited"), 54, "r"), Column(w.lines("退回", "Returned"), 50, "r"),
            Column(w.lines("对账结果", "Result"), 0),
        ]
        cols[-1].width = BODY_W - sum(c.width for c in cols)
        for col in cols:
            col.max_lines = 1  # one line a transaction: the appendix can run to thousands
        atm_t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=1.8))
        yes, no = w.inline("是", "yes"), ""
        matched = w.inline("相符", "matched")
        for tx in self.atm.transactions:
            category = found.get((tx.tsn, tx.type))
            result = w.inline(*self.vocab.category(category)) if category else matched
            atm_t.add(m_, [
                tx.tsn, " ".join(self._time(tx.time)), w.inline(*labels.TX_TYPE_NAMES.get(tx.type, (tx.type,) * 2)),
                mask_card(tx.card), format_grouped(tx.amount), tx.host_code, tx.host_ref or DASH,
                yes if tx.reversed else no, format_grouped(tx.taken), format_grouped(tx.retracted),
                format_grouped(tx.deposited), format_grouped(tx.returned), result,
            ], {12: RED} if category else None)
        tables = [(("附录一 ATM 交易明细", "Appendix 1: the ATM's transactions"), atm_t)]
        if self.host is not None:
            cols = [
                Column(w.lines("后台参考号", "Backend ref."), 90), Column(w.lines("流水号", "TSN"), 60),
                Column(w.lines("时间", "Time"), 90), Column(w.lines("类型", "Type"), 70),
                Column(w.lines("卡号", "Card"), 80), Column(w.lines(f"金额 {cur}", f"Amount {cur}"), 80, "r"),
                Column(w.lines("状态", "Status"), 70, "c"), Column(w.lines("对账结果", "Result"), 0),
            ]
            cols[-1].width = BODY_W - sum(c.width for c in cols)
            for col in cols:
                col.max_lines = 1
            host_t = Table(cols, TableStyle(size=7, leading=8.4, pad_y=1.8))
            by_ref: dict[str, str] = {}
            for m in self.result.mismatches:
                for ref in m.host_refs:
                    by_ref.setdefault(ref, m.category)
            booked, reversed_ = w.inline("已记账", "booked"), w.inline("已冲正", "reversed")
            for tx in self.host.transactions:
                category = by_ref.get(tx.host_ref) or (found.get((tx.tsn, tx.type)) if tx.tsn else None)
                host_t.add(m_, [
                    tx.host_ref, tx.tsn or DASH, " ".join(self._time(tx.time)),
                    w.inline(*labels.TX_TYPE_NAMES.get(tx.type, (tx.type,) * 2)), mask_card(tx.card),
                    format_grouped(tx.amount), booked if tx.status == "booked" else reversed_,
                    w.inline(*self.vocab.category(category)) if category else matched,
                ], {7: RED} if category else None)
            tables.append((("附录二 后台交易明细", "Appendix 2: the backend's transactions"), host_t))
        return tables


def _tz_of(text: str | None):
    try:
        return datetime.fromisoformat((text or "").replace("Z", "+00:00")).tzinfo
    except ValueError:
        return None


def _show_time(t: datetime) -> str:
    offset = t.strftime("%z")
    return t.strftime("%Y-%m-%d %H:%M:%S ") + (f"{offset[:3]}:{offset[3:]}" if offset else "")


# ---------------------------------------------------------------------------------------------


class _Composer:
    """Lays the report out on pages; with ``canvas=None`` it only counts them."""

    def __init__(self, content: _Content, canvas, font, mono, total_pages: int = 0) -> None:
        self.c = content
        self.canvas = canvas
        self.pen = Pen(canvas, font, content.metrics)
        self.mono_metrics = Metrics(mono)
        self.mono = Pen(canvas, mono, self.mono_metrics)
        self.rules = Rules(canvas)
        self.total = total_pages
        self.page = 0
        self.y = BODY_TOP
        self.w = content.w

    # -- pages --------------------------------------------------------------------------------
    def start_page(self) -> float:
        self.page += 1
        self.y = BODY_TOP
        if self.canvas is not None:
            meta, w = self.c.meta, self.w
            top = PAGE_H - TOP
            third = BODY_W / 3 - 10
            self.pen.text(LEFT, top - 8, self.c.metrics.fit(f"{meta.bank}  {meta.branch}", 8, third), 8, GREY)
            self.pen.text(LEFT + BODY_W / 2, top - 8, w.inline("ATM 清机对账报告", "ATM clearing report"), 8,
                          GREY, "c")
            self.pen.text(LEFT + BODY_W, top - 8, f"{w.inline('终端', 'Terminal')} {self.c.atm.terminal_id}   "
                          f"{w.inline('周期', 'Cycle')} {self.c.atm.cycle_id}", 8, GREY, "r")
            self.rules.line(LEFT, top - 12, LEFT + BODY_W, top - 12)
            if meta.draft:  # drawn first, so the page's text lies over it
                self.canvas.saveState()
                self.canvas.setFillColorRGB(0.85, 0.85, 0.85)
                self.canvas.setFont(self.pen.font.fontName, 72)
                self.canvas.translate(PAGE_W / 2, PAGE_H / 2)
                self.canvas.rotate(45)
                self.canvas.drawCentredString(0, 0, "草稿 DRAFT")
                self.canvas.restoreState()
        return self.y

    def finish_page(self) -> None:
        if self.canvas is None:
            return
        meta, w = self.c.meta, self.w
        y = BOTTOM
        self.rules.line(LEFT, y + 10, LEFT + BODY_W, y + 10)
        self.pen.text(LEFT, y, f"{w.inline('报告编号', 'Report no.')} {meta.report_no}", 8)
        if meta.evidence_sha256:
            self.mono.text(LEFT + BODY_W / 2, y, f"SHA-256 {meta.evidence_sha256[:16]}…", 7, GREY, "c")
        if w.language == "zh":
            folio = f"第 {self.page} 页 共 {self.total} 页"
        elif w.language == "en":
            folio = f"Page {self.page} of {self.total}"
        else:
            folio = f"第 {self.page} 页 共 {self.total} 页  Page {self.page} of {self.total}"
        self.pen.text(LEFT + BODY_W, y, folio, 8, BLACK, "r")
        self.rules.flush()
        self.pen.flush()
        self.mono.flush()
        self.canvas.showPage()

    def new_page(self) -> float:
        self.finish_page()
        return self.start_page()

    def need(self, height: float) -> None:
        if self.y - height < BODY_BOTTOM:
            self.new_page()

    # -- pieces -------------------------------------------------------------------------------
    def heading(self, zh: str, en: str, size: float = 11, keep: float = 60) -> None:
        """A section title, kept on the page with at least ``keep`` points of what follows."""
        self.need(size + 10 + keep)
        self.y -= size + 2
        self.pen.text(LEFT, self.y, self.w.inline(zh, en), size, BLACK, bold=True)
        self.y -= 7

    def line(self, text: str, size: float = 8.5, color=BLACK, bold: bool = False, pen: Pen | None = None,
             width: float = BODY_W, indent: float = 0.0) -> None:
        """A paragraph of up to four lines within ``width``."""
        pen = pen or self.pen
        for part in pen.metrics.wrap(text, size, width - indent, 4):
            self.need(size * 1.5)
            self.y -= size * 1.25
            pen.text(LEFT + indent, self.y, part, size, color, bold=bold)
        self.y -= size * 0.3

    def table(self, table: Table, x: float = LEFT, continued: tuple[str, str] | None = None) -> None:
        """Draw a table; a table that fits on one page is never split. ``continued`` names the
        table at the top of each further page it runs onto, for pages that get separated."""

        def new_page(rows_drawn: bool) -> float:
            self.new_page()
            if continued is not None and rows_drawn:
                self.y -= 9
                self.pen.text(LEFT, self.y, self.w.inline(f"{continued[0]}（续）", f"{continued[1]} (continued)"),
                              8, GREY)
                self.y -= 5
            return self.y

        self.y = draw_table(table, x, self.y, BODY_BOTTOM, self.pen, self.rules, new_page,
                            keep_together=(BODY_TOP - BODY_BOTTOM) * 0.6)
        self.y -= 8

    def section(self, zh: str, en: str, table: Table) -> None:
        """A heading and its table, the heading never left alone at the foot of a page."""
        limit = (BODY_TOP - BODY_BOTTOM) * 0.6
        self.heading(zh, en, keep=table.height if table.height <= limit else 90)
        self.table(table)

    def space(self, h: float) -> None:
        self.y -= h

    # -- the report ---------------------------------------------------------------------------
    def run(self) -> int:
        c, w, meta, result = self.c, self.w, self.c.meta, self.c.result
        self.start_page()
        # Title
        self.y -= 16
        self.pen.text(LEFT + BODY_W / 2, self.y, w.inline("ATM 清机对账报告", "ATM Clearing and Reconciliation Report"),
                      15, BLACK, "c", bold=True)
        self.y -= 10
        self.table(c.header_table)
        if meta.headless:
            self.line(w.inline("本次清机未经向导，由命令行完成（无人值守）。",
                               "This clearing was done without the wizard, from the command line (headless)."),
                      9, RED, bold=True)
        # Conclusion, plainly, before any detail
        self.space(4)
        books_agree = not result.mismatches and all(t.equal for t in result.totals)
        cp = result.cash_position
        if books_agree:
            self.line(w.inline("账账相符", "The books agree"), 13, GREEN, bold=True)
        else:
            n = len(result.mismatches)
            self.line(w.inline(f"账账不符：{n:,} 笔不符账目", f"The books do not agree: {n:,} mismatch{'' if n == 1 else 'es'}"),
                      13, RED, bold=True)
        if cp.counted is not None:
            # the books against the cash in the machine (账实), said as plainly
            off = cp.counted_vs_atm or cp.counted_vs_host
            if not off:
                self.line(w.inline("账实相符：实点现金与账面一致。", "The cash counted agrees with the books."),
                          10, GREEN, bold=True)
            else:
                figure = format_grouped(off, c.cur, plus=True)
                kind_zh, kind_en = ("长款", "overage") if off > 0 else ("短款", "shortage")
                book_zh, book_en = ("ATM 账", "the ATM's books") if cp.counted_vs_atm else ("后台账", "the backend's books")
                self.line(w.inline(f"账实不符：实点现金对 {book_zh}{kind_zh} {figure}",
                                   f"The cash counted differs from {book_en}: {kind_en} {figure}"),
                          10, RED, bold=True)
        if meta.evidence_sha256 is None:
            self.line(w.inline("未提供证据指纹，本报告无法核验。",
                               "No evidence fingerprint was given: this report cannot be verified."), 8.5, RED)
        self.space(6)

        self.section("一、总数核对", "1. Totals check", c.totals_table)
        self.section("二、现金头寸", "2. Cash position", c.cash_table)
        self.section("三、钞箱", "3. Cassettes", c.units_table)
        self.line(w.inline("推算张数 = 初始 + 存入/回收/废钞入 − 出钞/废钞出/其他出（XFS4IoT）；清点金额取自管机员点钞记录。",
                           "Derived count = initial + in − out (XFS4IoT); counted amounts are the custodians' count."),
                  7, GREY)
        self.space(6)

        limit = (BODY_TOP - BODY_BOTTOM) * 0.6
        summary = c.summary_table.height if c.summary_table is not None else 0.0
        self.heading("四、不符账目清单", "4. Mismatch list", keep=summary if 0 < summary <= limit else 90)
        if c.mismatch_table is None and all(t.equal for t in result.totals):
            self.line(w.inline("无不符账目，账账相符。", "No mismatches: the books agree."), 10, GREEN, bold=True)
        elif c.mismatch_table is None:  # totals differ without a detail to explain it
            self.line(w.inline("无不符明细，但总数不符，见总数核对。",
                               "No mismatched details, yet the totals differ: see the totals check."),
                      10, RED, bold=True)
        else:
            self.table(c.summary_table)
            self.space(4)
            self.line(w.inline(f"金额单位 {c.cur}。现金影响：正数为长款，负数为短款（对后台账），各笔合计等于 ATM 账与后台账的差额。",
                               f"Amounts in {c.cur}. Cash effect: positive is an overage, negative a shortage "
                               "(against the backend's books); they add up to the difference between the books."),
                      7, GREY)
            self.table(c.mismatch_table, continued=("四、不符账目清单", "4. Mismatch list"))
            self.handling_guide()

        for (zh, en), table in c.appendix_tables:
            self.new_page()
            self.heading(zh, en)
            self.table(table, continued=(zh, en))

        self.signatures_and_evidence()
        self.finish_page()
        return self.page

    def handling_guide(self) -> None:
        """五、处理说明: for each category in the list, what the custodians and the back office
        do, in full (the list's action column has the short form)."""
        w = self.w
        self.heading("五、处理说明", "5. How to resolve each category", keep=80)
        for category, n, steps in self.c.guide:
            zh, en = self.c.vocab.category(category)
            self.need(40)
            self.space(3)
            self.line(f"{w.inline(zh, en)}（{n:,} 笔）" if w.language != "en" else f"{en} ({n:,})",
                      8.5, BLACK, bold=True)
            for (who_zh, who_en), (text_zh, text_en) in steps:
                if w.language in ("both", "zh"):
                    self.line(f"{who_zh}：{text_zh}", 8, indent=12)
                if w.language in ("both", "en"):
                    self.line(f"{who_en}: {text_en}", 8, GREY if w.language == "both" else BLACK, indent=12)
            cut = self.c._cut.get(category, [])
            for no, text_zh, text_en in cut[:GUIDE_DETAILS]:
                if w.language in ("both", "zh"):
                    self.line(f"序号 {no}：{text_zh}", 8, indent=12)
                if w.language in ("both", "en"):
                    self.line(f"No. {no}: {text_en}", 8, GREY if w.language == "both" else BLACK, indent=12)
            if len(cut) > GUIDE_DETAILS:
                more = len(cut) - GUIDE_DETAILS
                self.line(w.inline(f"另有 {more:,} 笔的说明见对账结果文件。",
                                   f"{more:,} more: see the clearing result file."), 8, GREY, indent=12)
        self.space(6)

    def signatures_and_evidence(self) -> None:
        w, meta = self.w, self.c.meta
        self.need(300)
        self.heading("签字", "Signatures", keep=250)
        block_w = (BODY_W - 40) / 3
        top = self.y
        people = [(w.inline("管机员（一）", "Custodian 1"), meta.custodians[0]),
                  (w.inline("管机员（二）", "Custodian 2"), meta.custodians[1]),
                  (w.inline("主管", "Supervisor"), meta.supervisor or "")]
        for i, (role, name) in enumerate(people):
            x = LEFT + i * (block_w + 20)
            y = top - 12
            self.pen.text(x, y, role, 9.5, BLACK, bold=True)
            y -= 20
            self.pen.text(x, y, w.inline("姓名", "Name") + "：" + name if w.language != "en"
                          else f"Name: {name}", 9)
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
            y -= 30
            self.pen.text(x, y, w.inline("签字", "Signature") + ("：" if w.language != "en" else ":"), 9)
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
            y -= 26
            self.pen.text(x, y, w.inline("日期", "Date") + ("：" if w.language != "en" else ":"), 9)
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
        self.y = top - 108

        self.heading("证据与核验", "Evidence and verification", keep=140)
        qr = 104.0
        top = self.y
        text_w = BODY_W - qr - 20
        self.y -= 2
        self.line(w.inline("清机证据 SHA-256（ATM 账、后台账、点钞记录、对账结果）",
                           "SHA-256 of the clearing evidence (ATM ledger, backend ledger, counts, result)"), 8.5,
                  width=text_w)
        if meta.evidence_sha256:
            self.line(meta.evidence_sha256, 10, BLACK, pen=self.mono, width=text_w)
        else:
            self.line(w.inline("未提供", "not given"), 10, RED, width=text_w)
        self.space(6)
        self.line(w.inline("核验命令（对照已存会话核验本报告）", "Verify this report against the stored session with:"),
                  8.5, width=text_w)
        self.line(self.c.command, 9, BLACK, pen=self.mono, width=text_w)
        self.space(6)
        self.line(w.inline(f"由 custodian-app {__version__} 生成；右侧二维码内容为上述 SHA-256。",
                           f"Made by custodian-app {__version__}; the QR code carries the SHA-256 above."), 7, GREY,
                  width=text_w)
        if meta.evidence_sha256 and self.canvas is not None:
            _draw_qr(self.canvas, meta.evidence_sha256, LEFT + BODY_W - qr, top - qr, qr)
        self.y = min(self.y, top - qr - 6)


def qr_modules(value: str) -> list[list[bool]]:
    """The QR code of ``value`` (error correction M) as rows of dark/light modules, from
    reportlab's QR encoder (reportlab.graphics.barcode.qr)."""
    from reportlab.graphics.barcode.qr import QrCodeWidget

    widget = QrCodeWidget(value, barLevel="M")
    widget.qr.make()
    return [[bool(m) for m in row] for row in widget.qr.modules]


def _draw_qr(canvas, value: str, x: float, y: float, size: float) -> None:
    # Drawn as filled squares straight into the page: going through renderPDF would put an
    # unused, non-embedded Helvetica into every page's resources.
    modules = qr_modules(value)
    n = len(modules)
    quiet = 2  # modules of white border
    box = size / (n + 2 * quiet)
    rects = []
    for r, row in enumerate(modules):
        c = 0
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                rects.append(f"{x + (start + quiet) * box:.3f} {y + size - (r + quiet + 1) * box:.3f} "
                             f"{(c - start) * box:.3f} {box:.3f} re")
            else:
                c += 1
    canvas.addLiteral("q 0 0 0 rg\n" + "\n".join(rects) + "\nf Q")


# ---------------------------------------------------------------------------------------------


def _check(result: ClearingResult, atm: AtmLedger, host: HostLedger | None, counts: Counts | None) -> None:
    for name in ("terminal_id", "cycle_id", "currency"):
        if getattr(result, name) != getattr(atm, name):
            raise ReportInputError(f"report: the clearing result's {name} {getattr(result, name)!r} does not "
                                   f"match the ATM ledger's {getattr(atm, name)!r}; print the report of one clearing")
    try:
        check_same_clearing(atm, host, counts)
    except FormatError as exc:
        raise ReportInputError(f"report: {exc}") from exc


def build_report(result: ClearingResult, atm: AtmLedger, *, meta: ReportMeta,
                 host: HostLedger | None = None, counts: Counts | None = None,
                 appendix: bool = False, filename: str | None = None,
                 vocabulary: labels.Vocabulary | None = None) -> bytes:
    """The clearing report as PDF bytes. ``filename`` only goes into the default verify
    command; ``vocabulary`` overrides the catalogue's names (tests)."""
    if not isinstance(meta, ReportMeta):
        raise ReportInputError("report: meta must be a ReportMeta")
    _check(result, atm, host, counts)
    if appendix:
        listed = len(atm.transactions) + (len(host.transactions) if host is not None else 0)
        if listed > APPENDIX_LIMIT:
            raise ReportInputError(f"report: an appendix of {listed:,} transactions would run to about "
                                   f"{listed // 45:,} pages; print the report without the appendix and "
                                   "keep the ledgers with the session instead")
    from reportlab.pdfgen.canvas import Canvas

    from custodian_app.report.fonts import register_fonts

    font, mono = register_fonts()
    metrics = Metrics(font)
    content = _Content(result, atm, host, counts, meta, appendix, metrics,
                       vocabulary or labels.default_vocabulary(), filename)
    pages = _Composer(content, None, font, mono).run()
    buf = io.BytesIO()
    # initialFontName: otherwise every page names Helvetica, a font that is not embedded
    canvas = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1,
                    initialFontName=font.fontName, initialFontSize=8)
    canvas.setTitle(f"ATM 清机对账报告 {meta.report_no}")
    canvas.setAuthor(meta.printed_by)
    canvas.setSubject(f"{atm.terminal_id} {atm.cycle_id}")
    canvas.setCreator(f"custodian-app {__version__}")
    if meta.evidence_sha256:
        # also in the document information, for tools: see embedded_evidence_digest()
        canvas.setKeywords(f"evidence-sha256:{meta.evidence_sha256}")
    drawn = _Composer(content, canvas, font, mono, pages).run()
    if drawn != pages:  # the two passes share their code; a difference is a bug, not bad input
        raise ReportError(f"report layout disagreed with itself ({pages} pages counted, {drawn} drawn)")
    _save_binary(canvas)
    return buf.getvalue()


_save_lock = threading.Lock()


def _save_binary(canvas) -> None:
    """Save with compressed binary streams, without reportlab's ASCII85 wrapping: its encoder
    is pure Python unless the optional rl_accel extension is installed, and on a 400-page
    report it took longer than drawing every page. reportlab reads the switch from its global
    configuration while saving, hence the lock and the restore."""
    from reportlab import rl_config

    with _save_lock:
        before = rl_config.useA85
        rl_config.useA85 = 0
        try:
            canvas.save()
        finally:
            rl_config.useA85 = before


_KEYWORDS = re.compile(rb"/Keywords \(evidence-sha256:([0-9a-f]{64})\)")


def embedded_evidence_digest(pdf: bytes) -> str | None:
    """The evidence digest a report made by ``build_report`` carries in its document
    information (the same one printed and in the QR code on its last page), or None."""
    found = _KEYWORDS.findall(pdf)
    return found[-1].decode("ascii") if found else None


def write_report(path: str | os.PathLike, result: ClearingResult, atm: AtmLedger, *, meta: ReportMeta,
                 host: HostLedger | None = None, counts: Counts | None = None,
                 appendix: bool = False) -> Path:
    """Build the report and write it to ``path`` all at once (never a half-written PDF)."""
    target = Path(path)
    save_pdf(target, build_report(result, atm, meta=meta, host=host, counts=counts, appendix=appendix,
                                  filename=target.name))
    return target


def save_pdf(target: Path, data: bytes) -> None:
    """Write report bytes all at once (custodian_app.files.write_atomic) or raise ReportError."""
    from custodian_app.files import write_atomic

    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc.strerror or exc}; "
                          "choose a folder you can write to") from exc
