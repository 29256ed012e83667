"""Benchmark: read a whole cycle over an emulated 115200-baud line, against the references.

The cycle is the generator's: 500 transactions with their banknote records (about 4,500).
The simulator paces its output at 11,520 bytes/s (8N1) on a real pseudo-terminal pair and
delays what it receives the same way. Measured, in one run:
- ``custodian-app read-atm`` as a separate process, from its start to its exit (the whole
  command: start-up, session, status, the read, writing the file) — the figure of the goal;
- the same read inside this process (AtmClient, as the GUI does it), in record layout 2 and
  in layout 1 (what an older ATM agent sends).
References, same run: the compact JSON of the ledger compressed with zlib-9, zstd-22 and
xz-9e, and the column-wise layout of the whole cycle (layout 2's columns, one page each for
transactions and notes) compressed the same ways, each at line rate: what ZMODEM would need
at best to carry that already compressed file. Goal: the whole command <= 0.6x zlib-9 JSON.

    .venv/bin/python benchmarks/bench_link.py [--transactions 500] [--seed 1] [--baud 115200]

zstd needs the ``zstandard`` package (``pip install -e .[bench]``); without it its rows say so.
"""

from __future__ import annotations

import argparse
import lzma
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from custodian_app.domain.formats import atm_ledger_to_dict, dumps  # noqa: E402
from custodian_app.domain.generator import generate  # noqa: E402
from custodian_app.link import binpage  # noqa: E402
from custodian_app.link.client import AtmClient  # noqa: E402
from custodian_app.link.simulator import AtmSimulator, Faults  # noqa: E402
from custodian_app.support.files import read_atm_ledger  # noqa: E402

GOAL = 0.6

try:
    import zstandard
except ImportError:  # the bench extra is not installed
    zstandard = None


def _zstd(data: bytes) -> int | None:
    return None if zstandard is None else len(zstandard.ZstdCompressor(level=22).compress(data))


def _references(ledger) -> tuple[list[tuple[str, int | None]], int, int]:
    compact = dumps(atm_ledger_to_dict(ledger)).rstrip(b"\n")
    columns = (
        binpage.encode_transactions(ledger.transactions, ledger.opened_at, codecs=(binpage.CODEC_NONE,))[2:]
        + binpage.encode_notes(ledger.notes or [], codecs=(binpage.CODEC_NONE,))[2:]
    )
    xz = 9 | lzma.PRESET_EXTREME
    return (
        [
            ("compact JSON, zlib-9", len(zlib.compress(compact, 9))),
            ("compact JSON, zstd-22", _zstd(compact)),
            ("compact JSON, xz-9e", len(lzma.compress(compact, preset=xz))),
            ("column-wise layout, zlib-9", len(zlib.compress(columns, 9))),
            ("column-wise layout, zstd-22", _zstd(columns)),
            ("column-wise layout, xz-9e", len(lzma.compress(columns, preset=xz))),
        ],
        len(compact),
        len(columns),
    )


def _in_process(ledger, args, layouts: tuple[int, ...], seed: int) -> dict:
    sim = AtmSimulator(ledger, baud=args.baud, faults=Faults(corrupt=args.corrupt, drop=args.drop, seed=seed))
    try:
        device = sim.start_on_pty()
        core_at: list[float] = []
        t0 = time.monotonic()
        with AtmClient(device, baud=args.baud, record_layouts=layouts) as atm:
            status = atm.connect()
            connected = time.monotonic() - t0
            got = atm.read_ledger(on_core=lambda _ledger: core_at.append(time.monotonic() - t0))
            total = time.monotonic() - t0
    finally:
        sim.stop()
    return {
        "status": status,
        "connected": connected,
        "core": core_at[0],
        "total": total,
        "out": sim.stats.bytes_out,
        "in": sim.stats.bytes_in,
        "same": got == ledger,
    }


