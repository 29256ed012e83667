"""Benchmark: ``custodian-app reconcile`` end to end against the reference a data engineer would
reach for (orjson parsing + datacompy on pandas, ``join_columns=['tsn']``), in the same run.

    .venv/bin/python benchmarks/bench_reconcile.py [--sizes 10000,100000,1000000] [--data DIR]

For each size a cycle with the banknote trail (~9 notes a transaction) and a realistic handful
of faults is generated once (kept in --data). Then, each in its own fresh process:

* ours: the real command (``python -m custodian_app reconcile --atm --host --out``), wall
  time from spawn to exit, and the same work in-process split into phases;
* reference: ``orjson.loads`` of both files, ``pandas.DataFrame`` of the transactions,
  ``datacompy.PandasCompare(atm_df, host_df, join_columns=['tsn'])``.

Times are CPU seconds (user + system): on a shared machine wall time is mostly waiting for a
core; wall times are printed too. Ours counts the whole process (interpreter start, imports,
reading, checking, reconciling, writing); the reference counts only its parse and compare.
Peak memory is each child's ru_maxrss. The goal (issue 2): the whole command at least 2x
faster than the reference's parsing + compare alone (DataFrame building not counted).
--repeat N keeps each figure's best of N runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run_child(args: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB as the child reports it, stdout) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"child failed ({proc.returncode}): {' '.join(args)}\n{err.decode()}")
    peak = int(out.decode().rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) // 1024 if b"PEAK_RSS_KB=" in out else -1
    return wall, peak, out.decode()


def _spawn_measured(args: list[str]) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak RSS (MB) of the real command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def child_ours(data: Path) -> None:
    import resource

    from custodian_app import files
    from custodian_app.catalogue_data import load_catalogue
    from custodian_app.domain import formats
    from custodian_app.domain.reconcile import reconcile

    if os.environ.get("CUSTODIAN_PURE_PYTHON"):
        from custodian_app.domain import fastpath

        fastpath.native = None
    cat = load_catalogue()
    t = {}
    clock = time.process_time  # CPU time: on a shared machine wall time is mostly waiting
    t0 = clock()
    atm = formats.parse_atm_ledger(files.read_bytes(data / "atm.json"), "atm.json", lazy=True)
    t1 = clock()
    host = formats.parse_host_ledger(files.read_bytes(data / "host.json"), "host.json", lazy=True)
    t2 = clock()
    result = reconcile(atm, host, catalogue=cat)
    t3 = clock()
    with tempfile.TemporaryDirectory() as tmp:
        files.write_atomic(Path(tmp) / "result.json", formats.dumps(formats.result_to_dict(result), indent=True))
    t4 = clock()
    t.update(parse_atm=t1 - t0, parse_host=t2 - t1, reconcile=t3 - t2, write=t4 - t3,
             mismatches=len(result.mismatches))
    print(json.dumps(t))
    print(f"PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


def child_reference(data: Path) -> None:
    import resource
    import warnings

    import orjson

    warnings.simplefilter("ignore")
    clock = time.process_time
    w0, t0 = time.perf_counter(), clock()
    atm = orjson.loads((data / "atm.json").read_bytes())
    host = orjson.loads((data / "host.json").read_bytes())
    t1 = clock()
    import datacompy
    import pandas as pd

    t1b = clock()
    atm_df = pd.DataFrame(atm["transactions"])
    host_df = pd.DataFrame(host["transactions"])
    t2 = clock()
    cmp = datacompy.PandasCompare(atm_df, host_df, join_columns=["tsn"])
    t3 = clock()
    print(json.dumps({"parse": t1 - t0, "dataframes": t2 - t1b, "compare": t3 - t2,
                      "wall_total": time.perf_counter() - w0,
                      "only_atm": len(cmp.df1_unq_rows), "only_host": len(cmp.df2_unq_rows)}))
    print(f"PEAK_RSS_KB={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


def ensure_data(base: Path, size: int) -> Path:
    d = base / f"n{size}"
    if (d / "atm.json").exists() and (d / "host.json").exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    # In a child process: the peak memory figures are the children's ru_maxrss, and Linux
    # counts in a child the memory of the parent it was forked from; a parent that had built
    # a million-transaction cycle would inflate every figure after it.
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "generate",
                    "--sizes", str(size), str(d)], cwd=ROOT, check=True)
    print(f"  generated {size:,} transactions ({(d / 'atm.json').stat().st_size / 1e6:.0f} MB ATM "
          f"ledger) in {time.perf_counter() - t0:.1f} s", flush=True)
    return d


def child_generate(data: Path, size: int) -> None:
    from custodian_app.domain.generator import build_documents

    docs = build_documents(2026, size, "realistic")
    (data / "atm.json").write_bytes(docs.atm)
    (data / "host.json").write_bytes(docs.host)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--data", default=str(Path(tempfile.gettempdir()) / "custodian-bench"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--pure-python", action="store_true",
                    help="measure ours without the C scanner (CUSTODIAN_PURE_PYTHON=1), as on a "
                         "machine where it could not be built")
    ap.add_argument("--child", choices=["ours", "reference", "generate"])
    ap.add_argument("dir", nargs="?")
    args = ap.parse_args()
    if args.child == "generate":
        child_generate(Path(args.dir), int(args.sizes))
        return
    if args.child:
        (child_ours if args.child == "ours" else child_reference)(Path(args.dir))
        return

    py = sys.executable
    me = str(Path(__file__).resolve())
    # The command as a user runs it: the console script, with the package's bytecode compiled
    # (as pip and the bundle have it; scripts/setup compiles it too, and PYTHONDONTWRITEBYTECODE
    # would otherwise make every run compile the sources again).
    subprocess.run([py, "-m", "compileall", "-q", str(ROOT / "custodian_app")], check=True,
                   stdout=subprocess.DEVNULL)
    script = Path(py).with_name("custodian-app")
    command = [str(script)] if script.exists() else [py, "-m", "custodian_app"]
    from custodian_app.domain import fastpath

    if args.pure_python:
        os.environ["CUSTODIAN_PURE_PYTHON"] = "1"  # the command's switch; the phases child reads it too
    native = fastpath.native is not None and not args.pure_python
    print(f"ledger scanner: {'C accelerator' if native else 'pure Python (no C accelerator)'}")
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        print(f"size {size:,}", flush=True)
        d = ensure_data(Path(args.data), size)
        best: dict[str, float] = {}
        walls: dict[str, float] = {}
        peaks: dict[str, int] = {}
        phases: dict = {}
        ref: dict = {}
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                wall, cpu, peak = _spawn_measured([*command, "reconcile", "--atm",
                                                   str(d / "atm.json"), "--host", str(d / "host.json"),
                                                   "--out", str(Path(tmp) / "r.json"), "--quiet"])
            if cpu < best.get("command", 1e9):
                best["command"], peaks["command"], walls["command"] = cpu, peak, wall
            _, peak, out = _run_child([py, me, "--child", "ours", str(d)])
            p = json.loads(out.splitlines()[0])
            if not phases or sum(v for k, v in p.items() if k != "mismatches") < sum(
                    v for k, v in phases.items() if k != "mismatches"):
                phases, peaks["phases"] = p, peak
            _, peak, out = _run_child([py, me, "--child", "reference", str(d)])
            r = json.loads(out.splitlines()[0])
            if not ref or r["parse"] + r["compare"] < ref["parse"] + ref["compare"]:
                ref, peaks["reference"] = r, peak
        ref_goal = ref["parse"] + ref["compare"]
        ratio = ref_goal / best["command"]
        rows.append((size, best["command"], phases, ref, ratio, peaks))
        print(f"  ours: command {best['command']:.3f} s CPU ({walls['command']:.3f} s wall, peak "
              f"{peaks['command']} MB); in-process "
              f"parse ATM {phases['parse_atm']:.3f} + host {phases['parse_host']:.3f} + reconcile "
              f"{phases['reconcile']:.3f} + write {phases['write']:.3f} s; {phases['mismatches']} mismatches")
        print(f"  reference: orjson {ref['parse']:.3f} + DataFrames {ref['dataframes']:.3f} + datacompy "
              f"{ref['compare']:.3f} s CPU ({ref['wall_total']:.2f} s wall in all, peak {peaks['reference']} MB)")
        print(f"  orjson + datacompy = {ref_goal:.3f} s; ours {best['command']:.3f} s -> {ratio:.2f}x "
              f"({'goal met' if ratio >= 2 else 'GOAL MISSED'}: >= 2x)", flush=True)

    print("\n| transactions | ours: whole command, CPU s | ours peak (MB) | orjson parse, CPU s | "
          "datacompy compare, CPU s | reference parse+compare, CPU s | reference peak (MB) | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, cmd, phases, ref, ratio, peaks in rows:
        print(f"| {size:,} | {cmd:.3f} | {peaks['command']} | {ref['parse']:.3f} | {ref['compare']:.3f} | "
              f"{ref['parse'] + ref['compare']:.3f} | {peaks['reference']} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
