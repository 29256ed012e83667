"""The application's settings: one TOML file per user, one the bank's IT rolls out, and a few
environment variables.

Where a value comes from, weakest first:

1. the defaults (``custodian_app.settings.keys.SETTINGS``, where every key is declared);
2. the system-wide file IT rolls out (``/etc/custodian-app/settings.toml`` on Linux,
   ``%PROGRAMDATA%\\custodian-app\\settings.toml`` on Windows, or ``$CUSTODIAN_SYSTEM_CONFIG``);
3. the user's file (``custodian_app.settings.paths.config_file()``), written by the settings dialog;
4. keys the system file lists in ``locked = [...]``: these beat the user's file, so IT can
   pin the backend URL, the CA bundle or the central database for every branch;
5. the environment: ``CUSTODIAN_DB``, ``CUSTODIAN_BACKEND_URL``, ``CUSTODIAN_BACKEND_TOKEN``
   (for scripts, services and tests; the process owner chose them explicitly).

Every key is documented in docs/configuration.md. The backend token is a secret: the user file
is written with 0600 permissions, ``repr()`` hides it, no error message ever contains it.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from custodian_app.settings import paths
from custodian_app.settings.keys import (
    BAUD_RATES,
    BY_ATTR,
    BY_KEY,
    ENV_KEYS,
    ENV_SYSTEM_CONFIG,
    LANGUAGES,
    SETTINGS,
    Setting,
    SettingsError,
    check,
    redact_url,
    url_password,
)
from custodian_app.support.files import write_atomic

__all__ = [
    "BAUD_RATES",
    "LANGUAGES",
    "SETTINGS",
    "Setting",
    "Settings",
    "SettingsError",
    "check_settings_file",
    "load_settings",
    "redact_url",
    "save_settings",
    "system_config_file",
    "validated",
]


def _default(attr: str) -> Any:
    return BY_ATTR[attr].default


@dataclass(repr=False)
class Settings:
    """Effective settings, one attribute per entry of SETTINGS; the GUI edits these and calls
    ``save_settings``. ``locked`` (file keys like ``"backend.url"``) are pinned by IT: show them
    read-only. ``sources`` says where each value came from: default, system, user, locked, env."""

    serial_port: str = _default("serial_port")
    serial_baud: int = _default("serial_baud")
    backend_url: str = _default("backend_url")
    backend_token: str = _default("backend_token")
    backend_ca_bundle: str = _default("backend_ca_bundle")
    backend_timeout: float = _default("backend_timeout")  # seconds
    database_url: str = _default("database_url")
    bank_name: str = _default("bank_name")
    branch_name: str = _default("branch_name")
    language: str = _default("language")
    success_codes: tuple[str, ...] = _default("success_codes")
    report_appendix: bool = _default("report_appendix")

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
        for s in SETTINGS:
            try:
                setattr(self, s.attr, check(s.key, getattr(self, s.attr), "settings"))
            except SettingsError:
                pass

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{s.attr}={v!r}" for s, v in zip(SETTINGS, self.to_dict(redact=True).values(), strict=False)
        )
        return f"Settings({shown})"

    __str__ = __repr__

    # Convenience for the callers -------------------------------------------------------
    def success_code_set(self) -> frozenset[str]:
        """What the engine's ``reconcile(..., success_codes=...)`` takes."""
        return frozenset(self.success_codes)

    def effective_database_url(self) -> str:
        return self.database_url or paths.default_database_url()

    def _key(self, key: str) -> str:
        """A file key ("backend.url") from either it or the attribute's name ("backend_url")."""
        setting = BY_ATTR.get(key)
        return setting.key if setting else key

    def is_locked(self, key: str) -> bool:
        """Whether IT pinned this setting; ``key`` is a file key or an attribute's name."""
        return self._key(key) in self.locked

    def source(self, key: str) -> str:
        """Where the value came from (default, system, user, locked, env); file key or attribute."""
        return self.sources.get(self._key(key), "default")

    def secrets(self) -> list[str]:
        """Values that must never reach a log: the token and any database password."""
        out = [getattr(self, s.attr) for s in SETTINGS if s.secret and getattr(self, s.attr)]
        pw = url_password(self.database_url)
        if pw:
            out.append(pw)
        return out

    def to_dict(self, *, redact: bool = True) -> dict[str, Any]:
        """Settings by file key; with ``redact`` the token is "<set>" and passwords masked."""
        out: dict[str, Any] = {}
        for s in SETTINGS:
            value = getattr(self, s.attr)
            if redact and s.secret:
                value = "<set>" if value else ""
            elif redact and s.key == "database.url":
                value = redact_url(value)
            out[s.key] = list(value) if isinstance(value, tuple) else value
        return out


# ----------------------------------------------------------------------------------------
# Where the files are


def system_config_file() -> Path:
    """The file IT rolls out to every branch PC (read-only for the user). The folders are the
    documented ones (docs/configuration.md, the installers), not platformdirs' site folders:
    on Linux those would be /etc/xdg/custodian-app."""
    override = os.environ.get(ENV_SYSTEM_CONFIG)
    if override:
        return Path(override)
    if sys.platform == "win32":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData"), "custodian-app", "settings.toml")
    if sys.platform == "darwin":
        return Path("/Library/Application Support/custodian-app/settings.toml")
    return Path("/etc/custodian-app/settings.toml")


