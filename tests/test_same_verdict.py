"""The same bad document gets the same verdict on every path that reads it (issue 18): a key
given twice, a full card number in free text (a TSN, a host_ref, counted_by), a host_ref booked
twice and a byte order mark are refused, naming the same JSON path, by

- ``reconcile`` reading the files (the C scanner and the Python reader),
- ``import-host`` (the settlement import), and ``write-journal --atm`` for an ATM ledger,
- the store, as ``clear`` keeps the evidence,
- the backend client, for a backend ledger served by the simulator on loopback,

because all of them rely on the one reader (``custodian_app.domain.formats``)."""

from __future__ import annotations

import os

import orjson
import pytest

from custodian_app import clearing
from custodian_app.backend.client import BackendClient
from custodian_app.backend.errors import BackendReplyError
from custodian_app.backend.simulator import BackendSimulator
from custodian_app.domain.errors import CustodianError
from custodian_app.domain.generator import build_documents
from tests.cli import run_custodian_app

PAN = "6222021234567894"
PAN_GROUPED = "6222 0212 3456 7894"
DOCS = build_documents(8, 40, "none")
HOST = orjson.loads(DOCS.host)
ATM = orjson.loads(DOCS.atm)
T, C = HOST["terminal_id"], HOST["cycle_id"]
BOOKED = [i for i, t in enumerate(HOST["transactions"]) if t["status"] == "booked"]


def _nth(data: bytes, needle: bytes, n: int) -> int:
    at = -1
    for _ in range(n + 1):
        at = data.index(needle, at + 1)
    return at


def _repeat_key(data: bytes, record: bytes, n: int, key_value: bytes) -> bytes:
    """``key_value`` put in front of the n-th ``record`` opening: that object gives it twice."""
    at = _nth(data, record, n) + 1
    return data[:at] + key_value + b"," + data[at:]


def _host(change) -> bytes:
    doc = orjson.loads(DOCS.host)
    change(doc["transactions"])
    return orjson.dumps(doc)


def _atm(change) -> bytes:
    doc = orjson.loads(DOCS.atm)
    change(doc)
    return orjson.dumps(doc)


def _set(i, key, value):
    def change(txs):
        txs[i][key] = value

    return change


def _booked_twice(txs):
    txs[BOOKED[3]]["host_ref"] = txs[BOOKED[1]]["host_ref"]


# (case, bad bytes, the JSON path named, words of the verdict)
HOST_CASES = [
    (
        "key twice in a record",
        _repeat_key(DOCS.host, b'{"host_ref":', 2, b'"status":"booked"'),
        "$.transactions[2].status",
        "given twice",
    ),
    (
        "key twice in the head",
        DOCS.host.replace(b'"currency":', b'"currency":"USD","currency":', 1),
        "$.currency",
        "given twice",
    ),
    (
        "card number as TSN",
        _host(_set(4, "tsn", PAN)),
        "$.transactions[4].tsn",
        "looks like a full card number",
    ),
    (
        "card number as host_ref",
        _host(_set(5, "host_ref", PAN_GROUPED)),
        "$.transactions[5].host_ref",
        "looks like a full card number",
    ),
    ("host_ref booked twice", _host(_booked_twice), f"$.transactions[{BOOKED[3]}].host_ref", "booked twice"),
    ("byte order mark", b"\xef\xbb\xbf" + DOCS.host, "$", "byte order mark"),
]
ATM_CASES = [
    (
        "key twice in a transaction",
        _repeat_key(DOCS.atm, b'{"tsn":', 3, b'"type":"deposit"'),
        "$.transactions[3].type",
        "given twice",
    ),
    (
        "key twice in a note",
        _repeat_key(DOCS.atm, b'{"serial":', 7, b'"x":1,"x":2'),
        "$.notes[7].x",
        "given twice",
    ),
    (
        "card number as TSN",
        _atm(lambda d: d["transactions"][6].update(tsn=PAN)),
        "$.transactions[6].tsn",
        "looks like a full card number",
    ),
    (
        "card number as host_ref",
        _atm(lambda d: d["transactions"][1].update(host_ref=f"R{PAN}")),
        "$.transactions[1].host_ref",
        "looks like a full card number",
    ),
    (
        "card number as terminal",
        _atm(lambda d: d.update(terminal_id=PAN_GROUPED)),
        "$.terminal_id",
        "looks like a full card number",
    ),
    ("byte order mark", b"\xef\xbb\xbf" + DOCS.atm, "$", "byte order mark"),
]
COUNTS_CASES = [
    (
        "card number in counted_by",
        DOCS.counts.replace(b'"custodian-b"', f'"{PAN}"'.encode()),
        "$.counted_by[1]",
        "looks like a full card number",
    ),
    (
        "key twice",
        DOCS.counts.replace(b'"units": {', b'"units": {"CST1": "0.00",', 1),
        "$.units.CST1",
        "given twice",
    ),
]


