"""Property: any backend ledger written as a settlement CSV reads back as the same ledger, in
either language and either encoding (quoting of odd references, empty TSNs, big amounts)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from custodian_app.backend.settlement import import_settlement, to_settlement_csv
from custodian_app.domain.formats import HostLedger, HostTransaction, Totals, TypeTotals

_REF_CHARS = st.characters(codec="gb18030", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"))
refs = (
    st.text(_REF_CHARS, min_size=1, max_size=32).map(str.strip).filter(lambda r: r and not r.startswith('="'))
)
tsns = st.one_of(st.none(), st.from_regex(r"[0-9A-Za-z-]{1,20}", fullmatch=True))
times = st.builds(
    lambda d, h, m, s, off: f"2026-11-{d:02d}T{h:02d}:{m:02d}:{s:02d}{off}",
    st.integers(1, 30),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["+08:00", "Z", "-05:30"]),
)
cards = st.builds(
    lambda a, n, b: f"{a:06d}{'*' * n}{b:04d}",
    st.integers(0, 999999),
    st.integers(2, 9),
    st.integers(0, 9999),
)
amounts = st.integers(0, 10**17 - 1)
transactions = st.builds(
    HostTransaction,
    refs,
    tsns,
    times,
    st.sampled_from(["withdrawal", "deposit"]),
    cards,
    amounts,
    st.sampled_from(["booked", "reversed"]),
)
ledgers = st.builds(
    lambda txs, loaded, w, d, cur: HostLedger(
        "NJ-0001", "NJ-0001-20261120", cur, Totals(loaded, TypeTotals(*w), TypeTotals(*d)), txs
    ),
    st.lists(transactions, max_size=12, unique_by=lambda x: x.host_ref),
    amounts,
    st.tuples(st.integers(0, 10**6), amounts),
    st.tuples(st.integers(0, 10**6), amounts),
    st.sampled_from(["CNY", "HKD", "USD"]),
)


@settings(max_examples=60, deadline=None)
@given(ledgers, st.booleans(), st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
def test_a_ledger_survives_the_settlement_csv(ledger, chinese, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "settle.csv"
        path.write_bytes(to_settlement_csv(ledger, chinese=chinese).encode(encoding))
        assert import_settlement(path) == ledger
