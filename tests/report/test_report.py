"""The clearing report read back as text: what it says, on which page, and how."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest

from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.formats import (
    Mismatch,
    atm_ledger_to_dict,
    counts_to_dict,
    dumps,
    host_ledger_to_dict,
    result_to_dict,
)
from custodian_app.domain.money import format_grouped
from custodian_app.report import (
    ReportError,
    ReportInputError,
    ReportMeta,
    build_report,
    embedded_evidence_digest,
    report_for,
    write_report,
)
from custodian_app.report.composer import qr_modules
from custodian_app.report.labels import default_vocabulary
from tests.report import clearing
from tests.report.conftest import pages_text

FOLIO = re.compile(r"Page (\d+) of (\d+)")


@pytest.fixture(scope="module")
def unbalanced():
    atm = clearing.atm_ledger(40)
    host = clearing.host_ledger(atm)
    counts = clearing.counts()
    result = clearing.unbalanced_result(atm, 16, counted=23665000)
    return atm, host, counts, result


@pytest.fixture(scope="module")
def unbalanced_pdf(unbalanced):
    atm, host, counts, result = unbalanced
    meta = ReportMeta(
        "中国某银行 南京分行",
        "鼓楼支行",
        "R-2026-000123",
        "2026-11-22T08:30:00+08:00",
        "王五",
        ("张三", "李四"),
        "赵六",
        clearing.DIGEST,
        headless=True,
        session_id="S-42",
    )
    pdf = build_report(result, atm, meta=meta, host=host, counts=counts)
    return pdf, pages_text(pdf)


def test_every_mismatch_is_listed_with_its_tsn_and_chinese_category(unbalanced, unbalanced_pdf):
    _, _, _, result = unbalanced
    _, pages = unbalanced_pdf
    text = "\n".join(pages)
    for m in result.mismatches:
        if m.tsn:
            assert text.count(m.tsn) == 1, m.tsn
        zh, en = default_vocabulary().category(m.category)
        assert zh in text and en in text
    assert default_vocabulary().reject("68")[0] in text
    for word in ("清机", "长款", "短款", "账账不符", "拒绝码", "挂账", "冲正", "补记账"):
        assert word in text, word
    assert "账账相符" not in text


def test_totals_and_cash_position_are_printed_with_differences_marked(unbalanced, unbalanced_pdf):
    _, _, _, result = unbalanced
    _, pages = unbalanced_pdf
    first = pages[0]
    for item in result.totals:
        if item.is_amount:
            assert format_grouped(item.atm, "CNY") in first
            assert format_grouped(item.host, "CNY") in first
        else:
            assert str(item.atm) in first
    assert "CNY +100.00" in first  # loading amount: ATM 250,000.00 against backend 249,900.00
    assert first.count("不符 differ") == 2
    cp = result.cash_position
    for amount in (cp.atm_expected, cp.host_expected, cp.counted):
        assert format_grouped(amount, "CNY") in first
    # in words: Chinese capitals and English
    assert "人民币贰拾叁万陆仟陆佰伍拾元整" in first  # counted 236,650.00
    assert "CNY two hundred thirty-six thousand six hundred fifty and 00/100" in first
    assert "本次清机未经向导" in first and "headless" in first


def colored_runs(pdf: bytes) -> list[tuple[str, tuple[float, ...] | None]]:
    """Every text run of the PDF with the fill colour it is drawn in."""
    from pypdf import PdfReader

    runs = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        color: list = [(0.0, 0.0, 0.0)]  # a stack: q saves the graphics state, Q restores it
        shown: list = [None]  # the colour when the text was shown: pypdf hands text over later

        def before(op, args, cm, tm, color=color, shown=shown):
            if op == b"rg":
                color[-1] = tuple(round(float(a), 2) for a in args)
            elif op == b"q":
                color.append(color[-1])
            elif op == b"Q":
                color.pop()
            elif op in (b"Tj", b"TJ"):
                shown[0] = color[-1]

        def text(t, cm, tm, font, size, shown=shown):
            if t.strip():
                runs.append((t.strip(), shown[0]))

        page.extract_text(visitor_operand_before=before, visitor_text=text)
    return runs


def test_negative_amounts_carry_a_minus_and_are_red(unbalanced_pdf):
    pdf, pages = unbalanced_pdf
    assert "短款 shortage" in "\n".join(pages)
    red = (0.78, 0.0, 0.0)
    runs = colored_runs(pdf)
    negative = [(t, c) for t, c in runs if re.fullmatch(r"(CNY )?-[\d,]+\.\d\d", t)]
    # cash effects in the list (a totals difference is red whatever its sign: it is a difference)
    positive = [(t, c) for t, c in runs if re.fullmatch(r"\+[\d,]+\.\d\d", t)]
    assert len(negative) >= 5 and len(positive) >= 5
    assert all(c == red for _, c in negative), negative
    assert all(c != red for _, c in positive), positive


def test_every_page_says_page_x_of_y_and_the_report_number(unbalanced_pdf):
    _, pages = unbalanced_pdf
    assert len(pages) > 2
    for i, text in enumerate(pages, 1):
        assert FOLIO.findall(text) == [(str(i), str(len(pages)))]
        assert f"第 {i} 页 共 {len(pages)} 页" in text
        assert "R-2026-000123" in text


def test_last_page_carries_the_evidence_digest_the_qr_and_the_verify_command(tmp_path, unbalanced, meta):
    atm, host, counts, result = unbalanced
    docs = [
        dumps(atm_ledger_to_dict(atm)),
        dumps(host_ledger_to_dict(host)),
        dumps(counts_to_dict(counts)),
        dumps(result_to_dict(result)),
    ]
    digest = evidence_digest(*docs)
    meta = dataclasses.replace(meta, evidence_sha256=digest)
    path = write_report(tmp_path / "clearing.pdf", result, atm, meta=meta, host=host, counts=counts)
    pages = pages_text(path.read_bytes())
    assert embedded_evidence_digest(path.read_bytes()) == digest
    assert digest in pages[-1]
    assert all(digest not in p for p in pages[:-1])
    assert "custodian-app session verify S-42 --pdf clearing.pdf" in pages[-1]
    for name in ("张三", "李四", "赵六"):
        assert name in pages[-1]
    assert pages[-1].count("签字") >= 3 and pages[-1].count("日期") >= 3
    # the QR code drawn on the last page is the digest's: rebuild its modules from the squares
    from pypdf import PdfReader

    content = PdfReader(str(path)).pages[-1].get_contents().get_data().decode("latin-1")
    block = content[content.index("q 0 0 0 rg\n") :]
    block = block[: block.index("\nf Q")]
    rects = [tuple(map(float, line.split()[:4])) for line in block.splitlines()[1:]]
    expected = qr_modules(digest)
    box = rects[0][3]
    x0 = min(r[0] for r in rects)
    y_top = max(r[1] for r in rects)
    drawn = [[False] * len(expected) for _ in expected]
    for x, y, w, _ in rects:
        row = round((y_top - y) / box)
        for k in range(round(w / box)):
            drawn[row][round((x - x0) / box) + k] = True
    # the leftmost dark module of the symbol is in column 0 (the finder pattern)
    assert drawn == expected


def test_a_balanced_clearing_says_the_books_agree(meta):
    atm = clearing.atm_ledger(10)
    result = clearing.balanced_result(atm)
    assert result.balanced
    pages = pages_text(build_report(result, atm, meta=meta, host=clearing.host_ledger(atm)))
    text = "\n".join(pages)
    assert "账账相符" in text and "The books agree" in text
    assert "No mismatches: the books agree." in text
    assert "账账不符" not in text and "序号" not in text  # no mismatch table at all


@pytest.mark.slow  # reading 90 pages back with pypdf takes several seconds
def test_thousands_of_rows_break_cleanly_with_the_header_on_every_page(meta):
    atm = clearing.atm_ledger(10)
    result = clearing.balanced_result(atm)
    result.mismatches = clearing.mismatches(2000)
    pages = pages_text(build_report(result, atm, meta=meta))
    tsn = re.compile(r"\bM\d{6}\b")
    vocab = default_vocabulary()
    english = {vocab.category(c)[1] for c, *_ in clearing.CATEGORY_CYCLE}
    seen = []
    table_pages = 0
    for text in pages:
        found = tsn.findall(text)
        if not found:
            continue
        table_pages += 1
        # the header row, once, on every page the table runs onto
        assert text.count("流水号") == 1 and text.count("Reject code / detail") == 1
        # no row split over two pages: each row's second line (the English category, a line
        # of its own) is on the same page as its first (the TSN)
        assert sum(1 for line in text.splitlines() if line in english) == len(found)
        seen += found
    assert seen == [f"M{i:06d}" for i in range(1, 2001)]  # every row, in order, once
    assert table_pages > 40
    assert FOLIO.findall(pages[-1]) == [(str(len(pages)), str(len(pages)))]


def test_the_font_is_embedded_and_no_other_font_is_used(unbalanced_pdf):
    from pypdf import PdfReader

    pdf, _ = unbalanced_pdf
    reader = PdfReader(io.BytesIO(pdf))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, font["/BaseFont"]  # TrueType outlines inside
            names.add(str(font["/BaseFont"]).split("+", 1)[1])
    assert names == {"WenQuanYiMicroHei-0", "WenQuanYiMicroHeiMono-1"}


def test_a_full_card_number_is_never_printed(meta):
    atm = clearing.atm_ledger(5)
    full = "6222021234567890"
    atm.transactions[0].card = full  # cannot come through the parser; the report masks anyway
    result = clearing.balanced_result(atm)
    result.mismatches = [
        Mismatch(
            "HOST_LOST_BOOKING",
            "000001",
            "withdrawal",
            10000,
            None,
            None,
            -10000,
            "后台补记账",
            "Book it",
            card=full,
            time=atm.transactions[0].time,
        )
    ]
    text = "\n".join(pages_text(build_report(result, atm, meta=meta, appendix=True)))
    assert full not in text and "1234567890" not in text
    assert text.count("622202******7890") == 2  # mismatch list and appendix


def test_the_appendix_lists_every_transaction_of_both_ledgers(meta):
    atm = clearing.atm_ledger(120)
    host = clearing.host_ledger(atm)
    result = clearing.balanced_result(atm)
    pages = pages_text(build_report(result, atm, meta=meta, host=host, appendix=True))
    text = "\n".join(pages)
    for tx in atm.transactions:
        assert len(re.findall(rf"(?<!\d){tx.tsn}(?!\d)", text)) == 2  # once per appendix
        assert tx.host_ref in text
    assert "附录一" in text and "附录二" in text
    # signatures and evidence still close the report, after the appendix
    last = pages[-1]
    assert clearing.DIGEST in last and last.rfind("附录") < last.index("签字 Signatures")
    # a page the appendix runs onto names it, for pages that get separated
    assert any(p.startswith("附录一 ATM 交易明细（续）", p.index("\n") + 1) for p in pages)


@pytest.mark.parametrize(
    "language, present, absent",
    [
        ("zh", ["第 1 页 共", "账账相符", "清机"], ["Page 1 of", "The books agree"]),
        ("en", ["Page 1 of", "The books agree", "Cash position"], ["第 1 页", "账账相符", "现金头寸"]),
    ],
)
def test_one_language_when_the_settings_say_so(meta, language, present, absent):
    atm = clearing.atm_ledger(5)
    meta = dataclasses.replace(meta, language=language)
    text = "\n".join(pages_text(build_report(clearing.balanced_result(atm), atm, meta=meta)))
    for word in present:
        assert word in text, word
    for word in absent:
        assert word not in text, word


def test_the_same_clearing_gives_the_same_bytes(meta):
    atm = clearing.atm_ledger(5)
    result = clearing.unbalanced_result(atm, 3)
    assert build_report(result, atm, meta=meta) == build_report(result, atm, meta=meta)


def test_report_for_returns_the_pdf_and_writes_it_when_given_a_path(tmp_path, meta):
    atm = clearing.atm_ledger(5)
    result = clearing.balanced_result(atm)
    data = report_for(result, atm, None, None, meta)
    assert data.startswith(b"%PDF-")
    target = tmp_path / "r.pdf"
    assert report_for(result, atm, None, None, meta, path=target) == target.read_bytes()
    with pytest.raises(ReportInputError):
        report_for(result, atm, None, None, None)


def test_an_unwritable_target_leaves_nothing_behind(tmp_path, meta):
    atm = clearing.atm_ledger(5)
    missing = tmp_path / "no-such-folder" / "r.pdf"
    with pytest.raises(ReportError, match="choose a folder"):
        write_report(missing, clearing.balanced_result(atm), atm, meta=meta)
    assert not missing.parent.exists()


def test_documents_of_another_clearing_are_refused(meta):
    atm = clearing.atm_ledger(5)
    result = clearing.balanced_result(atm)
    result.cycle_id = "NJ-0001-20261121"
    with pytest.raises(ReportInputError, match="cycle_id"):
        build_report(result, atm, meta=meta)
    other = clearing.host_ledger(atm)
    other.terminal_id = "NJ-0002"
    with pytest.raises(ReportInputError, match="terminal_id"):
        build_report(clearing.balanced_result(atm), atm, meta=meta, host=other)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"custodians": ("张三",)}, "two custodians"),
        ({"custodians": ("张三", "李四", "王五")}, "two custodians"),
        ({"custodians": ("张三", " ")}, "two custodians"),
        ({"evidence_sha256": "abc"}, "64 hexadecimal"),
        ({"printed_at": "2026-11-22T08:30:00"}, "UTC offset"),
        ({"printed_at": "yesterday"}, "RFC 3339"),
        ({"language": "fr"}, "language"),
        ({"report_no": ""}, "report number"),
        ({"bank": 7}, "bank must be text"),
    ],
)
def test_incomplete_report_details_are_refused_with_what_to_fix(meta, change, message):
    fields = {f.name: getattr(meta, f.name) for f in dataclasses.fields(meta)}
    fields.update(change)
    with pytest.raises(ReportInputError, match=message):
        ReportMeta(**fields)


def test_without_an_evidence_digest_the_report_says_it_cannot_be_verified(meta):
    atm = clearing.atm_ledger(5)
    meta = dataclasses.replace(meta, evidence_sha256=None)
    text = "\n".join(pages_text(build_report(clearing.balanced_result(atm), atm, meta=meta)))
    assert "cannot be verified" in text
    assert embedded_evidence_digest(build_report(clearing.balanced_result(atm), atm, meta=meta)) is None


def test_meta_from_settings_fills_what_the_settings_hold(meta):
    from datetime import datetime, timedelta, timezone

    from custodian_app.report import meta_from_settings
    from custodian_app.settings.config import Settings

    when = datetime(2026, 11, 22, 8, 30, tzinfo=timezone(timedelta(hours=8)))
    m = meta_from_settings(
        Settings(bank_name="某银行", branch_name=""),
        cycle_id="NJ-0001-20261120",
        printed_by="王五",
        custodians=["张三", "李四"],
        evidence_sha256=clearing.DIGEST,
        headless=True,
        session_id=7,
        printed_at=when,
    )
    assert (m.bank, m.branch, m.report_no) == (
        "某银行",
        "（未设置 not set）",
        "NJ-0001-20261120-20261122083000",
    )
    assert m.language == "both" and m.headless and m.custodians == ("张三", "李四")
    assert m.command("r.pdf") == "custodian-app session verify 7 --pdf r.pdf"


def test_books_that_agree_with_cash_that_does_not_say_both(meta):
    atm = clearing.atm_ledger(10)
    result = clearing.balanced_result(atm)
    cp = result.cash_position
    result.cash_position = dataclasses.replace(cp, counted=cp.atm_expected - 10000)
    assert not result.balanced and not result.mismatches
    first = pages_text(build_report(result, atm, meta=meta))[0]
    assert "账账相符" in first
    assert "账实不符：实点现金对 ATM 账短款 CNY -100.00" in first
    assert "The cash counted differs from the ATM's books: shortage CNY -100.00" in first
    result.cash_position = dataclasses.replace(cp, counted=cp.atm_expected)
    assert "账实相符" in pages_text(build_report(result, atm, meta=meta))[0]


def test_an_appendix_of_a_huge_cycle_is_refused_rather_than_printed(meta, monkeypatch):
    from custodian_app.report import pdf

    monkeypatch.setattr(pdf, "APPENDIX_LIMIT", 30)
    atm = clearing.atm_ledger(20)
    host = clearing.host_ledger(atm)
    with pytest.raises(ReportInputError, match="without the appendix"):
        build_report(clearing.balanced_result(atm), atm, meta=meta, host=host, appendix=True)
    assert build_report(clearing.balanced_result(atm), atm, meta=meta, appendix=True).startswith(b"%PDF")


def test_unknown_custodians_leave_their_names_to_be_written_by_hand(meta):
    atm = clearing.atm_ledger(5)
    meta = dataclasses.replace(meta, custodians=None)
    assert meta.custodians == ("", "")
    pages = pages_text(build_report(clearing.balanced_result(atm), atm, meta=meta))
    assert "管机员 Custodians —" in pages[0]
    assert pages[-1].count("姓名 Name：") == 3


def test_bank_and_branch_not_yet_set_are_printed_as_such(meta):
    atm = clearing.atm_ledger(5)
    meta = dataclasses.replace(meta, bank="", branch=None, printed_by="")
    assert (meta.bank, meta.branch, meta.printed_by) == ("（未设置 not set）", "（未设置 not set）", "—")
    first = pages_text(build_report(clearing.balanced_result(atm), atm, meta=meta))[0]
    assert "银行 Bank （未设置 not set）" in first


def test_a_clearing_without_a_count_says_the_cash_was_not_counted(meta):
    atm = clearing.atm_ledger(5)
    result = clearing.unbalanced_result(atm, 3)
    assert result.cash_position.counted is None
    first_two = "\n".join(pages_text(build_report(result, atm, meta=meta))[:2])
    assert "管机员实点现金 Cash counted by the custodians 未清点 not counted" in first_two
    assert "清点人 Counted by 未清点 not counted" in first_two
    assert "账实" not in first_two  # no verdict on cash nobody counted
    for unit in atm.units:
        assert unit.id in first_two
