"""Support and IT commands: ``diagnostics`` (a bundle for support) and ``config`` (show the
effective settings, check a settings file before rolling it out)."""

from __future__ import annotations

import sys
from pathlib import Path

from custodian_app.cli.common import EXIT_OK, cannot_write, fail


def register(sub) -> None:
    """Add this group's commands to the ``custodian-app`` parser."""
    p = sub.add_parser(
        "diagnostics", help="bundle logs, versions, settings (no secrets) and serial ports for support"
    )
    p.add_argument(
        "--out",
        metavar="FILE.zip",
        type=Path,
        help="where to write the zip (default: custodian-app-diagnostics-DATE.zip here)",
    )
    p.set_defaults(func=run_diagnostics)

    p = sub.add_parser("config", help="show the effective settings or check a settings file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = csub.add_parser("show", help="the effective settings, where each comes from (token hidden)")
    show.set_defaults(func=run_config_show)
    check = csub.add_parser("check", help="validate a settings file (e.g. before IT rolls it out)")
    check.add_argument(
        "file", type=Path, nargs="?", help="the file to check (default: the user's and the system's files)"
    )
    check.set_defaults(func=run_config_check)
    where = csub.add_parser("paths", help="where the settings, logs and data are")
    where.set_defaults(func=run_config_paths)


def run_diagnostics(args) -> int:
    from datetime import datetime

    from custodian_app.cli.diagnostics import export_diagnostics

    out = args.out or Path(f"custodian-app-diagnostics-{datetime.now():%Y%m%d-%H%M%S}.zip")
    if out.suffix.lower() != ".zip":
        return fail(f"{out}: the diagnostics bundle is a zip; name it FILE.zip")
    try:
        written = export_diagnostics(out)
    except OSError as exc:
        return fail(f"{cannot_write(out, exc)}; choose another folder")
    print(f"diagnostics written to {written.resolve()}")
    print("It holds the logs (card numbers withheld), versions, settings (token hidden) and serial ports.")
    return EXIT_OK


def run_config_show(args) -> int:
    from custodian_app.settings.config import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        return fail(exc)
    width = max(len(k) for k in settings.to_dict())
    for key, value in settings.to_dict(redact=True).items():
        source = settings.sources.get(key, "default")
        print(f"{key:<{width}}  {_toml_like(value):<40}  ({source})")
    for warning in settings.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def run_config_check(args) -> int:
    from custodian_app.settings import paths
    from custodian_app.settings.config import (
        SettingsError,
        check_settings_file,
        load_settings,
        system_config_file,
    )

    try:
        if args.file is not None:
            warnings = check_settings_file(args.file)
            checked = [str(args.file)]
        else:
            warnings = list(load_settings().warnings)
            checked = [str(p) for p in (system_config_file(), paths.config_file()) if p.is_file()]
    except SettingsError as exc:
        return fail(exc)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"ok: {', '.join(checked) if checked else 'no settings file; the defaults apply'}")
    return EXIT_OK


def run_config_paths(args) -> int:
    from custodian_app.settings import paths
    from custodian_app.settings.config import SettingsError, load_settings, redact_url, system_config_file

    try:
        db = load_settings().effective_database_url()
    except SettingsError:
        db = paths.default_database_url()
    print(f"user settings    {paths.config_file()}")
    print(f"system settings  {system_config_file()}")
    print(f"data             {paths.data_dir()}")
    print(f"logs             {paths.logs_dir()}")
    print(f"database         {redact_url(db)}")
    return EXIT_OK


def _toml_like(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
