"""What support needs when something goes wrong on a branch PC: a diagnostics bundle (logs,
versions, settings without secrets, serial ports). (The words for a port that will not open are
the link's: custodian_app/link/transport.py.)

Nothing in the bundle may identify a card or open the backend: the logs are scrubbed again on
the way in (a log written by another version or another process may have escaped the filter),
the token is "<set>" and a database password is "***".
"""

from __future__ import annotations

import io
import json
import os
import platform
import sys
import zipfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from custodian_app import __version__
from custodian_app.cli import logs
from custodian_app.settings import paths
from custodian_app.support.files import write_atomic

# Distribution names of what the application runs on, as support asks for them.
COMPONENTS = (
    "PySide6",
    "shiboken6",
    "SQLAlchemy",
    "alembic",
    "reportlab",
    "pyserial",
    "orjson",
    "psycopg",
    "argon2-cffi",
    "platformdirs",
)


# ----------------------------------------------------------------------------------------
# Versions, ports, settings


def versions() -> dict[str, Any]:
    """Versions of the application, Python, the OS and the libraries (no imports of them)."""
    out: dict[str, Any] = {
        "custodian-app": __version__,
        "python": sys.version.replace("\n", " "),
        "python_executable": sys.executable,
        "frozen": bool(getattr(sys, "frozen", False)),
        "os": platform.platform(),
        "machine": platform.machine(),
    }
    if sys.platform.startswith("linux"):
        try:
            out["os_release"] = platform.freedesktop_os_release().get("PRETTY_NAME", "")
        except OSError:
            pass
    for name in COMPONENTS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    from custodian_app.domain import formats

    # the ledgers' C scanner is optional: without it, reconcile is right but several times slower
    out["ledger_scanner"] = (
        "C accelerator" if formats.native is not None else "pure Python (no C accelerator)"
    )
    # PySide6 wheels carry the Qt of the same version; reading it from QtCore would need a
    # Qt import outside the GUI package. The GUI adds the runtime qVersion() if it has it.
    out["Qt"] = out.get("PySide6")
    return out


def serial_ports() -> list[dict[str, Any]]:
    """The serial ports the OS reports, with whether this user may open each one."""
    try:
        from serial.tools import list_ports
    except ImportError:  # pragma: no cover - pyserial is a dependency
        return []
    out = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        entry: dict[str, Any] = {"device": port.device, "description": port.description, "hwid": port.hwid}
        if os.name == "posix":
            entry["readable_writable"] = os.access(port.device, os.R_OK | os.W_OK)
            entry["group"] = _group_of(port.device)
        out.append(entry)
    return out


def user_groups() -> list[str]:
    """Groups of the current user (Linux/macOS), for the dialout question."""
    if os.name != "posix":
        return []
    import grp

    names = []
    for gid in sorted(set(os.getgroups()) | {os.getgid()}):
        try:
            names.append(grp.getgrgid(gid).gr_name)
        except KeyError:
            names.append(str(gid))
    return names


def _group_of(device: str) -> str | None:
    if os.name != "posix":
        return None
    import grp

    try:
        gid = os.stat(device).st_gid
    except OSError:
        return None
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _settings_report() -> dict[str, Any]:
    from custodian_app.settings.config import SettingsError, load_settings, system_config_file

    report: dict[str, Any] = {"user_file": str(paths.config_file()), "system_file": str(system_config_file())}
    try:
        settings = load_settings()
    except SettingsError as exc:
        report["error"] = str(exc)  # SettingsError never contains the token
        return report
    report["effective"] = settings.to_dict(redact=True)
    report["sources"] = dict(settings.sources)
    report["locked"] = sorted(settings.locked)
    report["warnings"] = list(settings.warnings)
    return report


def _environment() -> dict[str, str]:
    keep = ("CUSTODIAN_", "QT_", "LANG", "LC_ALL", "XDG_SESSION_TYPE", "WAYLAND_DISPLAY", "DISPLAY")
    out = {}
    for name, value in sorted(os.environ.items()):
        if not name.startswith(keep):
            continue
        if "TOKEN" in name or "PASSWORD" in name or "SECRET" in name:
            value = "<set>" if value else ""
        elif name == "CUSTODIAN_DB":
            from custodian_app.settings.config import redact_url

            value = redact_url(value)
        out[name] = value
    return out


# ----------------------------------------------------------------------------------------
# The bundle


def export_diagnostics(dest_zip: str | os.PathLike, *, extra: dict[str, Any] | None = None) -> Path:
    """Write a zip for support: logs, versions, redacted settings, serial ports, paths.

    ``extra``: what the caller knows and this module cannot (the GUI: the runtime qVersion(),
    the screens, the current wizard page); stored under "extra" in summary.json, scrubbed.

    The zip is written to a temporary file beside ``dest_zip`` and renamed over it, so a
    failure leaves nothing half-written. Returns the path written.
    """
    from custodian_app.settings.config import load_settings, redact_url

    target = Path(dest_zip)
    try:  # the secrets of the current settings, so that the logs are scrubbed of them too
        for secret in load_settings().secrets():
            logs.add_secret(secret)
    except Exception:
        pass
    token = os.environ.get("CUSTODIAN_BACKEND_TOKEN")
    logs.add_secret(token)

    now = datetime.now(UTC)
    try:
        database_url = redact_url(load_settings().effective_database_url())
    except Exception:
        database_url = redact_url(os.environ.get("CUSTODIAN_DB") or paths.default_database_url())
    summary = {
        "created_at": now.isoformat(timespec="seconds"),
        "versions": versions(),
        "paths": {
            "data_dir": str(paths.data_dir()),
            "logs_dir": str(paths.logs_dir()),
            "database_url": database_url,
        },
        "environment": _environment(),
        "user_groups": user_groups(),
    }
    if extra:
        cleaned = logs.clean(json.dumps(extra, ensure_ascii=False, default=str))
        try:
            summary["extra"] = json.loads(cleaned)
        except ValueError:  # a card number that was a JSON number is now text: keep it as text
            summary["extra"] = cleaned
    members: dict[str, bytes] = {
        "README.txt": _README.format(created=summary["created_at"], version=__version__).encode("utf-8"),
        "summary.json": _json(summary),
        "versions.txt": "".join(f"{k}: {v}\n" for k, v in summary["versions"].items()).encode("utf-8"),
        "settings.json": _json(_settings_report()),
        "serial-ports.json": _json(serial_ports()),
    }
    for log_file in logs.log_files():
        try:
            text = log_file.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            text = f"(could not read {log_file.name}: {exc.strerror})\n"
        members[f"logs/{log_file.name}"] = logs.clean(text).encode("utf-8")

    # Built in memory, then written with files.write_atomic: a failure leaves nothing
    # half-written at ``dest_zip``.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stamp = now.timetuple()[:6]
        for name, data in members.items():
            info = zipfile.ZipInfo(f"custodian-diagnostics/{name}", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, buffer.getvalue())
    return target


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n").encode("utf-8")


_README = """custodian-app diagnostics bundle
created {created} by custodian-app {version}

summary.json       versions, paths (database password masked), environment (secrets masked),
                   the user's groups (serial port access on Linux needs 'dialout')
versions.txt       the same versions, one per line
settings.json      the effective settings, where each came from, keys locked by IT, warnings;
                   the backend token is shown only as "<set>"
serial-ports.json  the serial ports the OS reports, and whether this user may open them
logs/              the application's log files, newest first; card numbers and secrets withheld
"""
