"""import-atm and write-journal, run as a user runs them."""

from __future__ import annotations

import json
import subprocess

from tests.cli import run_custodian_app
from tests.journal.helpers import check_ledger


def run(*args: str) -> subprocess.CompletedProcess:
    return run_custodian_app(*args, timeout=120)


def test_generate_write_import_reconcile(tmp_path):
    assert (
        run(
            "generate",
            "--seed",
            "5",
            "--transactions",
            "150",
            "--faults",
            "realistic",
            "--out",
            str(tmp_path),
        ).returncode
        == 0
    )
    p = run(
        "write-journal",
        "--atm",
        str(tmp_path / "atm.json"),
        "--dialect",
        "hyosung",
        "--fsn-variant",
        "2018",
        "--out",
        str(tmp_path / "usb"),
    )
    assert p.returncode == 0, p.stderr
    out = tmp_path / "back.json"
    p = run(
        "import-atm",
        "--journal",
        str(tmp_path / "usb" / "journal.txt"),
        "--fsn",
        str(tmp_path / "usb" / "fsn"),
        "--dialect",
        "hyosung",
        "--out",
        str(out),
    )
    assert p.returncode == 0, p.stderr
    assert "150 transactions" in p.stdout and "dialect hyosung" in p.stdout
    back = json.loads(out.read_text())
    check_ledger(back)
    assert back["transactions"] == json.loads((tmp_path / "atm.json").read_text())["transactions"]
    p = run(
        "reconcile",
        "--atm",
        str(out),
        "--host",
        str(tmp_path / "host.json"),
        "--out",
        str(tmp_path / "r.json"),
    )
    assert p.returncode == 1 and "RETRACTED" in p.stdout, p.stderr


def test_a_gap_exits_2_naming_file_and_line(tmp_path):
    journal = tmp_path / "ej.txt"
    journal.write_text("*TRANSACTION START* 20/11/26 09:00:00\nPRINTER PAPER LOW\n", encoding="utf-8")
    out = tmp_path / "atm.json"
    p = run("import-atm", "--journal", str(journal), "--dialect", "ncr", "--out", str(out))
    assert p.returncode == 2 and f"{journal}:2" in p.stderr and "nothing written" in p.stderr
    assert not out.exists()
    # accepted knowingly, the read goes on to the next fault: no counter print here
    p = run("import-atm", "--journal", str(journal), "--dialect", "ncr", "--accept-gaps", "--out", str(out))
    assert p.returncode == 2 and "counter print" in p.stderr and not out.exists()


def test_unknown_dialect_exits_2(tmp_path):
    journal = tmp_path / "ej.txt"
    journal.write_text("x\n", encoding="utf-8")
    p = run("import-atm", "--journal", str(journal), "--dialect", "wincor", "--out", str(tmp_path / "a.json"))
    assert p.returncode == 2 and "no such journal dialect" in p.stderr and "ncr" in p.stderr
