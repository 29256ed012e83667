"""The window's responsiveness while the wizard reads a large ledger.

Runs the ATM simulator in its own process (as the ATM is in the field) on a pseudo-terminal,
reads its ledger through the application's serial thread twice — with the application's
collector policy (``workers.quiet_gc``: the cyclic GC held off during heavy jobs, survivors
frozen) and, as the reference, with Python's default collector — and prints the longest gap
between 10 ms QTimer ticks on the GUI thread during each read, side by side.

    .venv/bin/python benchmarks/bench_gui.py [--transactions N]
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from custodian_app.domain import formats  # noqa: E402
from custodian_app.domain.generator import generate  # noqa: E402
from custodian_app.gui import workers  # noqa: E402


class _NoPolicy:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def read_once(app, link: str, policy) -> tuple[float, float, int]:
    """(worst gap in s, read time in s, records) of one read through a SerialIoThread."""
    from custodian_app.link.client import AtmClient

    runner = workers.SerialIoThread()
    ticks: list[float] = []
    done: dict = {}

    def op(ctx):
        with AtmClient(link) as client:
            client.connect()
            with policy:
                return client.read_ledger(progress=lambda *a: ctx.progress(a), cancel=ctx.cancel)

    job = workers.Job(None, op, lambda ledger: done.setdefault("ledger", ledger))
    job.failure(lambda exc: done.setdefault("error", exc))
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: "ledger" not in done and ticks.append(time.perf_counter()))
    timer.start()
    start = time.perf_counter()
    job.run(runner)
    while not done:
        app.processEvents()
        time.sleep(0.002)  # a benchmark's own loop, not a test
    elapsed = time.perf_counter() - start
    timer.stop()
    runner.shutdown()
    if "error" in done:
        raise done["error"]
    ledger = done["ledger"]
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    return max(gaps), elapsed, len(ledger.transactions) + len(ledger.notes or ())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=8000)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        scenario = generate(11, args.transactions, "realistic")
        ledger_path = Path(tmp) / "atm.json"
        ledger_path.write_bytes(formats.dumps(formats.atm_ledger_to_dict(scenario.atm)))
        del scenario
        gc.collect()
        link = str(Path(tmp) / "atm")
        proc = subprocess.Popen([sys.executable, "-m", "custodian_app", "simulate-atm", "--ledger",
                                 str(ledger_path), "--link", link, "--baud", "4000000"], cwd=ROOT,
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        try:
            first = proc.stderr.readline()
            if "simulating ATM" not in first:
                print(first + proc.stderr.read(), file=sys.stderr)
                return 1
            drain = threading.Thread(target=proc.stderr.read)
            drain.start()
            results = {}
            for name, policy in (("reference: default collector", _NoPolicy()),
                                 ("custodian_app: quiet_gc", workers.quiet_gc)):
                results[name] = read_once(app, link, policy)
            gc.unfreeze()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
            proc.stderr.close()
    print(f"{'':32} {'worst GUI gap':>14} {'read time':>10} {'records':>9}")
    for name, (worst, elapsed, records) in results.items():
        print(f"{name:32} {worst * 1000:11.0f} ms {elapsed:8.2f} s {records:9,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
