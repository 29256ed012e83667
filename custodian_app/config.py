"""The application's settings: one TOML file per user, one the bank's IT rolls out, and a few
environment variables.

Where a value comes from, weakest first:

1. the defaults below;
2. the system-wide file IT rolls out (``/etc/custodian-app/settings.toml`` on Linux,
   ``%PROGRAMDATA%\\custodian-app\\settings.toml`` on Windows, or ``$CUSTODIAN_SYSTEM_CONFIG``);
3. the user's file (``custodian_app.paths.config_file()``), written by the settings dialog;
4. keys the system file lists in ``locked = [...]``: these beat the user's file, so IT can
   pin the backend URL, the CA bundle or the central database for every branch;
5. the environment: ``CUSTODIAN_DB``, ``CUSTODIAN_BACKEND_URL``, ``CUSTODIAN_BACKEND_TOKEN``
   (for scripts, services and tests; the process owner chose them explicitly).

Every key is documented in docs/configuration.md. The backend token is a secret: the user file
is written with 0600 permissions, ``repr()`` hides it, no error message ever contains it.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field

from custodian_app import paths
from custodian_app.errors import CustodianError
from custodian_app.files import write_atomic

TYPE_CHECKING = False  # typing costs every command 4 ms to import; annotations are strings
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

# Files are handled as os.path strings here, and urllib.parse is imported where a URL is
# taken apart: every command loads the settings, and pathlib with urllib.parse (and its
# ipaddress) costs a fresh process ~6 ms to import.

LANGUAGES = ("zh_CN", "en")
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)
_CODE = re.compile(r"^[0-9A-Z]{2,3}$")  # the spec's host_code pattern
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

ENV_DATABASE = "CUSTODIAN_DB"
ENV_BACKEND_URL = "CUSTODIAN_BACKEND_URL"
ENV_BACKEND_TOKEN = "CUSTODIAN_BACKEND_TOKEN"
ENV_SYSTEM_CONFIG = "CUSTODIAN_SYSTEM_CONFIG"

# Keys in the file ("section.name") -> attribute of Settings. The order is the file's order.
KEYS: dict[str, str] = {
    "serial.port": "serial_port",
    "serial.baud": "serial_baud",
    "backend.url": "backend_url",
    "backend.token": "backend_token",
    "backend.ca_bundle": "backend_ca_bundle",
    "backend.timeout": "backend_timeout",
    "database.url": "database_url",
    "bank.name": "bank_name",
    "bank.branch": "branch_name",
    "interface.language": "language",
    "reconciliation.success_codes": "success_codes",
    "report.appendix": "report_appendix",
}
ATTRIBUTE_KEYS = {attr: key for key, attr in KEYS.items()}  # "backend_url" -> "backend.url"
SECRET_KEYS = frozenset({"backend.token"})
ENV_KEYS = {ENV_DATABASE: "database.url", ENV_BACKEND_URL: "backend.url", ENV_BACKEND_TOKEN: "backend.token"}


class SettingsError(CustodianError):
    """A settings file cannot be read or holds a value that makes no sense."""


@dataclass(repr=False)
class Settings:
    """Effective settings. Attribute names are in KEYS; the GUI edits these and calls
    ``save_settings``. ``locked`` (file keys like ``"backend.url"``) are pinned by IT: show them
    read-only. ``sources`` says where each value came from: default, system, user, locked, env."""

    serial_port: str = ""  # last port used; "" = none chosen yet
    serial_baud: int = 115200
    backend_url: str = ""  # "" = not configured (fetch from a settlement file instead)
    backend_token: str = ""  # secret
    backend_ca_bundle: str = ""  # "" = the system's trust store
    backend_timeout: float = 30.0  # seconds
    database_url: str = ""  # "" = SQLite in the user's data directory
    bank_name: str = ""
    branch_name: str = ""
    language: str = "zh_CN"
    success_codes: tuple[str, ...] = ("00",)
    report_appendix: bool = False

    locked: frozenset[str] = field(default_factory=frozenset, compare=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Values before the environment overrode them, and which keys the user's file held:
    # save_settings uses them so that an environment override is never written to the file.
    _baseline: dict[str, Any] = field(default_factory=dict, compare=False)
    _user_keys: frozenset[str] = field(default_factory=frozenset, compare=False)

    def __post_init__(self) -> None:
        # A settings dialog hands over what was typed: "9600", "30", "00,10". Normalise what
        # can be normalised, so the application never runs on a baud rate that is a string;
        # leave what is invalid for save_settings/validated to report with the key's name.
        for key, attr in KEYS.items():
            try:
                object.__setattr__(self, attr, _check(key, _plain(getattr(self, attr)), "settings"))
            except SettingsError:
                pass

    def __repr__(self) -> str:
        shown = ", ".join(f"{attr}={v!r}" for attr, v in self.to_dict(redact=True).items())
        return f"Settings({shown})"

    __str__ = __repr__

    # Convenience for the callers -------------------------------------------------------
    def success_code_set(self) -> frozenset[str]:
        """What the engine's ``reconcile(..., success_codes=...)`` takes."""
        return frozenset(self.success_codes)

    def effective_database_url(self) -> str:
        return self.database_url or paths.default_database_url()

    def is_locked(self, key: str) -> bool:
        """Whether IT pinned this setting; ``key`` is a file key ("backend.url") or the
        attribute's name ("backend_url"), whichever the caller has at hand."""
        return key in self.locked or ATTRIBUTE_KEYS.get(key) in self.locked

    def source(self, key: str) -> str:
        """Where the value came from (default, system, user, locked, env); file key or attribute."""
        return self.sources.get(key) or self.sources.get(ATTRIBUTE_KEYS.get(key, ""), "default")

    def secrets(self) -> list[str]:
        """Values that must never reach a log: the token and any database password."""
        out = [self.backend_token] if self.backend_token else []
        pw = _url_password(self.database_url)
        if pw:
            out.append(pw)
        return out

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """Settings by file key; with ``redact`` the token is "<set>" and passwords masked."""
        out: dict[str, Any] = {}
        for key, attr in KEYS.items():
            value = getattr(self, attr)
            if redact and key in SECRET_KEYS:
                value = "<set>" if value else ""
            elif redact and key == "database.url":
                value = redact_url(value)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