def _assert_verdict(text: str, path: str, words: str) -> None:
    assert f"{path}:" in text and words in text, text
    assert PAN not in text and PAN_GROUPED not in text and PAN[-8:] not in text, text


def test_every_case_differs_from_the_good_document():
    for cases, good in ((HOST_CASES, DOCS.host), (ATM_CASES, DOCS.atm), (COUNTS_CASES, DOCS.counts)):
        for name, bad, _, _ in cases:
            assert bad != good, name
    assert b'"custodian-b"' in DOCS.counts and b'"CST1"' in DOCS.counts


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("good")
    for name in ("atm", "host", "counts"):
        (folder / f"{name}.json").write_bytes(getattr(DOCS, name))
    return folder


@pytest.fixture
def store(tmp_path):
    s = clearing.open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    clearing.ensure_user(s, "alice", "alice-pw-1", "custodian")
    clearing.ensure_user(s, "bob", "bob-pw-123", "custodian")
    yield s
    s.close()


def _session(store):
    alice, bob = store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")
    return store.open_session(T, alice, bob).id, alice


@pytest.mark.parametrize("native", [True, False], ids=["C scanner", "pure Python"])
@pytest.mark.parametrize("name,bad,path,words", HOST_CASES, ids=[c[0] for c in HOST_CASES])
def test_a_bad_backend_ledger_gets_one_verdict_everywhere(
    name, bad, path, words, native, good_files, store, tmp_path
):
    bad_file = tmp_path / "host.json"
    bad_file.write_bytes(bad)
    env = dict(os.environ)
    if not native:
        env["CUSTODIAN_PURE_PYTHON"] = "1"
    out = tmp_path / "result.json"
    rec = run_custodian_app(
        "reconcile",
        "--atm",
        str(good_files / "atm.json"),
        "--host",
        str(bad_file),
        "--out",
        str(out),
        env=env,
        timeout=120,
    )
    assert rec.returncode == 2 and not out.exists(), rec.stderr
    _assert_verdict(rec.stderr, path, words)

    imp = run_custodian_app(
        "import-host", str(bad_file), "--out", str(tmp_path / "imported.json"), env=env, timeout=120
    )
    assert imp.returncode == 2 and not (tmp_path / "imported.json").exists(), imp.stderr
    _assert_verdict(imp.stderr, path, words)

    sid, alice = _session(store)
    store.record_atm_ledger(sid, DOCS.atm, actor=alice)
    store.skip_count(sid, "not counted in this test", actor=alice)
    with pytest.raises(CustodianError) as kept:
        store.record_host_ledger(sid, bad, actor=alice)
    _assert_verdict(str(kept.value), path, words)
    assert "host-ledger" not in store.get_session(sid).documents

    sim = BackendSimulator()
    sim.serve_raw(T, C, bad)
    sim.start()
    try:
        with pytest.raises(BackendReplyError) as fetched:
            BackendClient(sim.base_url, retries=0).fetch_ledger(T, C)
    finally:
        sim.stop()
    _assert_verdict(str(fetched.value), path, words)
    assert fetched.value.path == path


