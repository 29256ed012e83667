"""Errors of the report layer."""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


class ReportError(CustodianError):
    """The report cannot be built or written; the message says what to fix."""


class ReportInputError(ReportError, ValueError):
    """What the report was asked to print is incomplete or inconsistent."""
