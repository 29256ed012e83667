"""Each fault the generator has for rules revision 2, cleared end to end with
``custodian-app clear`` (the ATM simulator on a pty, the backend simulator on loopback), gives
the spec's category on the printed report, read back from the PDF."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from custodian_app import clearing
from custodian_app.demo import DEMO_USERS, Demo
from custodian_app.domain import formats
from custodian_app.domain.generator import CASE_FAULTS
from custodian_app.report.meta import mask_card
from custodian_app.support.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]

# fault -> the categories the spec gives it (the generator's CASE_FAULTS, and the two rev-2
# categories that are faults by their own name)
REV2 = {
    **CASE_FAULTS,
    "UNKNOWN_OUTCOME": {"UNKNOWN_OUTCOME": 1},
    "COUNT_DIFFERS": {"COUNT_DIFFERS": 1},
    # the notes found in the reject bin, which the recovery purged without counting them,
    # are also that bin's overage against its counters
    "UNKNOWN_OUTCOME_FOUND": {"UNKNOWN_OUTCOME": 1, "COUNT_DIFFERS": 1},
}


@pytest.fixture
def world():
    started = []

    def start(faults: str) -> Demo:
        demo = Demo(seed=5, transactions=30, faults=faults, atm_options={"pace": False}, agent=False)
        started.append(demo)
        demo.device, demo.url = demo.start()
        return demo

    store = clearing.open_store()
    try:
        for user, password, role in DEMO_USERS:
            clearing.ensure_user(store, user, password, role)
    finally:
        store.close()
    yield start
    for demo in started:
        demo.stop()


@pytest.mark.parametrize("fault", sorted(REV2))
def test_a_rev2_fault_cleared_with_clear_prints_its_category(fault, world, tmp_path):
    demo = world(f"{fault}=1")
    expected = dict(REV2[fault])
    assert {c: n for c, n in demo.scenario.expected.items() if n} == expected
    counts = tmp_path / "counts.json"
    counts.write_bytes(formats.dumps(formats.counts_to_dict(demo.scenario.counts)))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "custodian_app",
            "clear",
            "--port",
            demo.device,
            "--url",
            demo.url,
            "--counts",
            str(counts),
            "--out",
            str(tmp_path / "result.json"),
            "--pdf",
            str(tmp_path / "report.pdf"),
            "--custodians",
            "alice,bob",
            "--password-stdin",
        ],
        cwd=ROOT,
        env=dict(os.environ, QT_QPA_PLATFORM="offscreen"),
        input="alice123\nbob12345\n",
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == (1 if expected else 0), done.stderr
    result = formats.parse_result((tmp_path / "result.json").read_bytes())
    got: dict[str, int] = {}
    for m in result.mismatches:
        got[m.category] = got.get(m.category, 0) + 1
    assert got == expected

    text = "\n".join(p.extract_text() or "" for p in PdfReader(tmp_path / "report.pdf").pages)
    catalogue = load_catalogue()
    if expected:
        assert "账账不符" in text
        for category in expected:
            assert catalogue.category_name(category, "zh") in text
            assert catalogue.category_name(category, "en") in text
        for m in result.mismatches:
            if m.tsn:
                assert re.search(rf"(?<!\d){m.tsn}(?!\d)", text), m.tsn
    else:  # tied up cleanly: no entry, and no backend-only or lost-booking pair on paper
        assert "账账相符" in text
        for category in ("HOST_ONLY", "HOST_LOST_BOOKING", "AMOUNT_MISMATCH"):
            assert catalogue.category_name(category, "zh") not in text
    if fault == "RETAINED_CARD":
        assert len(result.retained_cards) == 1
        card = result.retained_cards[0]
        assert "吞卡交接清单" in text and mask_card(card.card) in text
        assert catalogue.retain_reason(card.reason, "zh") in text
    else:
        assert "吞卡交接清单" not in text
