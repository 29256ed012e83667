"""The audit chain: canonical form of an entry, its hash, and the check of the whole chain.

entry_hash = SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the entry's
fields *including* ``prev_hash``; the first entry's ``prev_hash`` is 64 zeros. Changing any
field of any entry breaks its hash; deleting an entry breaks the next one's link and the
sequence; deleting the tail is caught by ``audit_head``, which names the last entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custodian_app.domain.errors import CustodianError, scrub

GENESIS_HASH = "0" * 64

# Keys that must never reach the log (a programming error if they do).
_FORBIDDEN_WORDS = frozenset(
    {"password", "passwd", "token", "secret", "pan", "pin", "credential", "credentials"}
)
# Values under these keys are hex digests, not card numbers: the scrubber would mangle them.
_DIGEST_KEY = re.compile(r"(sha256|digest|hash)$", re.I)
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def format_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor: str | None,
    action: str,
    session_id: int | None,
    terminal_id: str | None,
    host: str,
    detail: str,
    prev_hash: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": format_time(at),
            "actor": actor,
            "action": action,
            "session_id": session_id,
            "terminal_id": terminal_id,
            "host": host,
            "detail": detail,
            "prev_hash": prev_hash,
        }
    )
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
        return {
            "seq": self.seq,
            "at": format_time(self.at),
            "actor": self.actor,
            "action": self.action,
            "session_id": self.session_id,
            "terminal_id": self.terminal_id,
            "host": self.host,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "entry_hash": self.entry_hash,
        }


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
                missing = (
                    f"entry {expected_seq}"
                    if row.seq == expected_seq + 1
                    else f"entries {expected_seq}–{row.seq - 1}"
                )
                problem(f"{missing} missing (deleted): the log jumps to entry {row.seq}")
            else:
                problem(f"entry {row.seq} out of order")
        if row.prev_hash != prev:
            problem(
                f"entry {row.seq}: link to the previous entry broken (an entry before it "
                "was changed or deleted)"
            )
        computed = entry_hash(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            session_id=row.session_id,
            terminal_id=row.terminal_id,
            host=row.host,
            detail=row.detail,
            prev_hash=row.prev_hash,
        )
        if computed != row.entry_hash:
            problem(
                f"entry {row.seq} ({row.action}): content does not match its hash (the entry was changed)"
            )
        prev = row.entry_hash
        expected_seq = row.seq + 1
        result.last_seq, result.last_hash = row.seq, row.entry_hash

    if head is None:
        problem("the chain head record is missing (deleted)")
    else:
        head_seq, head_hash = head
        if head_seq != result.last_seq:
            if head_seq > result.last_seq:
                problem(
                    f"the head names entry {head_seq} but the log ends at entry "
                    f"{result.last_seq}: the last entries were deleted"
                )
            else:
                problem(
                    f"the log goes on to entry {result.last_seq} past the head "
                    f"({head_seq}): entries were added outside the store"
                )
        elif head_hash != result.last_hash:
            problem(f"the last entry {result.last_seq} does not match the head's hash (it was replaced)")
    return result


# -- the anchor: the chain's head kept outside the database ------------------------------------

ANCHOR_FORMAT = "custodian-audit-anchor/1"


class AnchorError(CustodianError, ValueError):
    """An anchor file that cannot be written or read as one."""


def anchor_document(result: AuditVerification, database: str, at: datetime) -> dict[str, Any]:
    """What ``audit anchor`` exports: the head of a chain that has just verified intact."""
    if not result.ok:
        raise AnchorError(
            "the audit log is not intact; an anchor of it would vouch for the "
            "tampering — run 'custodian-app audit verify' and call IT"
        )
    return {
        "format": ANCHOR_FORMAT,
        "database": database,
        "entries": result.entries,
        "last_seq": result.last_seq,
        "last_hash": result.last_hash,
        "exported_at": format_time(at),
    }


def write_anchor(path: str | os.PathLike, doc: dict[str, Any]) -> Path:
    """Write the anchor whole or not at all (a temporary file renamed over the target)."""
    target = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent or ".")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise AnchorError(f"{target}: cannot write the audit anchor: {exc.strerror or exc}") from exc
    return target


def read_anchor(path: str | os.PathLike) -> dict[str, Any]:
    where = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(64 * 1024 + 1)  # an anchor is a few hundred bytes
    except OSError as exc:
        raise AnchorError(f"{where}: cannot read the audit anchor: {exc.strerror or exc}") from exc
    try:
        doc = json.loads(raw) if len(raw) <= 64 * 1024 else None
    except ValueError:
        doc = None
    if (
        type(doc) is not dict
        or doc.get("format") != ANCHOR_FORMAT
        or type(doc.get("last_seq")) is not int
        or doc["last_seq"] < 0
        or type(doc.get("last_hash")) is not str
        or not _HEX64.match(doc["last_hash"])
    ):
        raise AnchorError(
            f"{where}: not an audit anchor ({ANCHOR_FORMAT}) as 'custodian-app audit anchor' writes it"
        )
    return doc


def check_anchor(
    result: AuditVerification, anchor: dict[str, Any], entry_hash_at: Callable[[int], str | None]
) -> list[str]:
    """The problems of a chain (already checked in itself: ``result``) against an anchor.

    The chain only ever grows, so the anchor's last entry must still be there with the same
    hash. Because each hash covers the previous one, that one hash vouches for every entry up
    to it: a chain rewritten from the start, its head reset to match, is caught here.
    """
    seq, want = anchor["last_seq"], anchor["last_hash"]
    when = anchor.get("exported_at", "?")
    if seq == 0:
        return []
    if result.last_seq < seq:
        return [
            f"the anchor of {when} names entry {seq}, but the log ends at entry "
            f"{result.last_seq}: entries were removed, or the whole chain was rewritten"
        ]
    got = entry_hash_at(seq)
    if got != want:
        return [
            f"entry {seq} does not have the hash the anchor of {when} recorded: the chain "
            "up to that entry was rewritten (its head with it)"
        ]
    return []
