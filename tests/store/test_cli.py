"""The store's commands, run as a user runs them: a subprocess with --db."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from tests.cli import run_custodian_app
from tests.store.documents import PDF, drop_guards, make_clearing, serial_for


def run_cli(db_url, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return run_custodian_app(*args, "--db", db_url, input=stdin, timeout=120)


@pytest.fixture
def cleared(store, crew):
    """One signed clearing with a report, as the GUI leaves it."""
    c = make_clearing("NJ-0001", day="2026-11-03")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    store.record_counts(s.id, c.counts, actor=crew.bob)
    store.record_host_ledger(s.id, c.host, actor=crew.alice)
    store.record_result(s.id, c.result, actor=crew.alice)
    store.add_remark(s.id, "RETRACTED", "000001", "checked with the retract bin", actor=crew.bob)
    store.mark_reviewed(s.id, actor=crew.bob)
    store.record_report(s.id, PDF, actor=crew.alice)
    store.sign_off(s.id, crew.carol)
    return s.id, c


def test_users_add_list_disable(cli, db_url, store):
    done = cli(
        db_url,
        "users",
        "add",
        "erin",
        "--role",
        "supervisor",
        "--name",
        "Erin Xu",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert done.returncode == 0, done.stderr
    assert store.authenticate("erin", "a long enough password").role == "supervisor"
    again = cli(
        db_url,
        "users",
        "add",
        "erin",
        "--role",
        "custodian",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert again.returncode == 2 and "exists already" in again.stderr
    weak = cli(db_url, "users", "add", "fay", "--role", "custodian", "--password-stdin", stdin="x\n")
    assert weak.returncode == 2 and "at least 8" in weak.stderr
    from custodian_app.store import AccountLocked, WrongPassword

    for _ in range(5):
        with pytest.raises((WrongPassword, AccountLocked)):
            store.authenticate("erin", "forgotten it")
    with pytest.raises(AccountLocked):
        store.authenticate("erin", "a long enough password")
    store.add_user("root", "the administrator's password", "administrator")
    reset = cli(
        db_url,
        "users",
        "set-password",
        "erin",
        "--by",
        "root",
        "--password-stdin",
        stdin="the administrator's password\na brand new password\n",
    )
    assert reset.returncode == 0, reset.stderr
    assert store.authenticate("erin", "a brand new password").username == "erin"  # unlocked too
    assert cli(db_url, "users", "disable", "erin").returncode == 0
    listing = cli(db_url, "users", "list")
    assert listing.returncode == 0
    assert any(
        line.split()[:2] == ["erin", "supervisor"] and "disabled" in line
        for line in listing.stdout.splitlines()
    )
    added = [
        e
        for e in store.audit_entries()
        if e.action in ("user_added", "password_set", "user_disabled") and e.detail.get("username") == "erin"
    ]
    assert [e.actor if e.action == "password_set" else e.actor.startswith("cli:") for e in added] == [
        True,
        "root",
        True,
    ]
    for secret in ("a long enough password", "a brand new password"):
        assert secret not in repr(store.audit_entries())
    assert (
        cli(
            db_url, "users", "add", "x", "--role", "teller", "--password-stdin", stdin="whatever123\n"
        ).returncode
        == 2
    )


def test_history_and_show(cli, db_url, cleared):
    sid, _ = cleared
    out = cli(db_url, "history", "--terminal", "NJ-0001")
    assert out.returncode == 0, out.stderr
    row = out.stdout.splitlines()[1].split()
    assert row[:4] == [str(sid), "NJ-0001", "NJ-0001-20261103", "signed"]
    assert "alice+bob" in row and "carol" in row and out.stdout.rstrip().endswith("balanced")
    assert "no clearings of NJ-0404" in cli(db_url, "history", "--terminal", "NJ-0404").stdout
    show = cli(db_url, "session", "show", str(sid))
    assert show.returncode == 0 and "reviewed -> signed  by carol" in show.stdout
    assert "checked with the retract bin" in show.stdout


def test_session_export_writes_the_evidence_bundle(cli, db_url, cleared, tmp_path):
    sid, c = cleared
    bundle = tmp_path / "bundle"
    done = cli(db_url, "session", "export", str(sid), str(bundle))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    files = {f["name"]: f for f in manifest["files"]}
    assert set(files) == {
        "atm-ledger.json",
        "host-ledger.json",
        "counts.json",
        "clearing-result.json",
        "report.pdf",
        "audit.jsonl",
    }
    for name, f in files.items():
        assert hashlib.sha256((bundle / name).read_bytes()).hexdigest() == f["sha256"]
    assert (bundle / "atm-ledger.json").read_bytes() == c.atm
    assert (bundle / "report.pdf").read_bytes() == PDF
    assert (
        manifest["verification"]["ok"]
        and manifest["evidence_digest"] == manifest["evidence_digest_recomputed"]
    )
    assert manifest["session"]["custodians"] == ["alice", "bob"]
    audit = [json.loads(line) for line in (bundle / "audit.jsonl").read_text().splitlines()]
    assert [a["action"] for a in audit][0] == "session_opened"
    assert audit[-1]["action"] == "export" and audit[-1]["seq"] == manifest["export_audit_seq"]
    assert manifest["audit_head"]["seq"] >= audit[-1]["seq"]
    assert len(manifest["audit_head"]["hash"]) == 64
    # Never over an existing bundle.
    again = cli(db_url, "session", "export", str(sid), str(bundle))
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    assert cli(db_url, "session", "export", "999", str(tmp_path / "b2")).returncode == 2


def test_session_verify_checks_the_digest_and_the_printed_pdf(cli, db_url, cleared, store, tmp_path):
    sid, c = cleared
    good = tmp_path / "report.pdf"
    good.write_bytes(PDF)
    done = cli(db_url, "session", "verify", str(sid), "--pdf", str(good))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "report version 1" in done.stdout
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(PDF.replace(b"stand-in", b"stand_in"))
    bad = cli(db_url, "session", "verify", str(sid), "--pdf", str(forged))
    assert bad.returncode == 1 and "is not a report kept" in bad.stdout
    drop_guards(store)
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE evidence SET content = :c WHERE kind = 'host-ledger'"), {"c": c.host + b" "}
        )
    broken = cli(db_url, "session", "verify", str(sid))
    assert broken.returncode == 1 and "host-ledger version 1 does not match" in broken.stdout


def test_audit_verify_exit_status(cli, db_url, cleared, store):
    sid, _ = cleared
    shown = cli(db_url, "audit", "show", "--session", str(sid))
    lines = [json.loads(line) for line in shown.stdout.splitlines()]
    assert shown.returncode == 0 and lines[0]["action"] == "session_opened"
    assert {line["session_id"] for line in lines} == {sid}
    assert cli(db_url, "audit", "show", "--since", "100000").returncode == 1
    ok = cli(db_url, "audit", "verify")
    assert ok.returncode == 0 and "audit log verified" in ok.stdout
    drop_guards(store)
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET detail = '{}' WHERE action = 'remark'"))
    bad = cli(db_url, "audit", "verify")
    assert bad.returncode == 1 and "(remark): content does not match its hash" in bad.stdout


def test_trace_commands(cli, db_url, cleared):
    serial = serial_for("NJ-0001", 2, 1)
    found = cli(db_url, "trace-note", serial)
    assert found.returncode == 0 and serial in found.stdout and "622202******1002" in found.stdout
    assert cli(db_url, "trace-note", "ZZ99999999").returncode == 1
    by_card = cli(db_url, "trace-card", "622202******1003", "--from", "2026-11-03", "--to", "2026-11-03")
    assert by_card.returncode == 0 and by_card.stdout.count("000003") == 2
    assert (
        cli(db_url, "trace-card", "622202******1003", "--from", "2026-12-01", "--to", "2026-12-31").returncode
        == 1
    )
    usage = cli(db_url, "trace-card", "622202******1003", "--from", "yesterday", "--to", "today")
    assert usage.returncode == 2 and "is not a date" in usage.stderr
    full = cli(db_url, "trace-card", "6222021234561004", "--from", "2026-11-03", "--to", "2026-11-03")
    assert full.returncode == 2 and "6222021234561004" not in full.stderr + full.stdout


def test_a_card_number_typed_where_a_date_belongs_is_not_echoed(cli, db_url, cleared):
    typo = cli(db_url, "trace-card", "622202******1003", "--from", "6222021234561004", "--to", "2026-11-03")
    assert typo.returncode == 2 and "is not a date" in typo.stderr
    assert "6222021234561004" not in typo.stderr + typo.stdout


def test_the_real_executable_for_every_command_group(db_url, cleared, store, tmp_path):
    sid, _ = cleared
    added = run_cli(
        db_url,
        "users",
        "add",
        "gus",
        "--role",
        "custodian",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    assert store.get_user("gus").role == "custodian"
    assert "NJ-0001" in run_cli(db_url, "history").stdout
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(PDF)
    assert run_cli(db_url, "session", "verify", str(sid), "--pdf", str(pdf)).returncode == 0
    assert run_cli(db_url, "audit", "verify").returncode == 0
    assert run_cli(db_url, "trace-note", "ZZ99999999").returncode == 1
    usage = run_cli(db_url, "trace-card", "622202******1003", "--from", "x", "--to", "y")
    assert usage.returncode == 2 and "is not a date" in usage.stderr


def test_a_supervisor_abandons_a_clearing_left_open_on_a_broken_pc(cli, db_url, store, crew):
    from tests.store.conftest import PASSWORD

    s = store.open_session("NJ-0007", crew.alice, crew.bob)
    wrong = cli(
        db_url,
        "session",
        "abandon",
        str(s.id),
        "--reason",
        "PC-1 broke down",
        "--by",
        "carol",
        "--password-stdin",
        stdin="not it\n",
    )
    assert wrong.returncode == 2 and "wrong password for 'carol'" in wrong.stderr
    teller = cli(
        db_url,
        "session",
        "abandon",
        str(s.id),
        "--reason",
        "PC-1 broke down",
        "--by",
        "dave",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert teller.returncode == 2 and "may not do this" in teller.stderr
    done = cli(
        db_url,
        "session",
        "abandon",
        str(s.id),
        "--reason",
        "PC-1 broke down",
        "--by",
        "carol",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert done.returncode == 0, done.stderr
    info = store.get_session(s.id)
    assert (info.state, info.abandon_reason) == ("abandoned", "PC-1 broke down")
    assert store.transitions(s.id)[-1].actor == "carol"


def test_reading_commands_never_create_a_database(cli, tmp_path):
    missing = tmp_path / "typo" / "custodian.sqlite3"
    url = f"sqlite:///{missing}"
    for args in (("audit", "verify"), ("history",), ("trace-note", "AB12345678"), ("users", "list")):
        done = cli(url, *args)
        assert done.returncode == 2 and "there is no custodian-app database" in done.stderr
    assert not missing.exists()
    made = cli(
        url,
        "users",
        "add",
        "root",
        "--role",
        "administrator",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0 and missing.is_file()
    assert cli(url, "audit", "verify").returncode == 0
