"""A differential fuzzer of the C ledger scanner against the general reader.

Tiny ledgers, written with random whitespace, key orders, unknown, duplicated and missing keys,
odd JSON values (1e999, escapes, non-ASCII, huge integers...) and byte mutations (truncation,
stray bytes), each read by the C scanner (``formats._scanned_*_ledger``) and by the Python
reader. The C reader must refuse (None) whatever the Python reader refuses, and otherwise read
the same ledger, the same note flows and the same per-unit note sums; rev-2 keys
(``reversed_amount``, ``cash.unknown``) included. Written during the C scanner's review (it found the
1e999 case); ``test_ledgerscan`` runs it with fixed seeds.
"""

from __future__ import annotations

import random

import orjson

from custodian_app.domain import formats
from custodian_app.domain.reconcile import note_flows, notes_into_units

R = random.Random(1)
GOOD = 0.9
SCALARS = [
    "1",
    "-0",
    "0.5",
    "1e999",
    "-1e999",
    "1E400",
    "123456789012345678901234567890",
    "12345678901234567",
    "1e-999",
    "null",
    "true",
    "false",
    '"a"',
    '"\\u00e9"',
    '"\\ud800"',
    '"é"',
    "[]",
    "{}",
    "[1,[2,{}]]",
    '{"a":{"b":[null]}}',
    "01",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
    '"\\x"',
    '"a\\"b"',
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.7976931348623157e309",
    "2e308",
    "1e308",
    "1e99",
    "-1e-999",
    "1E40",
    "2e-308",
]


def ws():
    if R.random() < 0.003:
        return R.choice(["\f", "\u00a0", "\v"])
    return R.choice(["", "", "", "", "", "", " ", "\n", "\t", "\r\n  "])


def jstr(s):
    return '"' + s + '"'


SCALARS = [
    "1",
    "-0",
    "0.5",
    "1e999",
    "-1e999",
    "1E400",
    "123456789012345678901234567890",
    "12345678901234567",
    "1e-999",
    "null",
    "true",
    "false",
    '"a"',
    '"\\u00e9"',
    '"\\ud800"',
    '"é"',
    "[]",
    "{}",
    "[1,[2,{}]]",
    '{"a":{"b":[null]}}',
    "01",
    "1.",
    ".5",
    "+1",
    "NaN",
    "Infinity",
    '"\\x"',
    '"a\\"b"',
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "1.7976931348623157e309",
    "2e308",
    "1e308",
]


def val(pool):
    return R.choice(pool)


POOL = {
    "tsn": [
        '"000101"',
        '"000102"',
        '"A-1"',
        '"x"',
        '""',
        '"' + "a" * 20 + '"',
        '"' + "a" * 21 + '"',
        '"00 1"',
        "null",
        "1",
        '"\\u0030"',
        '"ü"',
    ],
    "time": [
        '"2026-11-20T09:12:03+08:00"',
        '"2026-11-20T09:12:03Z"',
        '"2026-11-20T09:12:03.123Z"',
        '"2026-11-20T09:12:03.+08:00"',
        '"2026-11-20T09:12:03"',
        '"2026-11-20 09:12:03Z"',
        '"2026-11-20T09:12:03+0800"',
        '"2026-11-20T09:12:03z"',
        "null",
        '"2026-11-20T09:12:03.5+08:00x"',
        '"2026-11-20T09:12:03+08:00\\n"',
    ],
    "type": ['"withdrawal"', '"deposit"', '"Withdrawal"', '"x"', "null"],
    "card": [
        '"622202******1234"',
        '"622202**1234"',
        '"622202*********1234"',
        '"622202*1234"',
        '"6222021234567890"',
        '"622202**********1234"',
        "null",
    ],
    "amount": [
        '"100.00"',
        '"0.00"',
        '"1.00"',
        '"00.00"',
        '"100.0"',
        '"-1.00"',
        '"999999999999999.99"',
        '"1000000000000000.00"',
        "100",
        '"1e2"',
        '" 1.00"',
        "null",
    ],
    "host_code": ['"00"', '"05"', '"68"', '"0A"', '"00A"', '"0"', '"0000"', '"ab"', "null", '"00 "'],
    "host_ref": ['"R1"', "null", '""', '"' + "r" * 32 + '"', '"' + "r" * 33 + '"', "1", '"é"'],
    "reversed": ["false", "true", "null", "0", '"false"'],
    "status": ['"booked"', '"reversed"', '"BOOKED"', "null"],
    "reversed_amount": ['"40.00"', "null", '"0.00"', '"100.00"', '"200.00"', '"0.01"', "40", '"4.0"'],
}
CASHV = ['"0.00"', '"100.00"', '"50.00"', '"0.00"', '"0.00"', '"1.5"', "null", "0"]


