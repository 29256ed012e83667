"""What support needs when something goes wrong on a branch PC: a diagnostics bundle (logs,
versions, settings without secrets, serial ports) and plain words for a port that will not open.

Nothing in the bundle may identify a card or open the backend: the logs are scrubbed again on
the way in (a log written by another version or another process may have escaped the filter),
the token is "<set>" and a database password is "***".
"""

from __future__ import annotations

import errno
import io
import json
import os
import platform
import sys
import zipfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from custodian_app import __version__, logs, paths
from custodian_app.errors import scrub
from custodian_app.files import write_atomic

# Distribution names of what the application runs on, as support asks for them.
COMPONENTS = ("PySide6", "shiboken6", "SQLAlchemy", "alembic", "reportlab", "pyserial", "orjson",
              "aiohttp", "psycopg", "argon2-cffi", "platformdirs")


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
    out["ledger_scanner"] = "C accelerator" if formats.native is not None else "pure Python (no C accelerator)"
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
        entry: dict[str, Any] = {"device": port.device, "description": port.description,
                                 "hwid": port.hwid}
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
    from custodian_app.config import SettingsError, load_settings, system_config_file

    report: dict[str, Any] = {"user_file": str(paths.config_file()),
                              "system_file": str(system_config_file())}
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
            from custodian_app.config import redact_url

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
    from custodian_app.config import load_settings, redact_url

    target = Path(dest_zip)
    try:  # the secrets of the current settings, so that the logs are scrubbed of them too
        for secret in load_settings().secrets():
            logs.add_secret(secret)
    except Exception:
        pass
    token = os.environ.get("CUSTODIAN_BACKEND_TOKEN")
    logs.add_secret(token)

    now = datetime.now(timezone.utc)
    try:
        database_url = redact_url(load_settings().effective_database_url())
    except Exception:
        database_url = redact_url(os.environ.get("CUSTODIAN_DB") or paths.default_database_url())
    summary = {
        "created_at": now.isoformat(timespec="seconds"),
        "versions": versions(),
        "paths": {"data_dir": str(paths.data_dir()), "logs_dir": str(paths.logs_dir()),
                  "database_url": database_url},
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


# ----------------------------------------------------------------------------------------
# A port that will not open


def _find_errno(exc: BaseException | None) -> int | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        code = getattr(exc, "errno", None)
        if isinstance(code, int):
            return code
        for arg in getattr(exc, "args", ())[:1]:  # pyserial: SerialException(errno, message)
            if isinstance(arg, int) and not isinstance(arg, bool):
                return arg
        exc = exc.__cause__ or exc.__context__
    return None


def _find_text(exc: BaseException | None) -> str:
    parts = []
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        parts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return " | ".join(parts)


_MESSAGES = {
    "en": {
        "denied_linux": "You are not allowed to open the serial port {device}. On Linux, the user "
                        "must be a member of the '{group}' group to use serial ports{groups}. Ask IT, or "
                        "run:  sudo usermod -aG {group} $USER  then log out and log in again (a new "
                        "group takes effect only in a new login session).",
        "denied_windows": "The serial port {device} is in use or access is denied. Close any other "
                          "program using it (another custodian-app window, a terminal program, the "
                          "ATM vendor's tool), then try again; if it persists, unplug and replug the "
                          "cable.",
        "denied_other": "You are not allowed to open the serial port {device}. Check its permissions "
                        "or ask IT to give this user access to serial ports.",
        "missing": "There is no serial port {device}. Check that the cable is plugged in and the "
                   "USB-serial adapter is recognised (it should appear in the list of ports), and that "
                   "the port chosen in the settings is the right one.",
        "busy": "The serial port {device} is busy: another program has it open (another "
                "custodian-app, a terminal program, ModemManager). Close it and try again.",
        "gone": "The serial port {device} stopped responding: the USB-serial adapter was probably "
                "unplugged. Plug the cable in again, choose the port again and retry.",
        "timeout": "The ATM did not answer on {device}. Check that the cable is in the ATM's "
                   "maintenance port, the ATM is in supervisor mode, and the line speed matches "
                   "the ATM's ({hint}).",
        "other": "The serial port {device} could not be used: {detail}. Check the cable, the port "
                 "chosen and the line speed, then try again.",
        "groups": " (this user is in: {names})",
    },
    "zh_CN": {
        "denied_linux": "没有权限打开串口 {device}。在 Linux 上，用户必须属于“{group}”组才能使用串口{groups}。"
                        "请联系 IT，或运行： sudo usermod -aG {group} $USER  然后注销并重新登录（新的组"
                        "只在新的登录会话中生效）。",
        "denied_windows": "串口 {device} 正被占用或拒绝访问。请关闭正在使用它的其他程序（另一个 custodian-app "
                          "窗口、终端程序、ATM 厂商工具）后重试；如仍不行，请拔下并重新插上连接线。",
        "denied_other": "没有权限打开串口 {device}。请检查其权限，或请 IT 为此用户开通串口访问。",
        "missing": "串口 {device} 不存在。请检查连接线是否插好、USB 转串口适配器是否被识别（应出现在端口列表中），"
                   "以及设置中选择的端口是否正确。",
        "busy": "串口 {device} 正忙：另一个程序已打开它（另一个 custodian-app、终端程序、ModemManager）。"
                "请关闭后重试。",
        "gone": "串口 {device} 停止响应：USB 转串口适配器可能已被拔出。请重新插好连接线，重新选择端口后重试。",
        "timeout": "ATM 在 {device} 上没有应答。请检查连接线是否插在 ATM 的维护端口、ATM 是否处于管理员模式，"
                   "以及波特率是否与 ATM 一致（{hint}）。",
        "other": "无法使用串口 {device}：{detail}。请检查连接线、所选端口和波特率后重试。",
        "groups": "（此用户当前所属组：{names}）",
    },
}


def explain_port_error(device: str, exc: BaseException, *, language: str = "en",
                       platform_name: str | None = None) -> str:
    """Plain words for a serial port that cannot be opened or used, saying what to do next.

    ``exc`` is what opening or using the port raised: an OSError, pyserial's SerialException
    (which carries the errno as its first argument), or a link error raised ``from`` one of
    those. ``language`` is "en" or "zh_CN". ``platform_name`` defaults to ``sys.platform``.
    """
    texts = _MESSAGES.get(language, _MESSAGES["en"])
    plat = platform_name or sys.platform
    code = _find_errno(exc)
    text = _find_text(exc)
    lowered = text.lower()

    if code in (errno.EACCES, errno.EPERM) or isinstance(exc, PermissionError) or "permission denied" in lowered \
            or "access is denied" in lowered:
        if plat.startswith("linux"):
            group = _group_of(device) if device.startswith("/dev/") else None
            if not group or group == "root":
                group = "dialout"
            names = user_groups()
            groups = texts["groups"].format(names=", ".join(names)) if names else ""
            return texts["denied_linux"].format(device=device, group=group, groups=groups)
        if plat == "win32":
            return texts["denied_windows"].format(device=device)
        return texts["denied_other"].format(device=device)
    if code == errno.ENOENT or "no such file" in lowered or "filenotfounderror" in lowered \
            or "cannot find the file" in lowered:
        return texts["missing"].format(device=device)
    if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "resource busy" in lowered \
            or "exclusively lock" in lowered or "in use" in lowered:
        return texts["busy"].format(device=device)
    if code in (errno.ENXIO, errno.EIO, errno.ENODEV) or isinstance(exc, ConnectionError) \
            or "device reports readiness to read but returned no data" in lowered:
        return texts["gone"].format(device=device)
    if isinstance(exc, TimeoutError) or code == errno.ETIMEDOUT or "timed out" in lowered or "timeout" in lowered:
        return texts["timeout"].format(device=device, hint="115200 baud by default")
    detail = scrub(text) or type(exc).__name__
    return texts["other"].format(device=device, detail=detail)