# ----------------------------------------------------------------------------------------
# Where the files are


def system_config_path() -> str:
    """The file IT rolls out to every branch PC (read-only for the user)."""
    override = os.environ.get(ENV_SYSTEM_CONFIG)
    if override:
        return paths.tidy(override)
    if sys.platform == "win32":
        base = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return os.path.join(base, "custodian-app", "settings.toml")
    if sys.platform == "darwin":
        return "/Library/Application Support/custodian-app/settings.toml"
    return "/etc/custodian-app/settings.toml"


def system_config_file() -> Path:
    from pathlib import Path

    return Path(system_config_path())


# ----------------------------------------------------------------------------------------
# Loading


def load_settings(path: str | os.PathLike | None = None, *, system_path: str | os.PathLike | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Effective settings: defaults < system file < user file < locked system keys < env.

    Raises SettingsError naming the file, the key and the bad value (never the token) when a
    file is not valid TOML or holds a value that makes no sense. Missing files are fine.
    """
    user_path = os.fspath(path) if path is not None else paths.config_path()
    sys_path = os.fspath(system_path) if system_path is not None else system_config_path()
    env = os.environ if environ is None else environ
    warnings: list[str] = []

    defaults = Settings()
    values: dict[str, Any] = {key: getattr(defaults, attr) for key, attr in KEYS.items()}
    sources = {key: "default" for key in KEYS}

    system_doc = _read_toml(sys_path)
    locked: set[str] = set()
    if system_doc is not None:
        raw_locked = system_doc.pop("locked", [])
        if not isinstance(raw_locked, list) or not all(isinstance(k, str) for k in raw_locked):
            raise SettingsError(f"{sys_path}: 'locked' must be a list of keys like \"backend.url\"; "
                                f"fix the file or ask IT")
        for key in raw_locked:
            if key not in KEYS:
                raise SettingsError(f"{sys_path}: 'locked' names an unknown key {key!r}; "
                                    f"known keys: {', '.join(KEYS)}")
        locked = set(raw_locked)
        system_values = _validated(system_doc, sys_path, warnings)
        for key, value in system_values.items():
            values[key], sources[key] = value, "system"
    else:
        system_values = {}

    user_doc = _read_toml(user_path)
    user_values = _validated(user_doc, user_path, warnings) if user_doc is not None else {}
    if user_doc is not None and "locked" in user_doc:
        warnings.append(f"{user_path}: 'locked' only has effect in the system file {sys_path}; ignored")
    for key, value in user_values.items():
        if key in locked:
            continue
        values[key], sources[key] = value, "user"
    for key in locked:
        if key in system_values:
            values[key], sources[key] = system_values[key], "locked"
        else:  # locked but not set: the default is what IT pinned
            sources[key] = "locked"

    baseline = dict(values)
    for var, key in ENV_KEYS.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        values[key] = _check(key, raw, f"environment variable {var}")
        sources[key] = "env"

    ca = values["backend.ca_bundle"]
    if ca and not os.path.isfile(ca):
        warnings.append(f"backend.ca_bundle: the CA bundle {ca} does not exist; HTTPS to the backend "
                        f"will fail until it does")

    kwargs = {attr: values[key] for key, attr in KEYS.items()}
    return Settings(**kwargs, locked=frozenset(locked), sources=sources, warnings=tuple(warnings),
                    _baseline=baseline, _user_keys=frozenset(user_values))


def check_settings_file(path: str | os.PathLike) -> list[str]:
    """Validate one settings file on its own (``custodian-app config check``), as IT would before
    rolling it out: 'locked' is allowed. Returns the warnings; raises SettingsError."""
    path = os.fspath(path)
    doc = _read_toml(path)
    if doc is None:
        raise SettingsError(f"{path}: no such file")
    warnings: list[str] = []
    raw_locked = doc.pop("locked", [])
    if not isinstance(raw_locked, list) or not all(isinstance(k, str) and k in KEYS for k in raw_locked):
        raise SettingsError(f"{path}: 'locked' must be a list of known keys like \"backend.url\"")
    values = _validated(doc, path, warnings)
    if "backend.token" in values:
        warnings.append(f"{path}: holds backend.token; a system-wide file is readable by every user — "
                        f"prefer the user's file or CUSTODIAN_BACKEND_TOKEN")
    ca = values.get("backend.ca_bundle")
    if ca and not os.path.isfile(ca):
        warnings.append(f"backend.ca_bundle: the CA bundle {ca} does not exist on this machine")
    return warnings


def _read_toml(path: str) -> dict[str, Any] | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise SettingsError(f"{path}: is a folder, not a settings file") from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot be read ({exc.strerror}); check its permissions") from exc
    try:
        text = data.decode("utf-8-sig")  # Windows editors like to add a BOM
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: is not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    import tomllib  # here: most commands run with no settings file at all

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message gives the line and column but never the text of the line itself,
        # so a token on a broken line is not echoed.
        raise SettingsError(f"{path}: is not valid TOML: {exc}") from exc


def _validated(doc: dict[str, Any], path: str, warnings: list[str]) -> dict[str, Any]:
    """Flatten a parsed file into {"section.name": value}, checking each value."""
    out: dict[str, Any] = {}
    for section, table in doc.items():
        if section == "locked":
            continue
        if not isinstance(table, dict):
            warnings.append(f"{path}: top-level key {section!r} is not a known setting; ignored")
            continue
        for name, raw in table.items():
            key = f"{section}.{name}"
            if key not in KEYS:
                # Not fatal: a newer settings file rolled out to an older installation must not
                # stop the custodians from working.
                warnings.append(f"{path}: unknown key {key!r} ignored")
                continue
            out[key] = _check(key, raw, str(path))
    return out


def _bad(where: str, key: str, raw: Any, why: str) -> SettingsError:
    shown = "(value withheld)" if key in SECRET_KEYS else _show(key, raw)
    return SettingsError(f"{where}: {key} = {shown}: {why}")


def _show(key: str, raw: Any) -> str:
    if key == "database.url" and isinstance(raw, str):
        raw = redact_url(raw)
    text = repr(raw)
    return text if len(text) <= 120 else text[:117] + "..."


def _check(key: str, raw: Any, where: str) -> Any:
    """One value, checked and normalised; raises SettingsError saying what is expected."""

    def need_str() -> str:
        if not isinstance(raw, str):
            raise _bad(where, key, raw, "must be a string in quotes")
        return raw

    if key == "serial.port":
        return need_str().strip()
    if key == "serial.baud":
        value = raw
        if isinstance(raw, str) and raw.strip().isdigit():
            value = int(raw)
        if isinstance(value, bool) or not isinstance(value, int) or value not in BAUD_RATES:
            raise _bad(where, key, raw, f"must be one of {', '.join(map(str, BAUD_RATES))}")
        return value
    if key == "backend.url":
        value = need_str().strip()
        if value:
            from urllib.parse import urlsplit

            try:
                parts = urlsplit(value)
            except ValueError as exc:
                raise _bad(where, key, raw, "is not a URL") from exc
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise _bad(where, key, raw, "must be an http:// or https:// URL, e.g. "
                                            "https://clearing.bank.example/api")
            if parts.username or parts.password:
                raise _bad(where, key, "(value withheld)",
                           "must not carry a user or password; put the token in backend.token")
        return value
    if key == "backend.token":
        if not isinstance(raw, str):
            raise _bad(where, key, raw, "must be a string in quotes")
        value = raw.strip()
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise _bad(where, key, raw, "must not contain spaces, line breaks or control characters")
        return value
    if key == "backend.ca_bundle":
        value = need_str().strip()
        return paths.tidy(os.path.expanduser(value)) if value else ""
    if key == "backend.timeout":
        value = raw
        if isinstance(raw, str):
            try:
                value = float(raw)
            except ValueError:
                value = raw
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 1 <= value <= 600:
            raise _bad(where, key, raw, "must be a number of seconds between 1 and 600")
        return float(value)
    if key == "database.url":
        value = need_str().strip()
        if value and not _SCHEME.match(value):
            raise _bad(where, key, raw, "must be a database URL such as sqlite:////path/custodian.sqlite3 "
                                        "or postgresql+psycopg://user@host/custodian (or empty)")
        return value
    if key in ("bank.name", "bank.branch"):
        value = need_str().strip()
        if len(value) > 100:
            raise _bad(where, key, raw, "is longer than 100 characters")
        return value
    if key == "interface.language":
        value = need_str().strip()
        if value not in LANGUAGES:
            raise _bad(where, key, raw, 'must be "zh_CN" (简体中文) or "en" (English)')
        return value
    if key == "reconciliation.success_codes":
        if isinstance(raw, str):
            raw_list = [part.strip() for part in raw.split(",")]
        elif isinstance(raw, list):
            raw_list = raw
        else:
            raise _bad(where, key, raw, 'must be a list of codes, e.g. ["00"]')
        codes = []
        for code in raw_list:
            if not isinstance(code, str) or not _CODE.match(code):
                raise _bad(where, key, raw, 'each code must be 2 or 3 digits or capital letters, e.g. "00"')
            if code not in codes:
                codes.append(code)
        if not codes:
            raise _bad(where, key, raw, 'must name at least one code (the usual one is "00")')
        return tuple(codes)
    if key == "report.appendix":
        if not isinstance(raw, bool):
            raise _bad(where, key, raw, "must be true or false (no quotes)")
        return raw
    raise AssertionError(key)  # KEYS and _check out of step


def validated(settings: Settings) -> Settings:
    """``settings`` with every value checked; raises SettingsError naming the first bad key
    (never showing the token). For a settings dialog, before it saves or applies."""
    for key, attr in KEYS.items():
        _check(key, _plain(getattr(settings, attr)), "settings")
    return settings


# ----------------------------------------------------------------------------------------
# Saving


def save_settings(settings: Settings, path: str | os.PathLike | None = None) -> Path:
    """Write the user's settings file atomically with 0600 permissions; returns its path.

    Keys IT locked are not written (they are not the user's to change), nor values that come
    from the environment, nor values equal to what the defaults or the system file give (so a
    later change IT rolls out still reaches this user). Keys this version does not know are
    kept as they were. Raises SettingsError if a value is invalid or the file cannot be written.
    """
    from pathlib import Path

    target = Path(path) if path is not None else paths.config_file()
    try:
        existing = _read_toml(os.fspath(target)) or {}
    except SettingsError:
        existing = {}  # a broken file is what the user is replacing through the dialog
    existing.pop("locked", None)
    env_values = {key: raw for var, key in ENV_KEYS.items() if (raw := os.environ.get(var))}

    for key, attr in KEYS.items():
        section, name = key.split(".")
        value = _check(key, _plain(getattr(settings, attr)), "settings")
        baseline = settings._baseline.get(key, getattr(Settings(), attr))
        if settings.sources.get(key) == "env" and key in env_values and value == _check(
                key, env_values[key], "env"):
            if key in settings._user_keys:
                value = baseline  # keep what the file had; the environment is not persisted
            else:
                _drop(existing, section, name)
                continue
        if key in settings.locked or (key not in settings._user_keys and value == baseline):
            _drop(existing, section, name)
            continue
        existing.setdefault(section, {})
        if not isinstance(existing[section], dict):
            existing[section] = {}
        existing[section][name] = value

    text = _HEADER + dumps_toml(existing)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomic(target, text.encode("utf-8"))
        # The file holds the backend token: readable by its owner only. (On Windows the user
        # profile's ACL does this job; chmod only clears the read-only bit there.)
        os.chmod(target, 0o600)
    except OSError as exc:
        raise SettingsError(f"{target}: cannot be written ({exc.strerror}); check the folder's "
                            f"permissions and free space") from exc
    return target


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, (tuple, frozenset, set)) else value


def _drop(doc: dict[str, Any], section: str, name: str) -> None:
    table = doc.get(section)
    if isinstance(table, dict):
        table.pop(name, None)
        if not table:
            del doc[section]


_HEADER = (
    "# custodian-app settings of this user, written by the settings dialog.\n"
    "# Every key is described in docs/configuration.md. This file may hold the backend token:\n"
    "# keep it readable by its owner only.\n\n"
)


# ----------------------------------------------------------------------------------------
# A small TOML writer: tables of strings, integers, floats, booleans and lists of those —
# all the settings file needs (the standard library reads TOML but does not write it).


def dumps_toml(doc: dict[str, Any]) -> str:
    lines: list[str] = []
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    for name, value in scalars.items():
        lines.append(f"{_toml_key(name)} = {_toml_value(value)}")
    for section, table in tables.items():
        if lines:
            lines.append("")
        lines.append(f"[{_toml_key(section)}]")
        for name, value in table.items():
            if isinstance(value, dict):
                raise SettingsError(f"settings: nested table {section}.{name} cannot be written")
            lines.append(f"{_toml_key(name)} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SettingsError("settings: a number is not finite")
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise SettingsError(f"settings: a value of type {type(value).__name__} cannot be written")


# ----------------------------------------------------------------------------------------
# URLs with passwords


def _url_password(url: str) -> str | None:
    if not url or "://" not in url:
        return None
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, for logs, errors and diagnostics."""
    if not url or "://" not in url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)
        userinfo = netloc[0].split(":", 1)[0]
        return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))
    except ValueError:
        return "(unparseable URL withheld)"
