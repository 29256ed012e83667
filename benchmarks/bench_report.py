"""Benchmark: a clearing report with a 10,000-row mismatch list, against the same table
through reportlab's platypus ``LongTable``, in the same run.

    .venv/bin/python benchmarks/bench_report.py [--rows 10000] [--repeat 1]

Input: a generated cycle with 10,000 mismatches over the categories, reconciled with the
shipped catalogue (generation is not timed). Ours: the whole report (header, totals, cash position, cassettes, category summary, the
mismatch list, signatures, evidence page with QR code), built by
``custodian_app.report.build_report``. Reference: only the mismatch table, with the same
columns, widths, font and cell text (the very lines our report prints, joined with newlines),
as a ``LongTable`` with a repeated header row and a grid, built by ``SimpleDocTemplate`` on the
same page size and margins. Both make PDF bytes in memory.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custodian_app.report import ReportMeta, build_report, labels, page, sections  # noqa: E402  # noqa: E402
from custodian_app.report.fonts import FONT_NAME, register_fonts  # noqa: E402
from custodian_app.report.layout import Metrics  # noqa: E402
from tests.report import clearing  # noqa: E402


def inputs(rows: int):
    """A generated cycle with ``rows`` mismatches spread over every category the generator
    can inject in bulk, reconciled by the engine with the shipped catalogue: the real texts
    (catalogue actions with row details, reject meanings, backend references)."""
    from custodian_app.domain.formats import CATEGORIES
    from custodian_app.domain.generator import FAULT_LIMITS, generate
    from custodian_app.domain.reconcile import reconcile
    from custodian_app.support.catalogue import load_catalogue

    bulk = [c for c in CATEGORIES if c not in FAULT_LIMITS]
    faults = {c: rows // len(bulk) for c in bulk}
    faults["HOST_ONLY"] += rows - sum(faults.values())
    scenario = generate(5, rows * 2, faults=faults)
    result = reconcile(scenario.atm, scenario.host, scenario.counts, catalogue=load_catalogue())
    meta = ReportMeta(
        "中国某银行 南京分行",
        "鼓楼支行",
        "R-BENCH-1",
        "2026-11-22T08:30:00+08:00",
        "王五",
        ("张三", "李四"),
        "赵六",
        clearing.DIGEST,
        session_id="S-BENCH",
    )
    return scenario.atm, result, meta


def ours(atm, result, meta) -> tuple[float, bytes, int]:
    t0 = time.perf_counter()
    data = build_report(result, atm, meta=meta)
    return time.perf_counter() - t0, data, len(result.mismatches)


def reference(atm, result, meta) -> tuple[float, bytes]:
    """The same mismatch table through platypus LongTable."""
    from reportlab.lib import colors
    from reportlab.platypus import LongTable, SimpleDocTemplate, TableStyle

    font, _ = register_fonts()
    # the same cell text our report prints (prepared outside the timing, as for ours below)
    content = sections.Content(
        result, atm, None, None, meta, False, Metrics(font), labels.default_vocabulary(), None
    )
    table = content.mismatch_table
    data = [["\n".join(c.title) for c in table.columns]]
    data += [["\n".join(lines) for lines in row.cells] for row in table.rows]
    widths = [c.width for c in table.columns]

    t0 = time.perf_counter()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=(page.PAGE_W, page.PAGE_H),
        leftMargin=page.LEFT,
        rightMargin=page.RIGHT,
        topMargin=page.TOP + 20,
        bottomMargin=page.BOTTOM + 16,
    )
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), FONT_NAME, 7, 8.4),
            ("GRID", (0, 0), (-1, -1), 0.45, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.93, 0.93, 0.93)),
            ("ALIGN", (0, 0), (0, -1), "RIGHT"),
            ("ALIGN", (5, 0), (6, -1), "RIGHT"),
            ("ALIGN", (8, 0), (8, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), 2.5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2.5),
        ]
    )
    doc.build([LongTable(data, colWidths=widths, repeatRows=1, style=style)])
    return time.perf_counter() - t0, buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each, interleaved (the order alternating); best and median reported",
    )
    args = parser.parse_args()
    register_fonts()  # parsing the font file is a one-off cost of the process, for both
    atm, result, meta = inputs(args.rows)
    build_report(
        clearing.balanced_result(clearing.atm_ledger(5)), clearing.atm_ledger(5), meta=meta
    )  # warm-up

    ours_t, ref_t = [], []
    n = len(result.mismatches)
    for i in range(args.repeat):
        # interleaved, the order alternating, so that a busy spell of the machine hits both
        if i % 2:
            r, ref_data = reference(atm, result, meta)
        t, data, _ = ours(atm, result, meta)
        if not i % 2:
            r, ref_data = reference(atm, result, meta)
        ours_t.append(t)
        ref_t.append(r)
    ob, rb = min(ours_t), min(ref_t)
    om, rm = statistics.median(ours_t), statistics.median(ref_t)
    print(
        f"mismatch rows: {n:,}; {args.repeat} runs of each, best / median; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"custodian_app report (whole):    {ob:7.2f} / {om:7.2f} s   {len(data) / 1e6:6.2f} MB")
    print(f"platypus LongTable (table only): {rb:7.2f} / {rm:7.2f} s   {len(ref_data) / 1e6:6.2f} MB")
    print(f"speed-up (best / median):        {rb / ob:7.1f}x / {rm / om:.1f}x   (goal: at least 5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
