"""Benchmark: reading a month of a busy ATM's journal and FSN files, against a plain
line-by-line regex baseline in the same run.

    .venv/bin/python benchmarks/bench_journal.py [--transactions 30000] [--dialect ncr] [--repeat 3]

A cycle of --transactions transactions with the banknote trail (~300,000 notes at 30,000) is
generated and written as a journal in the dialect and as FSN files without images (not
timed). Then --repeat rounds, the four interleaved (the order reversed every other round),
best and median of the CPU time of this process (time.process_time):

* ours, whole: ``read_journals`` — journal lines, FSN records, every note tied to its
  transaction, the atm-ledger/1 document built;
* ours, journal lines only: ``parse_journals`` (each line tried first against the rule that
  followed the previous line's rule last time, then the rules in order), transactions built;
* the same reader told to try the rules in order for every line (``predict=False``);
* baseline: the journal read the plain way — for each line, each rule's regular expression
  tried in turn (``re.fullmatch``) until one matches, its groups taken as a dict. It builds no
  transactions and reads no FSN: it is only the line matching.

The generator packs any number of transactions into 48 hours (at 30,000, several share a
second, and their notes cannot be told apart by time); here they are spread evenly over 30
days, as in a busy ATM's month (one every 86 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custodian_app.domain.generator import build_documents  # noqa: E402
from custodian_app.journal import load_dialect, read_journals  # noqa: E402
from custodian_app.journal.ej import parse_journals  # noqa: E402
from custodian_app.journal.writer import write_cycle  # noqa: E402


def baseline(text: str, rules: list[re.Pattern]) -> tuple[int, int]:
    matched = unmatched = 0
    for line in text.split("\n"):
        for rx in rules:
            m = rx.fullmatch(line)
            if m is not None:
                m.groupdict()
                matched += 1
                break
        else:
            unmatched += 1
    return matched, unmatched


def spread(ledger: dict, days: int) -> dict:
    """The cycle's transactions spread evenly over ``days`` (their order kept)."""
    opened = datetime.fromisoformat(ledger["opened_at"])
    txs = ledger["transactions"]
    step = days * 86400 / (len(txs) + 1)
    for i, t in enumerate(txs, 1):
        t["time"] = (opened + timedelta(seconds=round(i * step))).isoformat()
    ledger["closed_at"] = (opened + timedelta(days=days)).isoformat()
    return ledger


def interleaved(repeat: int, *fns) -> list[tuple[float, float, object]]:
    """(best, median) CPU seconds of each function over ``repeat`` rounds, one run of each per
    round, the order reversed every other round; and each one's last result."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for i in range(repeat):
        order = list(enumerate(fns))
        for k, fn in order if i % 2 == 0 else order[::-1]:
            t0 = time.process_time()
            outs[k] = fn()
            times[k].append(time.process_time() - t0)
    return [(min(t), statistics.median(t), out) for t, out in zip(times, outs, strict=True)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transactions", type=int, default=30000)
    ap.add_argument("--dialect", default="ncr")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = load_dialect(args.dialect)
    ledger = spread(json.loads(build_documents(2026, args.transactions, "realistic").atm), 30)
    with tempfile.TemporaryDirectory() as tmp:
        jpath, fsn_dir = write_cycle(ledger, d, tmp)
        text = Path(jpath).read_text(encoding="utf-8")
        fsn_bytes = sum(os.path.getsize(os.path.join(fsn_dir, f)) for f in os.listdir(fsn_dir))
        rules = [re.compile(r.pattern, re.IGNORECASE if d.ignore_case else 0) for r in d.rules]
        rules.append(re.compile(r"[ \t\r]*"))  # blank lines, as ours
        (
            (t_whole, t_whole_med, read),
            (t_lines, t_lines_med, _),
            (t_plain, t_plain_med, _),
            (t_base, t_base_med, (matched, unmatched)),
        ) = interleaved(
            args.repeat,
            lambda: read_journals([jpath], fsn_dir, d),
            lambda: parse_journals([(jpath, text)], d),
            lambda: parse_journals([(jpath, text)], d, predict=False),
            lambda: baseline(text, rules),
        )
    led = read.ledger
    print(
        f"dialect {d.name}: {len(led['transactions'])} transactions, {len(text.splitlines())} journal lines "
        f"({len(text) / 1e6:.1f} MB), {len(led.get('notes', ()))} notes in FSN ({fsn_bytes / 1e6:.1f} MB), "
        f"{read.notes_without_tsn} notes without a TSN"
    )
    print(f"best and median of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
    print(f"baseline matched {matched} lines, {unmatched} unmatched")
    print(f"{'CPU seconds, best / median':52} {'best':>7}   {'median':>6}")
    print(f"{'ours, whole read (journal + FSN + tying + ledger)':52} {t_whole:7.2f} / {t_whole_med:6.2f}")
    print(f"{'ours, journal lines only':52} {t_lines:7.2f} / {t_lines_med:6.2f}")
    print(f"{'same reader, rules in order for every line':52} {t_plain:7.2f} / {t_plain_med:6.2f}")
    print(f"{'baseline: line by line, rule by rule (matching only)':52} {t_base:7.2f} / {t_base_med:6.2f}")
    print(
        f"journal lines with transactions built: {t_plain / t_lines:.1f}x faster than rules in order; "
        f"{t_base / t_lines:.2f}x the time of bare matching in order"
    )


if __name__ == "__main__":
    main()
