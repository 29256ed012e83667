"""The reconcile and generate commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from custodian_app.domain.formats import CATEGORIES
from tests.cli import run_custodian_app

FULL_CARD = "6222021234567890123"


def run(*args: str) -> subprocess.CompletedProcess:
    return run_custodian_app(*args, timeout=120)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    out = tmp_path_factory.mktemp("cycle")
    p = run("generate", "--seed", "4", "--transactions", "200", "--faults", "all", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


def test_generate_writes_the_four_files(cycle):
    assert {p.name for p in cycle.iterdir()} >= {"atm.json", "host.json", "counts.json", "expected.json"}
    expected = json.loads((cycle / "expected.json").read_text())
    assert set(expected["expected"]) == set(CATEGORIES)  # "all": every category at least once


def test_reconcile_with_mismatches_exits_1_and_summarises(cycle, tmp_path):
    out = tmp_path / "result.json"
    p = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--counts",
        str(cycle / "counts.json"),
        "--out",
        str(out),
    )
    assert p.returncode == 1, p.stderr
    result = json.loads(out.read_text())
    assert result["format"] == "clearing-result/1" and result["balanced"] is False
    expected = json.loads((cycle / "expected.json").read_text())["expected"]
    got: dict = {}
    for m in result["mismatches"]:
        got[m["category"]] = got.get(m["category"], 0) + 1
    assert got == expected
    assert "Totals" in p.stdout and "Cash position" in p.stdout and "短款" in p.stdout
    assert "RETRACTED" in p.stdout and "吞钞" in p.stdout and "NOT BALANCED" in p.stdout


def test_reconcile_balanced_exits_0(tmp_path):
    gen = tmp_path / "g"
    assert (
        run("generate", "--seed", "2", "--transactions", "50", "--out", str(gen), "--no-notes").returncode
        == 0
    )
    out = tmp_path / "r.json"
    p = run(
        "reconcile",
        "--atm",
        str(gen / "atm.json"),
        "--host",
        str(gen / "host.json"),
        "--out",
        str(out),
        "--success-codes",
        "00",
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert json.loads(out.read_text())["balanced"] is True and "BALANCED" in p.stdout


def test_invalid_input_exits_2_writes_nothing_and_hides_the_card(cycle, tmp_path):
    doc = json.loads((cycle / "atm.json").read_text())
    doc["transactions"][3]["card"] = FULL_CARD
    bad = tmp_path / "atm.json"
    bad.write_text(json.dumps(doc))
    out = tmp_path / "result.json"
    p = run("reconcile", "--atm", str(bad), "--host", str(cycle / "host.json"), "--out", str(out))
    assert p.returncode == 2
    assert str(bad) in p.stderr and "$.transactions[3].card" in p.stderr
    assert FULL_CARD not in p.stderr + p.stdout
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]


@pytest.mark.parametrize("case", ["unit", "partial", "unknown"])
def test_invalid_rev2_input_exits_2_naming_file_path_and_value(cycle, tmp_path, case):
    atm, counts = cycle / "atm.json", cycle / "counts.json"
    if case == "unit":  # a count for a unit the ATM does not have
        doc = json.loads(counts.read_text())
        doc["units"]["CST9"] = "100.00"
        counts = tmp_path / "counts.json"
        counts.write_text(json.dumps(doc))
        where, value = f"{counts}: $.units.CST9", "'CST9'"
    else:
        doc = json.loads(atm.read_text())
        i, t = next(
            (i, t)
            for i, t in enumerate(doc["transactions"])
            if t["type"] == ("withdrawal" if case == "partial" else "deposit")
        )
        if case == "partial":  # a partial reversal as big as the amount
            t["reversed_amount"] = t["amount"]
            where, value = f"$.transactions[{i}].reversed_amount", repr(t["amount"])
        else:  # notes of unknown fate on a deposit
            t["cash"]["unknown"] = "50.00"
            where, value = f"$.transactions[{i}].cash.unknown", "'50.00'"
        atm = tmp_path / "atm.json"
        atm.write_text(json.dumps(doc))
    out = tmp_path / "result.json"
    p = run(
        "reconcile",
        "--atm",
        str(atm),
        "--host",
        str(cycle / "host.json"),
        "--counts",
        str(counts),
        "--out",
        str(out),
    )
    assert p.returncode == 2, p.stderr
    assert where in p.stderr and value in p.stderr and "nothing written" in p.stderr
    assert not out.exists()


def test_usage_errors_exit_2(cycle, tmp_path):
    assert run("reconcile", "--atm", str(cycle / "atm.json")).returncode == 2  # --host, --out missing
    p = run(
        "reconcile",
        "--atm",
        str(tmp_path / "missing.json"),
        "--host",
        str(cycle / "host.json"),
        "--out",
        str(tmp_path / "r.json"),
    )
    assert p.returncode == 2 and "missing.json" in p.stderr and "cannot read" in p.stderr
    p = run("generate", "--faults", "BOGUS=1", "--out", str(tmp_path / "g"))
    assert p.returncode == 2 and "unknown fault" in p.stderr


def test_mismatched_cycle_exits_2(cycle, tmp_path):
    host = json.loads((cycle / "host.json").read_text())
    host["cycle_id"] = "ANOTHER"
    (tmp_path / "host.json").write_text(json.dumps(host))
    p = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(tmp_path / "host.json"),
        "--out",
        str(tmp_path / "r.json"),
    )
    assert p.returncode == 2 and "$.cycle_id" in p.stderr and not (tmp_path / "r.json").exists()


def test_reconcile_writes_the_pdf_report_when_asked(cycle, tmp_path):
    import pypdf

    out, pdf = tmp_path / "result.json", tmp_path / "report.pdf"
    p = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--counts",
        str(cycle / "counts.json"),
        "--out",
        str(out),
        "--pdf",
        str(pdf),
        "--bank",
        "中国工商银行",
        "--branch",
        "南京分行",
        "--quiet",
    )
    assert p.returncode == 1, p.stderr
    reader = pypdf.PdfReader(str(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "南京分行" in text and "NJ-0001" in text and "custodian-a" in text
    # without a bank name in the options or the settings the report still prints, and says
    # plainly that the bank was not set rather than leave a headless run without its report
    p = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--out",
        str(tmp_path / "r2.json"),
        "--pdf",
        str(tmp_path / "r2.pdf"),
        "--quiet",
    )
    assert p.returncode == 1, p.stderr
    assert (tmp_path / "r2.json").exists()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(str(tmp_path / "r2.pdf")).pages)
    assert "not set" in text and "未设置" in text


def test_reconcile_takes_the_success_codes_from_the_settings(tmp_path, _isolated_home):
    out = tmp_path / "cycle"
    p = run("generate", "--seed", "5", "--transactions", "40", "--faults", "none", "--out", str(out))
    assert p.returncode == 0, p.stderr
    args = (
        "reconcile",
        "--atm",
        str(out / "atm.json"),
        "--host",
        str(out / "host.json"),
        "--out",
        str(tmp_path / "r.json"),
        "--quiet",
    )
    assert run(*args).returncode == 0  # default success codes: the books agree
    # A bank whose switch answers "booked" as 10 only: every ATM "00" is now a reject code.
    (_isolated_home / "settings.toml").write_text('[reconciliation]\nsuccess_codes = ["10"]\n')
    p = run(*args)
    assert p.returncode == 1, p.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert {m["category"] for m in result["mismatches"]} >= {"CODE_DISAGREES"}


def test_the_pure_python_switch_gives_the_same_result(cycle, tmp_path, monkeypatch):
    """CUSTODIAN_PURE_PYTHON (support's switch) reconciles without the C scanner: same bytes."""
    results = {}
    for mode in ("default", "pure"):
        env = {**os.environ, "CUSTODIAN_PURE_PYTHON": "1"} if mode == "pure" else None
        out = tmp_path / f"{mode}.json"
        p = run_custodian_app(
            "reconcile",
            "--atm",
            str(cycle / "atm.json"),
            "--host",
            str(cycle / "host.json"),
            "--counts",
            str(cycle / "counts.json"),
            "--out",
            str(out),
            "--quiet",
            timeout=120,
            env=env,
        )
        assert p.returncode == 1, p.stderr
        results[mode] = out.read_bytes()
    assert results["default"] == results["pure"]
    with monkeypatch.context() as mp:  # and in-process, the switch really takes the scanner away
        from custodian_app.cli.main import main
        from custodian_app.domain import formats

        mp.setattr(formats, "native", formats.native)
        mp.setenv("CUSTODIAN_PURE_PYTHON", "1")
        assert (
            main(
                [
                    "reconcile",
                    "--atm",
                    str(cycle / "atm.json"),
                    "--host",
                    str(cycle / "host.json"),
                    "--counts",
                    str(cycle / "counts.json"),
                    "--out",
                    str(tmp_path / "in.json"),
                    "--quiet",
                ]
            )
            == 1
        )
        assert formats.native is None
    assert (tmp_path / "in.json").read_bytes() == results["default"]
