"""Benchmark: the ``custodian-app reconcile`` command against the reference a data engineer would
reach for (orjson parsing + datacompy on pandas, ``join_columns=['tsn']``), whole process
against whole process, in the same run.

    .venv/bin/python benchmarks/bench_reconcile.py [--sizes 10000,100000] [--repeat N] [--data DIR]

For each size a cycle with the banknote trail (~9 notes a transaction) and a realistic handful
of faults is generated once (kept in --data). Then, N rounds, the two sides interleaved (the
order alternates from round to round), each a fresh process started and waited for the same way:

* ours: the command as a user runs it (the console script: ``custodian-app reconcile --atm
  --host --out --quiet``), which also checks every field and writes the clearing result;
* reference: ``python -c`` a script that imports orjson, pandas and datacompy, reads both
  files with ``orjson.loads``, makes a ``pandas.DataFrame`` of each side's transactions and
  compares them with ``datacompy.PandasCompare(atm_df, host_df, join_columns=['tsn'])``.

Each run's CPU time (user + system of the child, from ``os.wait4``) and wall time are kept;
the table gives the best and the median of N. CPU time is the figure to compare on a shared
machine (wall time is mostly waiting for a core there). The goal: our whole command at 10,000
transactions under 0.15 s.

Apart from the whole processes, each side's work alone (reading and comparing, without the
interpreter's start and the imports) is measured inside a child process with
``time.process_time``, the best of N, for the reader who wants to see where the time goes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_10K = 0.15  # seconds, the whole command at 10,000 transactions

# The reference as a whole process; the same script, with --work, times its work alone.
REFERENCE = """
import sys, time, warnings
warnings.simplefilter("ignore")
import orjson
import datacompy
import pandas as pd
t0 = time.process_time()
with open(sys.argv[1], "rb") as fh:
    atm = orjson.loads(fh.read())
with open(sys.argv[2], "rb") as fh:
    host = orjson.loads(fh.read())
compare = datacompy.PandasCompare(pd.DataFrame(atm["transactions"]), pd.DataFrame(host["transactions"]),
                                  join_columns=["tsn"])
if "--work" in sys.argv:
    print(time.process_time() - t0)
"""

# Our work alone, in-process: the same calls the command makes, after the imports.
OURS_WORK = """
import os, sys, tempfile, time
from pathlib import Path
from custodian_app.support import files
from custodian_app.support.catalogue import load_catalogue
from custodian_app.cli.domain_cmds import _mapped
from custodian_app.domain import formats
from custodian_app.domain.reconcile import reconcile
if os.environ.get("CUSTODIAN_PURE_PYTHON"):  # as custodian_app.cli.main does
    formats.native = None
catalogue = load_catalogue()
t0 = time.process_time()
with _mapped(sys.argv[1]) as raw:
    atm = formats.parse_atm_ledger(raw, sys.argv[1])
with _mapped(sys.argv[2]) as raw:
    host = formats.parse_host_ledger(raw, sys.argv[2])
result = reconcile(atm, host, catalogue=catalogue)
with tempfile.TemporaryDirectory() as tmp:
    files.write_atomic(Path(tmp) / "r.json", formats.dumps(formats.result_to_dict(result), indent=True))