def obj(pairs):
    """pairs: list of (key, value-text); random whitespace, random order done by caller"""
    parts = []
    for k, v in pairs:
        parts.append(ws() + jstr(k) + ws() + ":" + ws() + v + ws())
    return "{" + ",".join(parts) + "}" if parts else "{" + ws() + "}"


def maybe_mutate_pairs(pairs, pool_for):
    pairs = list(pairs)
    r = R.random()
    if r < 0.15:
        R.shuffle(pairs)
    if R.random() < 0.05 and pairs:
        del pairs[R.randrange(len(pairs))]
    if R.random() < 0.06 and pairs:
        k, v = R.choice(pairs)
        pairs.insert(R.randrange(len(pairs) + 1), (k, R.choice(pool_for(k))))
    if R.random() < 0.1:
        pairs.insert(
            R.randrange(len(pairs) + 1), (R.choice(["x", "extra", "tsn2", "Tsn", "cash "]), val(SCALARS))
        )
    return pairs


def good(pool):
    return pool[0] if R.random() < GOOD else R.choice(pool)


def cash(is_w, amt):
    ks = ["taken", "retracted", "deposited", "returned"]
    vals = {k: '"0.00"' for k in ks}
    if R.random() < 0.8:
        if is_w:
            vals["taken"] = amt if R.random() < 0.7 else R.choice(CASHV)
            if R.random() < 0.1:
                vals["retracted"] = R.choice(CASHV)
        else:
            vals["deposited"] = amt if R.random() < 0.7 else R.choice(CASHV)
            if R.random() < 0.1:
                vals["returned"] = R.choice(CASHV)
    else:
        for k in ks:
            vals[k] = R.choice(CASHV)
    if R.random() < 0.15:  # rev 2
        ks = ks + ["unknown"]
        vals["unknown"] = R.choice(CASHV)
    pairs = maybe_mutate_pairs([(k, vals[k]) for k in ks], lambda k: CASHV)
    return obj(pairs)


def atm_tx(i, tsns):
    typ = good(POOL["type"])
    is_w = typ == '"withdrawal"'
    tsn = '"' + tsns[i] + '"' if R.random() < 0.9 else R.choice(POOL["tsn"])
    amt = good(POOL["amount"])
    fields = [
        ("tsn", tsn),
        ("time", good(POOL["time"])),
        ("type", typ),
        ("card", good(POOL["card"])),
        ("amount", amt),
        ("host_code", good(POOL["host_code"])),
        ("host_ref", good(POOL["host_ref"])),
        ("reversed", good(POOL["reversed"])),
    ]
    if R.random() < 0.2:  # rev 2: a partial reversal, within its bounds or not
        fields.append(("reversed_amount", R.choice(POOL["reversed_amount"])))
    fields.append(("cash", cash(is_w, amt)))
    if R.random() < 0.5:  # canonical compact layout
        return "{" + ",".join(jstr(k) + ":" + v for k, v in fields) + "}"
    fields = maybe_mutate_pairs(fields, lambda k: POOL.get(k, SCALARS))
    return obj(fields)


