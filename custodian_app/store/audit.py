"""The audit chain: canonical form of an entry, its hash, and the check of the whole chain.

entry_hash = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the entry's
fields *including* ``prev_hash``; the first entry's ``prev_hash`` is 64 zeros. Changing any
field of any entry breaks its hash; deleting an entry breaks the next one's link and the
sequence; deleting the tail is caught by ``audit_head``, which names the last entry.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from custodian_app.errors import scrub

GENESIS_HASH = "0" * 64

# Keys that must never reach the log (a programming error if they do).
_FORBIDDEN_WORDS = frozenset({"password", "passwd", "token", "secret", "pan", "pin",
                              "credential", "credentials"})
# Values under these keys are hex digests, not card numbers: the scrubber would mangle them.
_DIGEST_KEY = re.compile(r"(sha256|digest|hash)$", re.I)
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def format_time(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clean_detail(detail: dict[str, Any] | None) -> str:
    """The detail as canonical JSON; refuses secrets and hides digit runs that could be a PAN."""

    def clean(value: Any, key: str) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise TypeError(f"audit detail keys must be strings, not {k!r}")
                if _FORBIDDEN_WORDS & set(re.split(r"[_\-\s]+", k.lower())):
                    raise ValueError(f"audit detail must not carry {k!r}")
                out[k] = clean(v, k)
            return out
        if isinstance(value, (list, tuple)):
            return [clean(v, key) for v in value]
        if isinstance(value, str):
            if _DIGEST_KEY.search(key) and _HEX64.match(value):
                return value
            return scrub(value)
        if isinstance(value, float):
            raise TypeError("audit detail takes no floats (money is minor units or a string)")
        if value is None or isinstance(value, (bool, int)):
            return value
        raise TypeError(f"audit detail value {type(value).__name__} is not JSON")

    return canonical_json(clean(detail or {}, ""))


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(*, seq: int, at: datetime, actor: str | None, action: str,
               session_id: int | None, terminal_id: str | None, host: str, detail: str,
               prev_hash: str) -> str:
    body = canonical_json({
        "seq": seq, "at": format_time(at), "actor": actor, "action": action,
        "session_id": session_id, "terminal_id": terminal_id, "host": host,
        "detail": detail, "prev_hash": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audit entry as read back."""

    seq: int
    at: datetime
    actor: str | None
    action: str
    session_id: int | None
    terminal_id: str | None
    host: str
    detail: dict[str, Any]
    prev_hash: str
    entry_hash: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": format_time(self.at), "actor": self.actor,
                "action": self.action, "session_id": self.session_id,
                "terminal_id": self.terminal_id, "host": self.host, "detail": self.detail,
                "prev_hash": self.prev_hash, "entry_hash": self.entry_hash}


@dataclass(slots=True)
class AuditVerification:
    """The outcome of checking the chain. ``ok`` only when ``problems`` is empty."""

    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


MAX_PROBLEMS = 50


def verify_chain(rows: Iterable[Any], head: tuple[int, str] | None) -> AuditVerification:
    """Check rows (ordered by seq, with the AuditEntry columns) against each other and the head."""
    result = AuditVerification()
    expected_seq = 1
    prev = GENESIS_HASH

    def problem(text: str) -> None:
        if len(result.problems) < MAX_PROBLEMS:
            result.problems.append(text)
        elif len(result.problems) == MAX_PROBLEMS:
            result.problems.append("… more problems not listed")

    for row in rows:
        result.entries += 1
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = (f"entry {expected_seq}" if row.seq == expected_seq + 1
                           else f"entries {expected_seq}–{row.seq - 1}")
                problem(f"{missing} missing (deleted): the log jumps to entry {row.seq}")
            else:
                problem(f"entry {row.seq} out of order")
        if row.prev_hash != prev:
            problem(f"entry {row.seq}: link to the previous entry broken (an entry before it "
                    "was changed or deleted)")
        computed = entry_hash(seq=row.seq, at=row.at, actor=row.actor, action=row.action,
                              session_id=row.session_id, terminal_id=row.terminal_id,
                              host=row.host, detail=row.detail, prev_hash=row.prev_hash)
        if computed != row.entry_hash:
            problem(f"entry {row.seq} ({row.action}): content does not match its hash "
                    "(the entry was changed)")
        prev = row.entry_hash
        expected_seq = row.seq + 1
        result.last_seq, result.last_hash = row.seq, row.entry_hash

    if head is None:
        problem("the chain head record is missing (deleted)")
    else:
        head_seq, head_hash = head
        if head_seq != result.last_seq:
            if head_seq > result.last_seq:
                problem(f"the head names entry {head_seq} but the log ends at entry "
                        f"{result.last_seq}: the last entries were deleted")
            else:
                problem(f"the log goes on to entry {result.last_seq} past the head "
                        f"({head_seq}): entries were added outside the store")
        elif head_hash != result.last_hash:
            problem(f"the last entry {result.last_seq} does not match the head's hash "
                    "(it was replaced)")
    return result
