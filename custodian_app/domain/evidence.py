"""The fingerprint of a clearing's evidence, printed on the report and kept with the session.

digest = SHA-256 over four lines, one per document in this order, each ``<name> <sha256 of the
document's bytes as received>`` (``-`` when absent) and a newline. A reprint or a later check
recomputes it from the stored documents; any changed byte changes it.
"""

from __future__ import annotations

import hashlib

EVIDENCE_DOCUMENTS = ("atm-ledger", "host-ledger", "counts", "clearing-result")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def evidence_digest(
    atm_ledger: bytes, host_ledger: bytes, counts: bytes | None, clearing_result: bytes
) -> str:
    lines = []
    for name, data in zip(
        EVIDENCE_DOCUMENTS, (atm_ledger, host_ledger, counts, clearing_result), strict=False
    ):
        lines.append(f"{name} {'-' if data is None else sha256_hex(data)}\n")
    return sha256_hex("".join(lines).encode("ascii"))
