"""Backend connector figures, ours beside a reference, in one run.

    .venv/bin/python benchmarks/bench_backend.py [--records 100000] [--repeat 3]

1. Fetch: ``BackendClient.fetch_ledger`` from the simulator on loopback (paged, every page
   validated) against the reference of a naive client (one ``urllib`` GET of the unpaged
   document, then the same ``parse_host_ledger``), and against reading the same document from a
   local file (the floor: no network at all).
2. Settlement import: the settlement CSV of the same records against the host-ledger/1 JSON file.

Best and median of ``--repeat`` rounds, the sides interleaved (the order reversed every other
round); wall-clock on this machine (shared, noisy: compare within one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custodian_app.backend.client import BackendClient  # noqa: E402
from custodian_app.backend.settlement import import_settlement, to_settlement_csv  # noqa: E402
from custodian_app.backend.simulator import BackendSimulator  # noqa: E402
from custodian_app.domain import formats  # noqa: E402
from custodian_app.domain.formats import HostLedger, HostTransaction, Totals, TypeTotals  # noqa: E402
from custodian_app.support import files  # noqa: E402

T, C = "NJ-0001", "NJ-0001-20261120"


def build(n: int) -> HostLedger:
    txs, booked = [], {"withdrawal": [0, 0], "deposit": [0, 0]}
    for i in range(n):
        kind = "deposit" if i % 4 == 3 else "withdrawal"
        amount = (i % 25 + 1) * 10000
        status = "reversed" if i % 97 == 5 else "booked"
        txs.append(
            HostTransaction(
                f"63{i:010d}",
                f"{i:08d}",
                f"2026-11-{20 + i % 2}T{i % 24:02d}:{i % 60:02d}:{i % 59:02d}+08:00",
                kind,
                f"622202******{i % 10000:04d}",
                amount,
                status,
            )
        )
        if status == "booked":
            booked[kind][0] += 1
            booked[kind][1] += amount
    return HostLedger(
        T,
        C,
        "CNY",
        Totals(50_000_000, TypeTotals(*booked["withdrawal"]), TypeTotals(*booked["deposit"])),
        txs,
    )


def interleaved(repeat: int, *fns) -> list[tuple[float, float]]:
    """(best, median) seconds of each function over ``repeat`` rounds, one run of each per
    round, the order reversed every other round, so that a busy spell hits every side."""
    times: list[list[float]] = [[] for _ in fns]
    for i in range(repeat):
        order = list(enumerate(fns))
        for k, fn in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return [(min(t), statistics.median(t)) for t in times]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.records
    ledger = build(n)
    doc_bytes = formats.dumps(formats.host_ledger_to_dict(ledger))
    with tempfile.TemporaryDirectory() as tmp:
        json_path, csv_path = Path(tmp) / "host.json", Path(tmp) / "settle.csv"
        json_path.write_bytes(doc_bytes)
        csv_path.write_bytes(to_settlement_csv(ledger).encode())
        paged = BackendSimulator([ledger], page_size=5000)
        unpaged = BackendSimulator([ledger], page_size=n + 1)
        paged_url, unpaged_url = paged.start(), unpaged.start()
        try:
            client = BackendClient(paged_url, page_size=5000)
            assert client.fetch_ledger(T, C) == ledger

            def naive() -> HostLedger:
                url = f"{unpaged_url}/v1/terminals/{T}/cycles/{C}/ledger"
                with urllib.request.urlopen(url, timeout=60) as reply:
                    return formats.parse_host_ledger(reply.read())

            assert naive() == ledger
            ours, reference, floor = interleaved(
                args.repeat,
                lambda: client.fetch_ledger(T, C),
                naive,
                lambda: files.read_host_ledger(json_path),
            )
        finally:
            paged.stop()
            unpaged.stop()
        assert import_settlement(csv_path) == ledger
        csv_time, json_time = interleaved(
            args.repeat, lambda: import_settlement(csv_path), lambda: import_settlement(json_path)
        )

    mb = len(doc_bytes) / 1e6
    print(
        f"backend connector, {n} records ({mb:.1f} MB of host-ledger/1), best and median of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'what':58} {'best s':>8} {'median s':>9} {'records/s':>11}")
    rows = [
        ("fetch_ledger, paged by 5000, all validated (ours)", ours),
        ("naive: one urllib GET unpaged + parse_host_ledger (ref)", reference),
        ("read the same document from a local file (floor)", floor),
        ("import settlement CSV (ours)", csv_time),
        ("import host-ledger/1 JSON file (reference)", json_time),
    ]
    for name, (secs, median) in rows:
        print(f"{name:58} {secs:8.3f} {median:9.3f} {n / secs:11,.0f}")
    print(
        f"best against best: fetch vs naive {ours[0] / reference[0]:.2f}x; vs local file "
        f"{ours[0] / floor[0]:.2f}x; CSV vs JSON import {csv_time[0] / json_time[0]:.2f}x"
    )


if __name__ == "__main__":
    main()
