"""The keys of the settings file, declared: each key's attribute, type, default, rule, and
whether IT may lock it or it is a secret. ``custodian_app.settings.config`` reads and writes the files;
this module says what a valid value is and how a bad one is reported (never echoing a secret).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from custodian_app.domain.errors import CustodianError

LANGUAGES = ("zh_CN", "en")
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_CODE = re.compile(r"^[0-9A-Z]{2,3}$")  # the spec's host_code pattern
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

ENV_DATABASE = "CUSTODIAN_DB"
ENV_BACKEND_URL = "CUSTODIAN_BACKEND_URL"
ENV_BACKEND_TOKEN = "CUSTODIAN_BACKEND_TOKEN"
ENV_SYSTEM_CONFIG = "CUSTODIAN_SYSTEM_CONFIG"


class SettingsError(CustodianError):
    """A settings file cannot be read or holds a value that makes no sense."""


class _Invalid(ValueError):
    """A value breaks its setting's rule: ``why`` says what is expected; ``shown`` replaces the
    value in the message when the value itself must not be echoed."""

    def __init__(self, why: str, shown: Any = None) -> None:
        super().__init__(why)
        self.why, self.shown = why, shown


# ----------------------------------------------------------------------------------------
# The settings, declared


@dataclass(frozen=True)
class Setting:
    """One key of the settings file.

    ``type`` is what the file holds (``tuple`` = a TOML list); a value of another type is
    refused with ``expect``, except the strings a dialog hands over ("9600", "30", "00,10"),
    which are converted first. ``rule`` checks and normalises a value of the right type.
    ``lockable``: IT may pin it with ``locked = [...]``. ``secret``: never shown, never logged.
    """

    key: str  # "section.name" in the file
    attr: str  # the attribute of Settings
    type: type
    default: Any
    expect: str = "must be a string in quotes"
    rule: Callable[[Any], Any] | None = None
    lockable: bool = True
    secret: bool = False


def _one_of(choices: tuple, why: str) -> Callable[[Any], Any]:
    def rule(value: Any) -> Any:
        if value not in choices:
            raise _Invalid(why)
        return value

    return rule


def _at_most(length: int) -> Callable[[str], str]:
    def rule(value: str) -> str:
        if len(value) > length:
            raise _Invalid(f"is longer than {length} characters")
        return value

    return rule


def _backend_url(value: str) -> str:
    if not value:
        return value
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError as exc:
        raise _Invalid("is not a URL") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise _Invalid("must be an http:// or https:// URL, e.g. https://clearing.bank.example/api")
    if parts.username or parts.password:
        raise _Invalid(
            "must not carry a user or password; put the token in backend.token", shown="(value withheld)"
        )
    return value


def _token(value: str) -> str:
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise _Invalid("must not contain spaces, line breaks or control characters")
    return value


def _file_path(value: str) -> str:
    # Path() tidies separators and "." but keeps "..": a symlink may come before it.
    return str(Path(value).expanduser()) if value else ""


def _timeout(value: float) -> float:
    if not 1 <= value <= 600:
        raise _Invalid("must be a number of seconds between 1 and 600")
    return value


def _database_url(value: str) -> str:
    if value and not _SCHEME.match(value):
        raise _Invalid(
            "must be a database URL such as sqlite:////path/custodian.sqlite3 "
            "or postgresql+psycopg://user@host/custodian (or empty)"
        )
    return value


def _success_codes(values: tuple) -> tuple[str, ...]:
    codes: list[str] = []
    for code in values:
        if not isinstance(code, str) or not _CODE.match(code):
            raise _Invalid('each code must be 2 or 3 digits or capital letters, e.g. "00"')
        if code not in codes:
            codes.append(code)
    if not codes:
        raise _Invalid('must name at least one code (the usual one is "00")')
    return tuple(codes)


_BAUD_WORDS = f"must be one of {', '.join(map(str, BAUD_RATES))}"

# The file's keys in the file's order. docs/configuration.md describes each one.
SETTINGS: tuple[Setting, ...] = (
    Setting("serial.port", "serial_port", str, ""),  # last port used; "" = none chosen yet
    Setting("serial.baud", "serial_baud", int, 115200, _BAUD_WORDS, _one_of(BAUD_RATES, _BAUD_WORDS)),
    Setting("backend.url", "backend_url", str, "", rule=_backend_url),  # "" = import a file instead
    # Not lockable: a locked token would have to sit in the system file, which every user reads.
    Setting("backend.token", "backend_token", str, "", rule=_token, lockable=False, secret=True),
    Setting("backend.ca_bundle", "backend_ca_bundle", str, "", rule=_file_path),  # "" = the OS's store
    Setting(
        "backend.timeout",
        "backend_timeout",
        float,
        30.0,
        "must be a number of seconds between 1 and 600",
        _timeout,
    ),
    Setting("database.url", "database_url", str, "", rule=_database_url),  # "" = local SQLite
    Setting("bank.name", "bank_name", str, "", rule=_at_most(100)),
    Setting("bank.branch", "branch_name", str, "", rule=_at_most(100)),
    Setting(
        "interface.language",
        "language",
        str,
        "zh_CN",
        rule=_one_of(LANGUAGES, 'must be "zh_CN" (简体中文) or "en" (English)'),
    ),
    Setting(
        "reconciliation.success_codes",
        "success_codes",
        tuple,
        ("00",),
        'must be a list of codes, e.g. ["00"]',
        _success_codes,
    ),
    Setting("report.appendix", "report_appendix", bool, False, "must be true or false (no quotes)"),
)
BY_KEY = {s.key: s for s in SETTINGS}
BY_ATTR = {s.attr: s for s in SETTINGS}
ENV_KEYS = {ENV_DATABASE: "database.url", ENV_BACKEND_URL: "backend.url", ENV_BACKEND_TOKEN: "backend.token"}


def _coerce(setting: Setting, raw: Any) -> Any:
    """``raw`` as a value of the setting's type, or _Invalid."""
    kind = setting.type
    if kind is str:
        if not isinstance(raw, str):
            raise _Invalid(setting.expect)
        return raw.strip()
    if kind is tuple:
        if isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(","))
        if isinstance(raw, (list, tuple)):
            return tuple(raw)
        raise _Invalid(setting.expect)
    value = raw
    if isinstance(raw, str) and kind is int and raw.strip().isdigit():
        value = int(raw)
    elif isinstance(raw, str) and kind is float:
        try:
            value = float(raw)  # seconds, not money
        except ValueError:
            pass
    numeric = (int, float) if kind is float else kind
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, numeric):
        raise _Invalid(setting.expect)
    return float(value) if kind is float else value


def check(key: str, raw: Any, where: str) -> Any:
    """One value, checked and normalised; raises SettingsError saying what is expected."""
    setting = BY_KEY[key]
    try:
        value = _coerce(setting, raw)
        return setting.rule(value) if setting.rule else value
    except _Invalid as exc:
        raise _bad(where, setting, raw if exc.shown is None else exc.shown, exc.why) from None


def _bad(where: str, setting: Setting, raw: Any, why: str) -> SettingsError:
    if setting.secret:
        shown = "(value withheld)"
    else:
        text = repr(redact_url(raw) if isinstance(raw, str) else raw)  # a URL's password masked
        shown = text if len(text) <= 120 else text[:117] + "..."
    return SettingsError(f"{where}: {setting.key} = {shown}: {why}")


# ----------------------------------------------------------------------------------------
# URLs with passwords


def url_password(url: str) -> str | None:
    if not url or "://" not in url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for logs, errors and diagnostics."""
    if not url or "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))
    except ValueError:
        return "(unparseable URL withheld)"
