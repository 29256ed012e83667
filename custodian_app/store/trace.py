"""The banknote trace: where a serial number went, which notes a card took."""

from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import and_, or_, select

from custodian_app.domain import fields
from custodian_app.store import models as m
from custodian_app.store.base import StoreBase
from custodian_app.store.errors import CardNumberRefused, StoreError
from custodian_app.store.records import NoteTrace

_CARD = fields.MASKED_CARD
_SERIAL_QUERY = re.compile(r"[A-Z0-9?]{1,12}\Z")


class Trace(StoreBase):
    """Banknote searches over every cycle read."""

    def trace_note(self, serial: str, *, limit: int = 1000) -> list[NoteTrace]:
        """Every movement of the banknote(s) with this serial.

        ``?`` in the query stands for a character the caller cannot read; a stored serial's
        ``?`` (unreadable by the ATM) matches any character. Lengths must agree.
        """
        query = (serial or "").strip().upper()
        if not _SERIAL_QUERY.match(query):
            raise StoreError(
                f"serial {serial!r} is not valid: up to 12 of A–Z, 0–9 and ? for an unreadable character"
            )
        exact = (
            m.Banknote.serial == query
            if "?" not in query
            else m.Banknote.serial.like(query.replace("?", "_"))
        )
        unreadable = and_(m.Banknote.unreadable.is_(True), m.Banknote.serial_length == len(query))
        with self._tx(write=False) as s:
            rows = s.scalars(
                select(m.Banknote).where(or_(exact, unreadable)).order_by(m.Banknote.tx_time, m.Banknote.id)
            )
            found = [_note(n) for n in rows if _serial_matches(query, n.serial)]
        return found[:limit]

    def trace_card(self, masked_card: str, start: date | datetime, end: date | datetime) -> list[NoteTrace]:
        """The banknotes of a card's transactions between two days (inclusive) or moments.

        The card must be masked (``622202******1234``); matching uses its first six and last
        four digits, so a different number of ``*`` still finds it.
        """
        card = (masked_card or "").strip()
        if not _CARD.match(card):
            raise CardNumberRefused("trace-card")
        key = card[:6] + card[-4:]
        cond = [m.Banknote.card_key == key]
        if isinstance(start, datetime) or isinstance(end, datetime):
            if not (isinstance(start, datetime) and isinstance(end, datetime)):
                raise TypeError("give two dates or two datetimes")
            cond += [m.Banknote.tx_time >= start, m.Banknote.tx_time <= end]
        else:
            cond += [m.Banknote.tx_date >= start, m.Banknote.tx_date <= end]
        with self._tx(write=False) as s:
            rows = s.scalars(
                select(m.Banknote).where(*cond).order_by(m.Banknote.tx_time, m.Banknote.tsn, m.Banknote.id)
            )
            return [_note(n) for n in rows]


def _serial_matches(query: str, serial: str) -> bool:
    return len(query) == len(serial) and all(
        q == "?" or c == "?" or q == c for q, c in zip(query, serial, strict=False)
    )


def _note(n: m.Banknote) -> NoteTrace:
    return NoteTrace(
        serial=n.serial,
        value=n.value,
        currency=n.currency,
        event=n.event,
        unit=n.unit,
        tsn=n.tsn,
        card=n.card,
        tx_time=n.tx_time,
        terminal_id=n.terminal_id,
        cycle_id=n.cycle_id,
        session_id=n.session_id,
    )
