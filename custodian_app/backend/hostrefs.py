"""Checks of a backend ledger's references that its format alone does not make.

Both ways the backend's ledger comes in (fetched, or imported as a settlement file in JSON or
CSV) call ``host_ref_problem``, so the same ledger gets the same verdict on every path:

- a ``host_ref`` (or ``tsn``) that looks like a full card number is refused, without echoing
  it: it would be stored as evidence and printed in the report;
- a ``host_ref`` given twice is refused: the reconciliation ties records by it.
"""

from __future__ import annotations

from typing import Iterable

from custodian_app.domain.formats import HostTransaction
from custodian_app.domain.fields import has_full_card as has_full_pan


def host_ref_problem(transactions: Iterable[HostTransaction]) -> tuple[int, str, str] | None:
    """The first problem as (record index from 0, field, message), or None."""
    first: dict[str, int] = {}
    for i, tx in enumerate(transactions):
        for name in ("host_ref", "tsn"):
            value = getattr(tx, name)
            if value is not None and has_full_pan(value):
                return i, name, (f"the {name} looks like a full card number (not shown); a backend "
                                 "ledger must never carry one; ask the bank's IT for a corrected ledger")
        if tx.host_ref in first:
            return i, "host_ref", (f"backend reference {tx.host_ref!r} appears twice (also record "
                                   f"{first[tx.host_ref] + 1}); the ledger is damaged; ask the bank's "
                                   "IT for a corrected one")
        first[tx.host_ref] = i
    return None
