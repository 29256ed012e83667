"""The demo ends on Ctrl-C and on SIGTERM, and takes its temporary folder (database and all)
with it, as the README says."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest

DEADLINE_S = 60  # the demo starts two simulators and a window on a busy machine


def read_until(proc, pattern: str, seen: list[str]) -> re.Match:
    """Read the demo's stderr line by line until ``pattern`` shows (or it ends, or the deadline)."""
    deadline = time.monotonic() + DEADLINE_S
    buffer = b""
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([proc.stderr], [], [], deadline - time.monotonic())
        if not ready:
            break
        chunk = os.read(proc.stderr.fileno(), 4096)
        if not chunk:
            break
        buffer += chunk
        *lines, rest = buffer.split(b"\n")
        buffer = rest
        for line in lines:
            text = line.decode("utf-8", "replace")
            seen.append(text)
            m = re.search(pattern, text)
            if m:
                return m
    raise AssertionError(f"the demo never said {pattern!r}; it said:\n" + "\n".join(seen))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_demo_stops_on_a_signal_and_removes_its_folder(tmp_path, signum):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TMPDIR": str(tmp_path)}
    env.pop("CUSTODIAN_QUIT_AFTER_SHOW", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian_app", "demo", "--language", "en", "--transactions", "40"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    seen: list[str] = []
    try:
        home = read_until(proc, r"data in (\S+)", seen).group(1)
        read_until(proc, r"the window is open", seen)
        assert os.path.isdir(home) and home.startswith(str(tmp_path))
        assert any(
            n.endswith((".db", ".sqlite", ".sqlite3")) for _d, _s, files in os.walk(home) for n in files
        )
        proc.send_signal(signum)
        code = proc.wait(DEADLINE_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert code == 128 + signum, "\n".join(seen)
    assert not os.path.exists(home), "the demo's temporary folder was left behind"
