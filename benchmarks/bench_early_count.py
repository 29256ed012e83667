"""When the custodians can start counting: the ledger's core versus the whole ledger.

Runs the ATM simulator on a pseudo-terminal paced at a real line speed (115200 baud by
default), reads a generated cycle's ledger through the link client as the wizard does
(``read_ledger(on_core=…)``), and prints, side by side, the seconds until the core arrived
(the wizard enables the Count page then) and until the whole ledger was in (the reference:
before counting on the core, the Count page waited for it).

    .venv/bin/python benchmarks/bench_early_count.py [--transactions N] [--baud B] [--runs R]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from custodian_app.domain.generator import generate  # noqa: E402
from custodian_app.link.client import AtmClient  # noqa: E402
from custodian_app.link.simulator import AtmSimulator  # noqa: E402


def one_read(scenario, baud: int) -> tuple[float, float]:
    sim = AtmSimulator(scenario.atm, baud=baud)
    device = sim.start_on_pty()
    try:
        with AtmClient(device, baud=baud) as client:
            client.connect()
            core_at: list[float] = []
            t0 = time.monotonic()
            ledger = client.read_ledger(on_core=lambda _core: core_at.append(time.monotonic() - t0))
            full = time.monotonic() - t0
            assert len(ledger.notes) == len(scenario.atm.notes) and core_at
            return core_at[0], full
    finally:
        sim.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--transactions", type=int, default=1500)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    scenario = generate(7, args.transactions, "realistic")
    print(
        f"{len(scenario.atm.transactions):,} transactions, {len(scenario.atm.notes):,} banknote records, "
        f"{args.baud} baud"
    )
    print(f"{'run':>3}  {'Count page (core)':>18}  {'reference: whole ledger':>24}  {'share':>6}")
    for run in range(1, args.runs + 1):
        core, full = one_read(scenario, args.baud)
        print(f"{run:>3}  {core:>16.2f} s  {full:>22.2f} s  {core / full:>6.0%}")


if __name__ == "__main__":
    main()