def _command(ledger, args, seed: int) -> dict:
    """``custodian-app read-atm`` in its own process, timed from its start to its exit."""
    sim = AtmSimulator(ledger, baud=args.baud, faults=Faults(corrupt=args.corrupt, drop=args.drop, seed=seed))
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        out = Path(tmp) / "atm.json"
        try:
            device = sim.start_on_pty()
            t0 = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "custodian_app",
                    "read-atm",
                    "--port",
                    device,
                    "--baud",
                    str(args.baud),
                    "--out",
                    str(out),
                    "--quiet",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            total = time.monotonic() - t0
        finally:
            sim.stop()
        if proc.returncode != 0:
            raise SystemExit(f"read-atm failed ({proc.returncode}): {proc.stderr.strip()}")
        same = read_atm_ledger(out) == ledger
    return {"total": total, "out": sim.stats.bytes_out, "same": same}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transactions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument(
        "--corrupt", type=float, default=0.0, help="simulated line noise: byte corruption probability"
    )
    ap.add_argument("--drop", type=float, default=0.0, help="simulated line noise: byte loss probability")
    args = ap.parse_args()

    ledger = generate(args.seed, args.transactions).atm
    rate = args.baud / 10.0
    refs, json_size, columns_size = _references(ledger)
    ref_bytes = refs[0][1]
    assert ref_bytes is not None
    ref_time = ref_bytes / rate

    print(
        f"ATM link benchmark: {len(ledger.transactions)} transactions, {len(ledger.notes or ())} "
        f"banknote records, {args.baud} baud 8N1 = {rate:,.0f} bytes/s; load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + (f"; noise: corrupt {args.corrupt}, drop {args.drop} per byte" if args.corrupt or args.drop else "")
    )
    print(f"  compact JSON {json_size:,} bytes; column-wise layout (uncompressed) {columns_size:,} bytes")
    head = f"    {'':44}{'bytes':>10}{'seconds':>10}{'x ref':>8}"
    print("  references (size at line rate):")
    print(head)
    for name, size in refs:
        if size is None:
            print(f"    {name:44}{'(zstandard not installed: pip install -e .[bench])':>28}")
        else:
            print(f"    {name:44}{size:>10,}{size / rate:>10.2f}{size / ref_bytes:>8.2f}")
    ok = True
    for run in range(args.runs):
        cmd = _command(ledger, args, seed=run + 1)
        new = _in_process(ledger, args, (1, 2), seed=run + 1)
        old = _in_process(ledger, args, (1,), seed=run + 1)
        if not (cmd["same"] and new["same"] and old["same"]):
            print("  ERROR: a ledger read differs from the ledger served")
            return 1
        ratio = cmd["total"] / ref_time
        ok = ok and ratio <= GOAL
        st = new["status"]
        print(
            f"  run {run + 1}: protocol {st.protocol_version}, {st.compression}, frames up to "
            f"{st.max_frame} bytes, window {st.window}; record layout {st.record_layout} "
            f"(and 1, as an older agent sends)"
        )
        print(head)
        print(
            f"    {'custodian-app read-atm, whole command':44}{cmd['out']:>10,}{cmd['total']:>10.2f}{ratio:>8.2f}"
        )
        for label, r in (("layout 2", new), ("layout 1", old)):
            print(
                f"    {'in process, ' + label + ': session open + status':44}{'':>10}"
                f"{r['connected']:>10.2f}{r['connected'] / ref_time:>8.2f}"
            )
            print(
                f"    {'in process, ' + label + ': core (totals+units+tx)':44}{'':>10}"
                f"{r['core']:>10.2f}{r['core'] / ref_time:>8.2f}"
            )
            print(
                f"    {'in process, ' + label + ': whole cycle incl. notes':44}{r['out']:>10,}"
                f"{r['total']:>10.2f}{r['total'] / ref_time:>8.2f}"
            )
        print(
            f"    (layout 2: ATM -> application {new['out']:,} bytes, application -> ATM {new['in']:,} "
            f"bytes, line busy {new['out'] / rate:.2f} s)"
        )
    print(f"  goal: whole command <= {GOAL}x zlib-9 JSON at line rate: {'MET' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
