"""What a report says about itself (``ReportMeta``), and a card number as it is printed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from custodian_app.domain import fields
from custodian_app.domain.errors import scrub
from custodian_app.report.errors import ReportInputError

LANGUAGES = ("both", "zh", "en")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")
DASH = "—"
NOT_SET = "（未设置 not set）"


@dataclass(frozen=True)
class ReportMeta:
    """What the report says about itself: who, where, when, and the evidence it stands for.

    ``printed_at`` is an aware datetime or an RFC 3339 string. ``custodians`` are the two
    custodians' names (dual custody), or empty when they are not known (a file reconciled from
    the command line): their name lines are then left blank to be written by hand.
    ``evidence_sha256`` is
    ``custodian_app.domain.evidence.evidence_digest(...)`` of the clearing's documents; without
    it the report says it cannot be verified. ``headless``: the clearing was done from the
    command line, without the wizard; the report says so. ``language``: "both" (Chinese first,
    then English), "zh" or "en". ``verify_command``: printed on the last page; by default
    ``custodian-app session verify <session_id> --pdf <file>``.
    """

    bank: str
    branch: str
    report_no: str
    printed_at: datetime | str
    printed_by: str
    custodians: tuple[str, str] | list[str] | None
    supervisor: str | None = None
    evidence_sha256: str | None = None
    headless: bool = False
    language: str = "both"
    verify_command: str | None = None
    session_id: str | int | None = None
    draft: bool = False  # not signed off yet: every page is marked 草稿 DRAFT
    # (file, line) of each journal line accepted as a gap when the ATM's ledger was read from
    # its journal files (``clear --journal --accept-gaps``): listed on the report
    journal_gaps: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.report_no, str) or not self.report_no.strip():
            raise ReportInputError("report: the report number is missing")
        # Bank and branch come from the settings, which a fresh installation may not have
        # filled in yet: the report says so rather than refuse to print.
        for name in ("bank", "branch", "printed_by"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ReportInputError(f"report: {name} must be text")
            if not (value or "").strip():
                object.__setattr__(self, name, NOT_SET if name != "printed_by" else DASH)
        if self.language not in LANGUAGES:
            raise ReportInputError(
                f"report: language must be one of {', '.join(LANGUAGES)}, not {self.language!r}"
            )
        custodians = tuple(self.custodians or ())
        if custodians and (
            len(custodians) != 2 or not all(isinstance(c, str) and c.strip() for c in custodians)
        ):
            raise ReportInputError(
                "report: name the two custodians (dual custody), or none to "
                f"leave their names to be written by hand; got {len(custodians)} name(s)"
            )
        object.__setattr__(self, "custodians", custodians or ("", ""))
        if self.evidence_sha256 is not None:
            digest = self.evidence_sha256.lower() if isinstance(self.evidence_sha256, str) else None
            if digest is None or not _SHA256.match(digest):
                raise ReportInputError(
                    "report: evidence_sha256 must be 64 hexadecimal digits "
                    "(custodian_app.domain.evidence.evidence_digest)"
                )
            object.__setattr__(self, "evidence_sha256", digest)
        object.__setattr__(self, "printed_at", _aware(self.printed_at))

    def command(self, filename: str | None = None) -> str:
        if self.verify_command:
            return self.verify_command
        return (
            f"custodian-app session verify {self.session_id or '<session>'} "
            f"--pdf {filename or '<report.pdf>'}"
        )


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ReportInputError(f"report: printed_at {value!r} is not an RFC 3339 time") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ReportInputError("report: printed_at must be a time with its UTC offset")
    return value


def mask_card(card: str | None) -> str:
    """The card as printed: masked. A full number that slipped through is masked here too."""
    if not card:
        return DASH
    if fields.is_masked_card(card):
        return card
    if fields.is_full_card(card):
        return fields.mask_card(card)
    return scrub(card)
