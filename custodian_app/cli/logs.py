"""Log files for support: rotating, UTF-8, in the user's data directory, with no card number
and no secret in them.

Scrubbing happens where a record is made (a log record factory), not only in our handlers: a
record reaches every handler — ours, a console, pytest's caplog, a handler some library adds —
already clean. Our handlers carry the same filter as well, in case someone replaces the factory.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import traceback
from collections.abc import Iterable
from pathlib import Path

from custodian_app.domain.errors import add_secret, scrub
from custodian_app.settings import paths

__all__ = [
    "BACKUP_COUNT",
    "ENV_LEVEL",
    "FORMAT",
    "LOG_FILE_NAME",
    "MAX_BYTES",
    "ScrubFilter",
    "add_secret",
    "clean",
    "log_files",
    "setup_logging",
    "shutdown_logging",
]

LOG_FILE_NAME = "custodian-app.log"
MAX_BYTES = 2 * 1024 * 1024  # per file; 2 MB is weeks of clearings at INFO
BACKUP_COUNT = 5  # so at most 12 MB of logs on the branch PC
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
ENV_LEVEL = "CUSTODIAN_LOG_LEVEL"

_installed_factory = None


def clean(text: str) -> str:
    """``text`` with card numbers and the registered secrets withheld: ``errors.scrub``, the one
    scrubber (its secrets are those given to ``errors.add_secret``, also offered here)."""
    return scrub(text) if text else text


def _clean_record(record: logging.LogRecord) -> logging.LogRecord:
    if getattr(record, "_custodian_clean", False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the record
        message = f"{record.msg!r} % {record.args!r}"
    record.msg, record.args = clean(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = clean("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        # The traceback objects hold frames whose locals may contain the secret; the text is
        # all a handler needs.
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = clean(record.exc_text)
    if record.stack_info:
        record.stack_info = clean(record.stack_info)
    record._custodian_clean = True
    return record


class ScrubFilter(logging.Filter):
    """Rewrites every record it sees so that no card number or secret remains."""

    def filter(self, record: logging.LogRecord) -> bool:
        _clean_record(record)
        return True


def _install_factory() -> None:
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory:
        return
    previous = current

    def factory(*args, **kwargs):
        return _clean_record(previous(*args, **kwargs))

    factory._custodian_previous = previous  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
    _installed_factory = factory


def _remove_our_handlers(logger: logging.Logger) -> None:
    """Take off and close the handlers setup_logging installed (a second setup replaces them)."""
    for handler in [h for h in logger.handlers if getattr(h, "_custodian_handler", False)]:
        logger.removeHandler(handler)
        handler.close()


def setup_logging(
    level: int | str | None = None,
    console: bool = False,
    *,
    secrets: Iterable[str] | None = None,
    log_dir: str | os.PathLike | None = None,
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
) -> Path:
    """Send the application's logs to a rotating file (and stderr with ``console``).

    ``level``: a logging level or its name; default ``$CUSTODIAN_LOG_LEVEL`` or INFO.
    ``secrets``: values to withhold besides card numbers; by default the backend token and the
    database password from the settings (a broken settings file does not stop logging).
    Calling it again replaces the handlers it installed before. Returns the log file's path.
    """
    if level is None:
        level = os.environ.get(ENV_LEVEL, "INFO")
    if isinstance(level, str):
        resolved = logging.getLevelName(level.strip().upper())
        level = resolved if isinstance(resolved, int) else logging.INFO

    if secrets is None:
        secrets = _secrets_from_settings()
    for secret in secrets:
        add_secret(secret)
    _install_factory()

    problem = None
    try:
        folder = Path(log_dir) if log_dir is not None else paths.logs_dir()
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only profile must not stop a clearing: log to stderr
        folder = Path(log_dir) if log_dir is not None else paths.data_dir() / "logs"
        problem = f"cannot create the log folder {folder} ({exc.strerror}); logging to the console only"
        console = True
    log_file = folder / LOG_FILE_NAME

    root = logging.getLogger()
    _remove_our_handlers(root)

    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    if not problem:
        handlers.append(
            logging.handlers.RotatingFileHandler(
                log_file, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=True
            )
        )
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(ScrubFilter())
        handler.setLevel(level)
        handler._custodian_handler = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Alembic announces each of its plugins at INFO on every start: noise in a support log.
    for noisy in ("alembic.runtime.plugins",):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    _install_excepthooks()
    if problem:
        logging.getLogger("custodian_app").warning(problem)
    return log_file


_previous_hooks: tuple | None = None


def _install_excepthooks() -> None:
    """A crash's traceback goes to the log (scrubbed) as well as wherever it went before:
    that traceback is what support needs most and what a custodian never copies down."""
    global _previous_hooks
    if _previous_hooks is not None:
        return
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def sys_hook(exc_type, exc, tb):
        if not issubclass(exc_type, KeyboardInterrupt):
            logging.getLogger("custodian_app").critical("unexpected error", exc_info=(exc_type, exc, tb))
        previous = _previous_hooks[0] if _previous_hooks else previous_sys
        if previous is sys.__excepthook__:  # Python's own would print the text unscrubbed
            _print_scrubbed("", exc_type, exc, tb)
        else:
            previous(exc_type, exc, tb)

    def thread_hook(hook_args):
        if hook_args.exc_type is not SystemExit:
            name = hook_args.thread.name if hook_args.thread else "?"
            logging.getLogger("custodian_app").critical(
                "unexpected error in thread %s",
                name,
                exc_info=(hook_args.exc_type, hook_args.exc_value, hook_args.exc_traceback),
            )
        previous = _previous_hooks[1] if _previous_hooks else previous_thread
        if previous is threading.__excepthook__:
            if hook_args.exc_type is not SystemExit:  # as Python's own: silent on SystemExit
                name = hook_args.thread.name if hook_args.thread else threading.get_ident()
                _print_scrubbed(
                    f"Exception in thread {name}:\n",
                    hook_args.exc_type,
                    hook_args.exc_value,
                    hook_args.exc_traceback,
                )
        else:
            previous(hook_args)

    sys.excepthook, threading.excepthook = sys_hook, thread_hook
    _previous_hooks = (previous_sys, previous_thread)


def _print_scrubbed(header: str, exc_type, exc, tb) -> None:
    """What Python's own hooks print on standard error, with card numbers and secrets
    withheld: the screen is no place for them either."""
    stream = sys.stderr
    if stream is None:  # a windowed build without a console
        return
    try:
        stream.write(clean(header + "".join(traceback.format_exception(exc_type, exc, tb))))
        stream.flush()
    except Exception:  # the hook must never raise
        pass


def _remove_excepthooks() -> None:
    global _previous_hooks
    if _previous_hooks is not None:
        sys.excepthook, threading.excepthook = _previous_hooks
        _previous_hooks = None


def shutdown_logging() -> None:
    """Close and remove the handlers ``setup_logging`` installed (tests, application exit)."""
    _remove_our_handlers(logging.getLogger())
    _remove_excepthooks()
    global _installed_factory
    current = logging.getLogRecordFactory()
    if current is _installed_factory and current is not None:
        logging.setLogRecordFactory(current._custodian_previous)
        _installed_factory = None


def log_files(log_dir: str | os.PathLike | None = None) -> list[Path]:
    """The current log file and its rotated backups, newest first."""
    folder = Path(log_dir) if log_dir is not None else paths.logs_dir()
    found = [p for p in folder.glob(LOG_FILE_NAME + "*") if p.is_file()]

    def order(p: Path) -> int:
        suffix = p.name[len(LOG_FILE_NAME) :].lstrip(".")
        return int(suffix) if suffix.isdigit() else 0

    return sorted(found, key=order)


def _secrets_from_settings() -> list[str]:
    out = []
    token = os.environ.get("CUSTODIAN_BACKEND_TOKEN")
    if token:
        out.append(token)
    try:
        from custodian_app.settings.config import load_settings

        out.extend(load_settings().secrets())
    except Exception:  # logging must come up even when the settings are broken: that is
        pass  # when support needs the log most
    return out