@pytest.mark.parametrize("native", [True, False], ids=["C scanner", "pure Python"])
@pytest.mark.parametrize("name,bad,path,words", ATM_CASES, ids=[c[0] for c in ATM_CASES])
def test_a_bad_atm_ledger_gets_one_verdict_everywhere(
    name, bad, path, words, native, good_files, store, tmp_path
):
    bad_file = tmp_path / "atm.json"
    bad_file.write_bytes(bad)
    env = dict(os.environ)
    if not native:
        env["CUSTODIAN_PURE_PYTHON"] = "1"
    out = tmp_path / "result.json"
    rec = run_custodian_app(
        "reconcile",
        "--atm",
        str(bad_file),
        "--host",
        str(good_files / "host.json"),
        "--out",
        str(out),
        env=env,
        timeout=120,
    )
    assert rec.returncode == 2 and not out.exists(), rec.stderr
    _assert_verdict(rec.stderr, path, words)

    journal = run_custodian_app(
        "write-journal",
        "--atm",
        str(bad_file),
        "--dialect",
        "ncr",
        "--out",
        str(tmp_path / "usb"),
        env=env,
        timeout=120,
    )
    assert journal.returncode == 2 and not (tmp_path / "usb" / "journal.txt").exists(), journal.stderr
    _assert_verdict(journal.stderr, path, words)

    sid, alice = _session(store)
    with pytest.raises(CustodianError) as kept:
        store.record_atm_ledger(sid, bad, actor=alice)
    _assert_verdict(str(kept.value), path, words)
    assert store.get_session(sid).documents == ()


@pytest.mark.parametrize("name,bad,path,words", COUNTS_CASES, ids=[c[0] for c in COUNTS_CASES])
def test_a_bad_count_gets_one_verdict_everywhere(name, bad, path, words, good_files, store, tmp_path):
    bad_file = tmp_path / "counts.json"
    bad_file.write_bytes(bad)
    out = tmp_path / "result.json"
    rec = run_custodian_app(
        "reconcile",
        "--atm",
        str(good_files / "atm.json"),
        "--host",
        str(good_files / "host.json"),
        "--counts",
        str(bad_file),
        "--out",
        str(out),
        timeout=120,
    )
    assert rec.returncode == 2 and not out.exists(), rec.stderr
    _assert_verdict(rec.stderr, path, words)

    sid, alice = _session(store)
    store.record_atm_ledger(sid, DOCS.atm, actor=alice)
    with pytest.raises(CustodianError) as kept:
        store.record_counts(sid, bad, actor=alice)
    _assert_verdict(str(kept.value), path, words)
    assert store.get_session(sid).documents == ("atm-ledger",)


def test_a_reversed_record_may_share_its_host_ref_on_every_path(good_files, store, tmp_path):
    """The rule is about booked records: a reversed one counts nowhere."""
    reversed_ = [i for i, t in enumerate(HOST["transactions"]) if t["status"] == "reversed"]
    assert reversed_, "the generated cycle has no reversed record: the test would prove nothing"
    data = _host(_set(reversed_[0], "host_ref", HOST["transactions"][BOOKED[0]]["host_ref"]))
    bad_file = tmp_path / "host.json"
    bad_file.write_bytes(data)
    rec = run_custodian_app(
        "reconcile",
        "--atm",
        str(good_files / "atm.json"),
        "--host",
        str(bad_file),
        "--out",
        str(tmp_path / "result.json"),
        timeout=120,
    )
    assert rec.returncode in (0, 1), rec.stderr
    imp = run_custodian_app("import-host", str(bad_file), "--out", str(tmp_path / "imported.json"))
    assert imp.returncode == 0, imp.stderr