# ----------------------------------------------------------------------------------------
# Loading


def load_settings(
    path: str | os.PathLike | None = None,
    *,
    system_path: str | os.PathLike | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Effective settings: defaults < system file < user file < locked system keys < env.

    Raises SettingsError naming the file, the key and the bad value (never the token) when a
    file is not valid TOML or holds a value that makes no sense. Missing files are fine.
    """
    user_path = Path(path) if path is not None else paths.config_file()
    sys_path = Path(system_path) if system_path is not None else system_config_file()
    env = os.environ if environ is None else environ
    warnings: list[str] = []

    values: dict[str, Any] = {s.key: s.default for s in SETTINGS}
    sources = {s.key: "default" for s in SETTINGS}

    system_doc = _read_toml(sys_path)
    locked: set[str] = set()
    if system_doc is not None:
        locked = _locked_keys(system_doc, sys_path)
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
        values[key] = check(key, raw, f"environment variable {var}")
        sources[key] = "env"

    ca = values["backend.ca_bundle"]
    if ca and not os.path.isfile(ca):
        warnings.append(
            f"backend.ca_bundle: the CA bundle {ca} does not exist; HTTPS to the backend "
            f"will fail until it does"
        )

    kwargs = {s.attr: values[s.key] for s in SETTINGS}
    return Settings(
        **kwargs,
        locked=frozenset(locked),
        sources=sources,
        warnings=tuple(warnings),
        _baseline=baseline,
        _user_keys=frozenset(user_values),
    )


def check_settings_file(path: str | os.PathLike) -> list[str]:
    """Validate one settings file on its own (``custodian-app config check``), as IT would before
    rolling it out: 'locked' is allowed. Returns the warnings; raises SettingsError."""
    path = Path(path)
    doc = _read_toml(path)
    if doc is None:
        raise SettingsError(f"{path}: no such file")
    warnings: list[str] = []
    _locked_keys(doc, path)
    values = _validated(doc, path, warnings)
    if "backend.token" in values:
        warnings.append(
            f"{path}: holds backend.token; a system-wide file is readable by every user — "
            f"prefer the user's file or CUSTODIAN_BACKEND_TOKEN"
        )
    ca = values.get("backend.ca_bundle")
    if ca and not os.path.isfile(ca):
        warnings.append(f"backend.ca_bundle: the CA bundle {ca} does not exist on this machine")
    return warnings


def _locked_keys(doc: dict[str, Any], path: Path) -> set[str]:
    """The system file's ``locked = [...]``, taken out of ``doc`` and checked."""
    raw_locked = doc.pop("locked", [])
    if not isinstance(raw_locked, list) or not all(isinstance(k, str) for k in raw_locked):
        raise SettingsError(
            f"{path}: 'locked' must be a list of keys like \"backend.url\"; fix the file or ask IT"
        )
    for key in raw_locked:
        if key not in BY_KEY:
            raise SettingsError(
                f"{path}: 'locked' names an unknown key {key!r}; known keys: {', '.join(BY_KEY)}"
            )
        if not BY_KEY[key].lockable:
            raise SettingsError(
                f"{path}: 'locked' names {key}, which cannot be locked: it is a "
                "secret and the system file is readable by every user; take it out"
            )
    return set(raw_locked)


def _read_toml(path: Path) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
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
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message gives the line and column but never the text of the line itself,
        # so a token on a broken line is not echoed.
        raise SettingsError(f"{path}: is not valid TOML: {exc}") from exc


def _validated(doc: dict[str, Any], path: Path, warnings: list[str]) -> dict[str, Any]:
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
            if key not in BY_KEY:
                # Not fatal: a newer settings file rolled out to an older installation must not
                # stop the custodians from working.
                warnings.append(f"{path}: unknown key {key!r} ignored")
                continue
            out[key] = check(key, raw, str(path))
    return out


def validated(settings: Settings) -> Settings:
    """``settings`` with every value checked; raises SettingsError naming the first bad key
    (never showing the token). For a settings dialog, before it saves or applies."""
    for s in SETTINGS:
        check(s.key, getattr(settings, s.attr), "settings")
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
    target = Path(path) if path is not None else paths.config_file()
    try:
        existing = _read_toml(target) or {}
    except SettingsError:
        existing = {}  # a broken file is what the user is replacing through the dialog
    existing.pop("locked", None)
    env_values = {key: raw for var, key in ENV_KEYS.items() if (raw := os.environ.get(var))}

    for s in SETTINGS:
        key = s.key
        section, name = key.split(".")
        value = check(key, getattr(settings, s.attr), "settings")
        baseline = settings._baseline.get(key, s.default)
        if (
            settings.sources.get(key) == "env"
            and key in env_values
            and value == check(key, env_values[key], "env")
        ):
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
        existing[section][name] = list(value) if isinstance(value, tuple) else value

    text = _HEADER + tomli_w.dumps(existing)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        write_atomic(target, text.encode("utf-8"))
        # The file holds the backend token: readable by its owner only. (On Windows the user
        # profile's ACL does this job; chmod only clears the read-only bit there.)
        os.chmod(target, 0o600)
    except OSError as exc:
        raise SettingsError(
            f"{target}: cannot be written ({exc.strerror}); check the folder's permissions and free space"
        ) from exc
    return target


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
