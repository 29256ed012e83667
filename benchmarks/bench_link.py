"""Benchmark: read a whole cycle over an emulated 115200-baud line, against the reference.

The cycle is the generator's: 500 transactions with their banknote records (about 4,600).
The simulator paces its output at 11,520 bytes/s (8N1) on a real pseudo-terminal pair and
delays what it receives the same way; the client reads everything (connect included) exactly
as the GUI would. The reference is what ZMODEM would need at best for an already compressed
file: the zlib-9-compressed compact JSON of that ledger, at line rate. Goal: ours <= 1.5x.

    .venv/bin/python benchmarks/bench_link.py [--transactions 500] [--seed 1] [--baud 115200]
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custodian_app.domain.formats import atm_ledger_to_dict, dumps  # noqa: E402
from custodian_app.domain.generator import generate  # noqa: E402
from custodian_app.link.client import AtmClient  # noqa: E402
from custodian_app.link.simulator import AtmSimulator, Faults  # noqa: E402

GOAL = 1.5


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--corrupt", type=float, default=0.0, help="simulated line noise: byte corruption probability")
    ap.add_argument("--drop", type=float, default=0.0, help="simulated line noise: byte loss probability")
    args = ap.parse_args()

    ledger = generate(args.seed, args.transactions).atm
    rate = args.baud / 10.0
    compact = dumps(atm_ledger_to_dict(ledger)).rstrip(b"\n")
    ref_bytes = len(zlib.compress(compact, 9))
    ref_time = ref_bytes / rate

    print(f"ATM link benchmark: {len(ledger.transactions)} transactions, {len(ledger.notes or ())} "
          f"banknote records, {args.baud} baud 8N1 = {rate:,.0f} bytes/s"
          + (f"; noise: corrupt {args.corrupt}, drop {args.drop} per byte" if args.corrupt or args.drop else ""))
    print(f"  compact JSON {len(compact):,} bytes; zlib-9 {ref_bytes:,} bytes")
    ok = True
    for run in range(args.runs):
        sim = AtmSimulator(ledger, baud=args.baud,
                           faults=Faults(corrupt=args.corrupt, drop=args.drop, seed=run + 1))
        try:
            device = sim.start_on_pty()
            core_at: list[float] = []
            t0 = time.monotonic()
            with AtmClient(device, baud=args.baud) as atm:
                status = atm.connect()
                t_connected = time.monotonic() - t0
                got = atm.read_ledger(on_core=lambda _ledger: core_at.append(time.monotonic() - t0))
                total = time.monotonic() - t0
            wire_out = sim.stats.bytes_out
            wire_in = sim.stats.bytes_in
        finally:
            sim.stop()
        if got != ledger:
            print("  ERROR: the ledger read differs from the ledger served")
            return 1
        ratio = total / ref_time
        ok = ok and ratio <= GOAL
        print(f"  run {run + 1}: protocol {status.protocol_version}, {status.compression}, "
              f"frames up to {status.max_frame} bytes, window {status.window}")
        print(f"    {'':34}{'bytes':>10}{'seconds':>10}{'x ref':>8}")
        print(f"    {'reference (zlib-9 JSON at line rate)':34}{ref_bytes:>10,}{ref_time:>10.2f}{1.0:>8.2f}")
        print(f"    {'ours: session open + status':34}{'':>10}{t_connected:>10.2f}{t_connected / ref_time:>8.2f}")
        print(f"    {'ours: core ready (totals+units+tx)':34}{'':>10}{core_at[0]:>10.2f}{core_at[0] / ref_time:>8.2f}")
        print(f"    {'ours: whole cycle incl. notes':34}{wire_out:>10,}{total:>10.2f}{ratio:>8.2f}")
        print(f"    (ATM -> application {wire_out:,} bytes; application -> ATM {wire_in:,} bytes; "
              f"line busy {wire_out / rate:.2f} s)")
    print(f"  goal: whole cycle <= {GOAL}x reference: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