def note(tsns):
    t = R.choice(['"' + R.choice(tsns) + '"' if tsns else "null", "null", '"UNKNOWN1"', '"ZZ"', '"bad tsn"'])
    fields = [
        (
            "serial",
            R.choice(['"AB12345678"', '"AB1234"', '"AB?23456"', '"ab123456"', '"AB123"', '"AB1234567890X"']),
        ),
        ("value", R.choice(['"100.00"', '"50.00"', '"100.00"', '"0.00"', '"1"', "100"])),
        ("tsn", t),
        ("unit", R.choice(['"CST1"', '"C"', '"CST123"', '""', '"é"', '"A B"'])),
        ("event", R.choice(['"taken"', '"retracted"', '"deposited"', '"returned"', '"rejected"', '"lost"'])),
    ]
    if R.random() < 0.6:
        return "{" + ",".join(jstr(k) + ":" + v for k, v in fields) + "}"
    return obj(maybe_mutate_pairs(fields, lambda k: SCALARS))


HEAD = [
    ("format", '"atm-ledger/1"'),
    ("terminal_id", '"T"'),
    ("cycle_id", '"C"'),
    ("currency", '"CNY"'),
    ("opened_at", '"2026-11-20T08:00:00+08:00"'),
    ("closed_at", "null"),
    (
        "totals",
        '{"loaded_amount":"0.00","withdrawals":{"count":0,"amount":"0.00"},"deposits":{"count":0,"amount":"0.00"}}',
    ),
    ("units", "[]"),
]


def arr(items):
    return "[" + ws() + ("," + ws()).join(items) + ws() + "]" if items else "[" + ws() + "]"


def atm_doc():
    n = R.choice([0, 1, 1, 2, 3, 5])
    tsns = [R.choice(["000101", "000102", "000103", "A-1", "x", "000101"]) for _ in range(n)]
    if R.random() < 0.7:
        tsns = [f"{100 + i:06d}" for i in range(n)]
    txs = [atm_tx(i, tsns) for i in range(n)]
    pairs = list(HEAD) + [("transactions", arr(txs))]
    if R.random() < 0.7:
        pairs.append(("notes", arr([note(tsns) for _ in range(R.choice([0, 1, 2, 4, 8]))])))
    if R.random() < 0.3:
        R.shuffle(pairs)
    if R.random() < 0.05:
        pairs.append(("transactions", arr(txs)))
    if R.random() < 0.05:
        pairs.append(("notes", arr([])))
    if R.random() < 0.1:
        pairs.insert(R.randrange(len(pairs) + 1), ("vendor", val(SCALARS)))
    if R.random() < 0.03:
        pairs.insert(R.randrange(len(pairs) + 1), ("transactions", '"x"'))
    compact = R.random() < 0.5
    s = "{" + ",".join(jstr(k) + ":" + v for k, v in pairs) + "}" if compact else obj(pairs)
    s = ws() + s + ws()
    return s.encode()


def host_doc():
    n = R.choice([0, 1, 2, 3])
    txs = []
    for i in range(n):
        fields = [
            ("host_ref", good(POOL["host_ref"]) if R.random() < 0.3 else f'"H{i}"'),
            (
                "tsn",
                R.choice(['"000100"', '"000101"', "null", '"A"'])
                if R.random() < 0.8
                else R.choice(POOL["tsn"]),
            ),
            ("time", good(POOL["time"])),
            ("type", good(POOL["type"])),
            ("card", good(POOL["card"])),
            ("amount", good(POOL["amount"])),
            ("status", good(POOL["status"])),
        ]
        txs.append(
            obj(maybe_mutate_pairs(fields, lambda k: POOL.get(k, SCALARS)))
            if R.random() < 0.5
            else "{" + ",".join(jstr(k) + ":" + v for k, v in fields) + "}"
        )
    pairs = [
        ("format", '"host-ledger/1"'),
        ("terminal_id", '"T"'),
        ("cycle_id", '"C"'),
        ("currency", '"CNY"'),
        (
            "totals",
            '{"loaded_amount":"0.00","withdrawals":{"count":0,"amount":"0.00"},"deposits":{"count":0,"amount":"0.00"}}',
        ),
        ("transactions", arr(txs)),
    ]
    if R.random() < 0.3:
        R.shuffle(pairs)
    if R.random() < 0.1:
        pairs.insert(R.randrange(len(pairs) + 1), ("vendor", val(SCALARS)))
    if R.random() < 0.05:
        pairs.append(("transactions", arr(txs)))
    return (ws() + obj(pairs) + ws()).encode()


