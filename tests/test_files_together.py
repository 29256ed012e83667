"""Leftovers of a killed run: a clearing's result and report are written both or neither, and
stale ".part" files are removed at the next write (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from custodian_app.support import files


def test_a_failure_while_writing_the_second_leaves_neither(tmp_path):
    result, report = tmp_path / "result.json", tmp_path / "missing-folder" / "report.pdf"
    with pytest.raises(OSError):
        files.write_together([(result, b'{"balanced": true}'), (report, b"%PDF-1.7 ...")])
    assert list(tmp_path.iterdir()) == []  # no result, no .part


def test_both_are_written_when_both_can_be(tmp_path):
    result, report = tmp_path / "result.json", tmp_path / "report.pdf"
    files.write_together([(result, b"{}"), (report, b"%PDF")])
    assert (result.read_bytes(), report.read_bytes()) == (b"{}", b"%PDF")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf", "result.json"]


def test_a_process_killed_while_writing_leaves_no_target_and_its_part_is_cleaned_later(tmp_path):
    # A real kill -9 in the middle of the write: the child stops inside write_together, after
    # the result's part is on disk and while the report's is being written.
    script = (
        "import os, signal, sys\n"
        "from custodian_app.support import files\n"
        "real = os.fsync\n"
        "def fsync(fd, n=[0]):\n"
        "    real(fd); n[0] += 1\n"
        "    if n[0] == 2: os.kill(os.getpid(), signal.SIGKILL)\n"
        "os.fsync = fsync\n"
        "files.write_together([(sys.argv[1], b'{}'), (sys.argv[2], b'%PDF' * 1000)])\n"
    )
    result, report = tmp_path / "result.json", tmp_path / "report.pdf"
    done = subprocess.run(
        [sys.executable, "-c", script, str(result), str(report)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        timeout=60,
    )
    assert done.returncode == -9
    assert not result.exists() and not report.exists()  # neither
    (stale,) = tmp_path.glob(".result.json.*.part")
    (fresh,) = tmp_path.glob(".report.pdf.*.part")
    # the next run's write removes what is stale beside its target, and keeps what a live
    # writer may still be writing (here: the report's part, as young as a write in progress)
    old = time.time() - files.STALE_PART_SECONDS - 60
    os.utime(stale, (old, old))
    files.write_atomic(result, b'{"again": true}')
    files.write_atomic(report, b"%PDF")
    assert {p.name for p in tmp_path.iterdir()} == {"result.json", "report.pdf", fresh.name}