print(time.process_time() - t0)
"""


def measure(args: list[str]) -> tuple[float, float, int, str]:
    """(CPU seconds user + system, wall seconds, peak RSS in MB, stdout) of one child process."""
    # Output to files, not pipes: os.wait4 (which gives the child's own CPU time) must reap the
    # child, and a child blocked on a full pipe would never exit.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if code not in (0, 1):  # reconcile: 0 balanced, 1 mismatches
            raise SystemExit(f"failed ({code}): {' '.join(args)}\n{err.read().decode(errors='replace')}")
        return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss // 1024, out.read().decode()


def ensure_data(base: Path, size: int) -> Path:
    folder = base / f"n{size}"
    if not ((folder / "atm.json").exists() and (folder / "host.json").exists()):
        # The generator in its own process: a parent that had built a big cycle would make every
        # child forked after it look bigger (Linux counts the parent's pages in ru_maxrss).
        subprocess.run(
            [
                sys.executable,
                "-m",
                "custodian_app",
                "generate",
                "--seed",
                "2026",
                "--transactions",
                str(size),
                "--faults",
                "realistic",
                "--out",
                str(folder),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return folder


def summary(runs: list[tuple[float, float, int]]) -> dict[str, float]:
    cpu, wall, peak = zip(*runs, strict=False)
    return {
        "cpu_best": min(cpu),
        "cpu_median": statistics.median(cpu),
        "wall_best": min(wall),
        "wall_median": statistics.median(wall),
        "peak": max(peak),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=9, metavar="N", help="rounds per size (default 9)")
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "custodian-bench-reconcile"))
    ap.add_argument(
        "--pure-python",
        action="store_true",
        help="ours without the C scanner (CUSTODIAN_PURE_PYTHON=1), as on a machine "
        "where it could not be built",
    )
    args = ap.parse_args()

    py = sys.executable
    # The command as a user runs it: the console script, with the package's bytecode compiled
    # (as pip, scripts/setup and the bundle have it).
    subprocess.run(
        [py, "-m", "compileall", "-q", str(ROOT / "custodian_app")], check=True, stdout=subprocess.DEVNULL
    )
    script = Path(py).with_name("custodian-app")
    command = [str(script)] if script.exists() else [py, "-m", "custodian_app"]
    if args.pure_python:
        os.environ["CUSTODIAN_PURE_PYTHON"] = "1"
    from custodian_app.domain import formats

    native = formats.native is not None and not args.pure_python
    print(
        f"ledger scanner: {'C accelerator' if native else 'pure Python (no C accelerator)'}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"  # our log and settings stay out of the user's folder
        os.environ["CUSTODIAN_HOME"] = str(home)
        for size in (int(s) for s in args.sizes.split(",")):
            data = ensure_data(Path(args.data), size)
            atm, host = str(data / "atm.json"), str(data / "host.json")
            ours_cmd = [
                *command,
                "reconcile",
                "--atm",
                atm,
                "--host",
                host,
                "--out",
                str(Path(tmp) / "result.json"),
                "--quiet",
            ]
            ref_cmd = [py, "-c", REFERENCE, atm, host]
            ours, ref, ours_work, ref_work = [], [], [], []
            for i in range(args.repeat):
                pair = [(ours_cmd, ours), (ref_cmd, ref)]
                for cmd, runs in pair if i % 2 == 0 else pair[::-1]:
                    runs.append(measure(cmd)[:3])
                ours_work.append(float(measure([py, "-c", OURS_WORK, atm, host])[3]))
                ref_work.append(float(measure([*ref_cmd, "--work"])[3]))
            o, r = summary(ours), summary(ref)
            rows.append((size, o, r, min(ours_work), min(ref_work)))
            print(
                f"{size:,} transactions, {args.repeat} rounds (load average now {os.getloadavg()[0]:.1f}):\n"
                f"  ours      CPU best {o['cpu_best']:.3f} s, median {o['cpu_median']:.3f} s; wall best "
                f"{o['wall_best']:.3f} s, median {o['wall_median']:.3f} s; peak {o['peak']} MB\n"
                f"  reference CPU best {r['cpu_best']:.3f} s, median {r['cpu_median']:.3f} s; wall best "
                f"{r['wall_best']:.3f} s, median {r['wall_median']:.3f} s; peak {r['peak']} MB\n"
                f"  work alone (no start-up, no imports): ours {min(ours_work):.3f} s, reference "
                f"{min(ref_work):.3f} s CPU",
                flush=True,
            )
            if size == 10_000:
                met = o["cpu_best"] < GOAL_10K
                print(
                    f"  goal: whole command under {GOAL_10K} s at 10,000: "
                    f"{'met' if met else 'MISSED'} (best {o['cpu_best']:.3f} s CPU, "
                    f"{o['wall_best']:.3f} s wall)"
                )

    print(
        "\n| transactions | ours: whole command, CPU best / median | wall best / median | peak | "
        "reference: whole process, CPU best / median | wall best / median | peak | speed-up (CPU best) | "
        "work alone: ours / reference |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, o, r, ow, rw in rows:
        print(
            f"| {size:,} | {o['cpu_best']:.3f} / {o['cpu_median']:.3f} s | {o['wall_best']:.3f} / "
            f"{o['wall_median']:.3f} s | {o['peak']} MB | {r['cpu_best']:.3f} / {r['cpu_median']:.3f} s | "
            f"{r['wall_best']:.3f} / {r['wall_median']:.3f} s | {r['peak']} MB | "
            f"**{r['cpu_best'] / o['cpu_best']:.1f}×** | {ow:.3f} / {rw:.3f} s |"
        )


if __name__ == "__main__":
    main()