def mutate_bytes(b):
    r = R.random()
    if r < 0.75 or not b:
        return b
    b = bytearray(b)
    op = R.randrange(4)
    i = R.randrange(len(b))
    if op == 0:
        del b[i:]  # truncate
    elif op == 1:
        b.insert(i, R.choice(b' \n,:{}[]"\\0e-.xa\x00\x7f\xc3'))
    elif op == 2:
        del b[i]
    else:
        b += R.choice([b" ", b"x", b"}", b"\x00", b"\n\n", b",", b" {}"])
    return bytes(b)


def _slow(parse, to_dict, raw):
    try:
        return to_dict(parse(orjson.loads(raw), "x"))
    except (formats.FormatError, orjson.JSONDecodeError):
        return None


def run(seed: int, iterations: int, good_share: float = 0.9) -> tuple[dict, list]:
    """(counts of documents read, [(what went wrong, the document)]) for one seeded run."""
    global GOOD
    R.seed(seed)
    GOOD = good_share  # how often a field takes its valid value
    stats = {"atm_native": 0, "atm_valid": 0, "host_native": 0, "host_valid": 0}
    findings = []
    for _ in range(iterations):
        raw = mutate_bytes(atm_doc())
        slow = _slow(formats.parse_atm_ledger, formats.atm_ledger_to_dict, raw)
        stats["atm_valid"] += slow is not None
        try:
            fast = formats._scanned_atm_ledger(raw, "x")
        except Exception as exc:  # noqa: BLE001 - any exception is a finding
            findings.append((f"atm: the C reader raised {exc!r}", raw))
            continue
        if fast is not None:
            stats["atm_native"] += 1
            if slow is None:
                findings.append(("atm: the C reader accepts what the general reader refuses", raw))
            elif formats.atm_ledger_to_dict(fast) != slow:
                findings.append(("atm: read differently", raw))
            elif fast.notes is not None:
                general = formats.parse_atm_ledger(orjson.loads(raw), "x")
                if same_flows(fast, general) is False:
                    findings.append(("atm: note flows differ", raw))
        raw = mutate_bytes(host_doc())
        slow = _slow(formats.parse_host_ledger, formats.host_ledger_to_dict, raw)
        stats["host_valid"] += slow is not None
        try:
            fast = formats._scanned_host_ledger(raw, "x")
        except Exception as exc:  # noqa: BLE001
            findings.append((f"host: the C reader raised {exc!r}", raw))
            continue
        if fast is not None:
            stats["host_native"] += 1
            if slow is None:
                findings.append(("host: the C reader accepts what the general reader refuses", raw))
            elif formats.host_ledger_to_dict(fast) != slow:
                findings.append(("host: read differently", raw))
    return stats, findings


def same_flows(fast, general) -> bool:
    """The C scanner's note flows and unit sums are the Python reader's (the scanner leaves out
    the ledger's TSNs whose notes add up to zero, which compare the same)."""
    known = {t.tsn for t in general.transactions}
    python = {k: v for k, v in note_flows(general.notes).items() if k not in known or any(v)}
    into = {k: v for k, v in notes_into_units(general.notes).items()}
    return fast.notes.flows == python and fast.notes.into_units == into
