"""``custodian-app clear`` (the wizard's flow without a window) and ``demo`` run as commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from custodian_app import clearing
from custodian_app.domain import formats

ROOT = Path(__file__).resolve().parents[2]


def run(*args, timeout=180, stdin="alice123\nbob12345\n"):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "custodian_app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def clear_args(world, tmp_path, *extra):
    return (
        "clear",
        "--port",
        world.device,
        "--url",
        world.url,
        "--out",
        str(tmp_path / "result.json"),
        "--pdf",
        str(tmp_path / "report.pdf"),
        "--custodians",
        "alice,bob",
        "--password-stdin",
        *extra,
    )


def test_clear_a_balanced_cycle_exits_0_and_records_the_session(
    world_factory, make_ctx, bank_settings, tmp_path
):
    world = world_factory(faults="none")
    counts = tmp_path / "counts.json"
    counts.write_bytes(formats.dumps(formats.counts_to_dict(world.scenario.counts)))
    done = run(*clear_args(world, tmp_path, "--counts", str(counts)))
    assert done.returncode == 0, done.stderr
    result = formats.parse_result((tmp_path / "result.json").read_bytes())
    assert result.balanced and result.cash_position.counted == world.scenario.counts.total
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "report.pdf").pages)
    assert "headless" in text and world.scenario.atm.cycle_id in text

    store = clearing.open_store()
    try:
        (info,) = store.history()
        actions = [a.action for a in store.audit_entries(session_id=info.id)]
        kinds = {d.kind for d in store.evidence(info.id)}
    finally:
        store.close()
    assert info.state == "reconciled" and info.custodians == ("alice", "bob") and info.balanced
    assert "headless_clearing" in actions
    assert {"atm-ledger", "counts", "host-ledger", "clearing-result", "report-pdf"} <= kinds


def test_clear_with_mismatches_exits_1(world_factory, make_ctx, bank_settings, tmp_path):
    world = world_factory(faults="realistic")
    done = run(*clear_args(world, tmp_path))
    assert done.returncode == 1, done.stderr
    doc = json.loads((tmp_path / "result.json").read_text(encoding="utf-8"))
    assert len(doc["mismatches"]) == sum(world.scenario.expected.values())
    assert "mismatches" in done.stderr


def test_clear_refuses_bad_input_with_2_and_writes_nothing(world_factory, make_ctx, bank_settings, tmp_path):
    world = world_factory(faults="none")
    bad = tmp_path / "counts.json"
    bad.write_text('{"format": "counts/1", "units": {"CST1": 100.5}}', encoding="utf-8")
    done = run(*clear_args(world, tmp_path, "--counts", str(bad)))
    assert done.returncode == 2 and "counts.json" in done.stderr
    same = run(
        "clear",
        "--port",
        world.device,
        "--url",
        world.url,
        "--out",
        str(tmp_path / "r.json"),
        "--pdf",
        str(tmp_path / "r.pdf"),
        "--custodians",
        "alice,alice",
        "--password-stdin",
        stdin="alice123\nalice123\n",
    )
    assert same.returncode == 2 and "different" in same.stderr
    wrong = run(*clear_args(world, tmp_path), stdin="alice123\nnot-bobs\n")
    assert wrong.returncode == 2 and "password" in wrong.stderr
    nopw = run(*clear_args(world, tmp_path)[:-1], stdin="")  # no --password-stdin, no terminal
    assert nopw.returncode == 2 and "--password-stdin" in nopw.stderr
    assert not (tmp_path / "result.json").exists() and not (tmp_path / "r.json").exists()


def test_clear_exits_3_when_the_backend_is_down(world_factory, make_ctx, bank_settings, tmp_path):
    world = world_factory(faults="none")
    world.url = "http://127.0.0.1:9"
    done = run(*clear_args(world, tmp_path))
    assert done.returncode == 3 and "backend" in done.stderr
    assert not (tmp_path / "report.pdf").exists()


def test_the_demo_opens_and_quits_after_showing(tmp_path):
    done = run("demo", "--quit-after-show", "--transactions", "60", "--home", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stderr and "ATM on" in done.stderr


def test_the_application_opens_and_quits_after_showing():
    done = run("--version")
    assert done.returncode == 0
    done = run("app", "--quit-after-show")
    assert done.returncode == 0, done.stderr
