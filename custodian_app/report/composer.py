"""Laying the report's sections out on pages: headings, tables that break across pages, the
page header and folio, the signatures, the evidence block and its QR code.

Kept as one module of about 500 lines: every part of it moves the same cursor down the same
page, and a page break anywhere must know what the others have drawn."""

from __future__ import annotations

from custodian_app import __version__
from custodian_app.domain.money import format_grouped
from custodian_app.report.layout import (
    BLACK,
    GREEN,
    GREY,
    RED,
    Metrics,
    Pen,
    Rules,
    Table,
    draw_table,
)
from custodian_app.report.meta import DASH
from custodian_app.report.page import BODY_BOTTOM, BODY_TOP, BODY_W, BOTTOM, LEFT, PAGE_H, PAGE_W, TOP
from custodian_app.report.sections import Content

GUIDE_DETAILS = 30  # rows per category whose cut detail the handling guide prints in full


class Composer:
    """Lays the report out on pages; with ``canvas=None`` it only counts them."""

    def __init__(self, content: Content, canvas, font, mono, total_pages: int = 0) -> None:
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
            self.pen.text(
                LEFT + BODY_W / 2, top - 8, w.inline("ATM 清机对账报告", "ATM clearing report"), 8, GREY, "c"
            )
            self.pen.text(
                LEFT + BODY_W,
                top - 8,
                f"{w.inline('终端', 'Terminal')} {self.c.atm.terminal_id}   "
                f"{w.inline('周期', 'Cycle')} {self.c.atm.cycle_id}",
                8,
                GREY,
                "r",
            )
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

    def line(
        self,
        text: str,
        size: float = 8.5,
        color=BLACK,
        bold: bool = False,
        pen: Pen | None = None,
        width: float = BODY_W,
        indent: float = 0.0,
    ) -> None:
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
                self.pen.text(
                    LEFT,
                    self.y,
                    self.w.inline(f"{continued[0]}（续）", f"{continued[1]} (continued)"),
                    8,
                    GREY,
                )
                self.y -= 5
            return self.y

        self.y = draw_table(
            table,
            x,
            self.y,
            BODY_BOTTOM,
            self.pen,
            self.rules,
            new_page,
            keep_together=(BODY_TOP - BODY_BOTTOM) * 0.6,
        )
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
        self.pen.text(
            LEFT + BODY_W / 2,
            self.y,
            w.inline("ATM 清机对账报告", "ATM Clearing and Reconciliation Report"),
            15,
            BLACK,
            "c",
            bold=True,
        )
        self.y -= 10
        self.table(c.header_table)
        if meta.headless:
            self.line(
                w.inline(
                    "本次清机未经向导，由命令行完成（无人值守）。",
                    "This clearing was done without the wizard, from the command line (headless).",
                ),
                9,
                RED,
                bold=True,
            )
        # Conclusion, plainly, before any detail
        self.space(4)
        books_agree = not result.mismatches and all(t.equal for t in result.totals)
        cp = result.cash_position
        if books_agree:
            self.line(w.inline("账账相符", "The books agree"), 13, GREEN, bold=True)
        else:
            n = len(result.mismatches)
            self.line(
                w.inline(
                    f"账账不符：{n:,} 笔不符账目",
                    f"The books do not agree: {n:,} mismatch{'' if n == 1 else 'es'}",
                ),
                13,
                RED,
                bold=True,
            )
        if cp.counted is not None:
            # the books against the cash in the machine (账实), said as plainly
            off = cp.counted_vs_atm or cp.counted_vs_host
            if not off:
                self.line(
                    w.inline("账实相符：实点现金与账面一致。", "The cash counted agrees with the books."),
                    10,
                    GREEN,
                    bold=True,
                )
            else:
                figure = format_grouped(off, c.cur, plus=True)
                kind_zh, kind_en = ("长款", "overage") if off > 0 else ("短款", "shortage")
                book_zh, book_en = (
                    ("ATM 账", "the ATM's books") if cp.counted_vs_atm else ("后台账", "the backend's books")
                )
                self.line(
                    w.inline(
                        f"账实不符：实点现金对 {book_zh}{kind_zh} {figure}",
                        f"The cash counted differs from {book_en}: {kind_en} {figure}",
                    ),
                    10,
                    RED,
                    bold=True,
                )
        if meta.evidence_sha256 is None:
            self.line(
                w.inline(
                    "未提供证据指纹，本报告无法核验。",
                    "No evidence fingerprint was given: this report cannot be verified.",
                ),
                8.5,
                RED,
            )
        self.space(6)

        self.section("一、总数核对", "1. Totals check", c.totals_table)
        self.section("二、现金头寸", "2. Cash position", c.cash_table)
        self.section("三、钞箱", "3. Cassettes", c.units_table)
        self.line(
            w.inline(
                "推算张数 = 初始 + 存入 + 回收 + 废钞入 − 出钞 − 废钞出 − 去向不明（XFS4IoT 计数器；"
                "distributed 与出钞重叠，不扣减）；推算金额即清点所对照的金额，混合废钞箱按冠字号记录推算。"
                "清点金额取自管机员点钞记录。",
                "Derived count = initial + deposited + retracted + rejected in − presented − rejected out "
                "− unknown (XFS4IoT counters; distributed overlaps presented and is not subtracted); "
                "the derived amount is what the count is compared with (a mixed bin's, from the note "
                "serials). Counted amounts are the custodians' count.",
            ),
            7,
            GREY,
        )
        self.space(6)

        limit = (BODY_TOP - BODY_BOTTOM) * 0.6
        summary = c.summary_table.height if c.summary_table is not None else 0.0
        self.heading("四、不符账目清单", "4. Mismatch list", keep=summary if 0 < summary <= limit else 90)
        if c.mismatch_table is None and all(t.equal for t in result.totals):
            self.line(
                w.inline("无不符账目，账账相符。", "No mismatches: the books agree."), 10, GREEN, bold=True
            )
        elif c.mismatch_table is None:  # totals differ without a detail to explain it
            self.line(
                w.inline(
                    "无不符明细，但总数不符，见总数核对。",
                    "No mismatched details, yet the totals differ: see the totals check.",
                ),
                10,
                RED,
                bold=True,
            )
        else:
            self.table(c.summary_table)
            self.space(4)
            self.line(
                w.inline(
                    f"金额单位 {c.cur}。现金影响：正数为长款，负数为短款（对后台账），各笔合计等于 ATM 账与后台账的差额。",
                    f"Amounts in {c.cur}. Cash effect: positive is an overage, negative a shortage "
                    "(against the backend's books); they add up to the difference between the books.",
                ),
                7,
                GREY,
            )
            self.unknown_outcome_notice()
            self.table(c.mismatch_table, continued=("四、不符账目清单", "4. Mismatch list"))
            self.handling_guide()
        if c.retained_table is not None:
            self.retained_cards(
                "六" if c.mismatch_table is not None else "五", "6" if c.mismatch_table is not None else "5"
            )

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
            self.line(
                f"{w.inline(zh, en)}（{n:,} 笔）" if w.language != "en" else f"{en} ({n:,})",
                8.5,
                BLACK,
                bold=True,
            )
            for (who_zh, who_en), (text_zh, text_en) in steps:
                if w.language in ("both", "zh"):
                    self.line(f"{who_zh}：{text_zh}", 8, indent=12)
                if w.language in ("both", "en"):
                    self.line(f"{who_en}: {text_en}", 8, GREY if w.language == "both" else BLACK, indent=12)
            cut = self.c.cut.get(category, [])
            for no, text_zh, text_en in cut[:GUIDE_DETAILS]:
                if w.language in ("both", "zh"):
                    self.line(f"序号 {no}：{text_zh}", 8, indent=12)
                if w.language in ("both", "en"):
                    self.line(f"No. {no}: {text_en}", 8, GREY if w.language == "both" else BLACK, indent=12)
            if len(cut) > GUIDE_DETAILS:
                more = len(cut) - GUIDE_DETAILS
                self.line(
                    w.inline(
                        f"另有 {more:,} 笔的说明见对账结果文件。",
                        f"{more:,} more: see the clearing result file.",
                    ),
                    8,
                    GREY,
                    indent=12,
                )
        self.space(6)

    def unknown_outcome_notice(self) -> None:
        """Said before the list, in red: a cash-out whose notes went nobody knows where is held,
        never reversed or refunded on the ledger alone (rev 2)."""
        rows = [m for m in self.c.result.mismatches if m.category == "UNKNOWN_OUTCOME"]
        if not rows:
            return
        w, n = self.w, len(rows)
        tsns = "、".join(m.tsn or DASH for m in rows[:6]) + ("…" if n > 6 else "")
        self.line(
            w.inline(
                f"出钞结果不明 {n:,} 笔（流水号 {tsns}）：不得凭流水冲正或退款。挂账待查，"
                "待双人实物清点和监控录像确认钞票去向后处理。",
                f"Dispense outcome unknown for {n:,} transaction(s) (TSN {tsns.replace('、', ', ')}): "
                "do not reverse or refund on the ledger alone. Hold in suspense until the dual-custody "
                "count and the camera footage establish where the notes went.",
            ),
            9,
            RED,
            bold=True,
        )
        self.space(2)

    def retained_cards(self, number_zh: str, number_en: str) -> None:
        """吞卡交接清单: the captured cards, handed over by the two custodians to the receiver,
        each signing (dual control)."""
        c, w = self.c, self.w
        n = len(c.result.retained_cards)
        title = (f"{number_zh}、吞卡交接清单", f"{number_en}. Retained cards hand-over list")
        self.section(*title, c.retained_table)
        self.line(
            w.inline(
                f"共 {n:,} 张。两名管机员当面清点后交出，接收人逐张核对卡号后签收。",
                f"{n:,} card(s). The two custodians count them together and hand them over; the "
                "receiver checks each card number and signs for them.",
            ),
            8,
        )
        self.signature_blocks(
            [
                (w.inline("交出人 管机员（一）", "Handed over by custodian 1"), c.meta.custodians[0]),
                (w.inline("交出人 管机员（二）", "Handed over by custodian 2"), c.meta.custodians[1]),
                (w.inline("接收人", "Received by"), ""),
            ]
        )
        self.space(6)

    def signature_blocks(self, people: list[tuple[str, str]]) -> None:
        """Three blocks side by side: role, then name, signature and date lines."""
        w = self.w
        self.need(118)
        block_w = (BODY_W - 40) / 3
        top = self.y
        for i, (role, name) in enumerate(people):
            x = LEFT + i * (block_w + 20)
            y = top - 12
            self.pen.text(x, y, self.c.metrics.fit(role, 9.5, block_w), 9.5, BLACK, bold=True)
            y -= 20
            self.pen.text(
                x, y, w.inline("姓名", "Name") + "：" + name if w.language != "en" else f"Name: {name}", 9
            )
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
            y -= 30
            self.pen.text(x, y, w.inline("签字", "Signature") + ("：" if w.language != "en" else ":"), 9)
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
            y -= 26
            self.pen.text(x, y, w.inline("日期", "Date") + ("：" if w.language != "en" else ":"), 9)
            self.rules.line(x + 70, y - 2, x + block_w, y - 2)
        self.y = top - 108

    def signatures_and_evidence(self) -> None:
        w, meta = self.w, self.c.meta
        self.need(300)
        self.heading("签字", "Signatures", keep=250)
        self.signature_blocks(
            [
                (w.inline("管机员（一）", "Custodian 1"), meta.custodians[0]),
                (w.inline("管机员（二）", "Custodian 2"), meta.custodians[1]),
                (w.inline("主管", "Supervisor"), meta.supervisor or ""),
            ]
        )

        self.heading("证据与核验", "Evidence and verification", keep=140)
        qr = 104.0
        top = self.y
        text_w = BODY_W - qr - 20
        self.y -= 2
        self.line(
            w.inline(
                "清机证据 SHA-256（ATM 账、后台账、点钞记录、对账结果）",
                "SHA-256 of the clearing evidence (ATM ledger, backend ledger, counts, result)",
            ),
            8.5,
            width=text_w,
        )
        if meta.evidence_sha256:
            self.line(meta.evidence_sha256, 10, BLACK, pen=self.mono, width=text_w)
        else:
            self.line(w.inline("未提供", "not given"), 10, RED, width=text_w)
        self.space(6)
        self.line(
            w.inline(
                "核验命令（对照已存会话核验本报告）", "Verify this report against the stored session with:"
            ),
            8.5,
            width=text_w,
        )
        self.line(self.c.command, 9, BLACK, pen=self.mono, width=text_w)
        self.space(6)
        self.line(
            w.inline(
                f"由 custodian-app {__version__} 生成；右侧二维码内容为上述 SHA-256。",
                f"Made by custodian-app {__version__}; the QR code carries the SHA-256 above.",
            ),
            7,
            GREY,
            width=text_w,
        )
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
                rects.append(
                    f"{x + (start + quiet) * box:.3f} {y + size - (r + quiet + 1) * box:.3f} "
                    f"{(c - start) * box:.3f} {box:.3f} re"
                )
            else:
                c += 1
    canvas.addLiteral("q 0 0 0 rg\n" + "\n".join(rects) + "\nf Q")
