"""Branch PCs run Windows: importing any module of the package must not need a POSIX-only one.

A child interpreter makes ``tty``, ``termios``, ``pty``, ``fcntl``, ``grp``, ``pwd`` and
``resource`` unimportable (``sys.modules[name] = None``, as on Windows) and then imports every
module of ``custodian_app``. Third-party packages that choose their own backend by platform
(pyserial picks ``serialposix`` here, ``serialwin32`` on Windows) are imported first, before
the block, so only our own imports are judged.

Not imported: ``custodian_app.__main__``, which runs the program rather than defining anything,
and ``custodian_app.store.migrations.env``, a script Alembic runs inside its own context.
No module of the package is POSIX-only at import time; the simulator's pty and its select()
loop need POSIX only when it serves (``custodian_app.link.simulator``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSIX_ONLY = ("tty", "termios", "pty", "fcntl", "grp", "pwd", "resource")
NOT_IMPORTED = {"custodian_app.__main__", "custodian_app.store.migrations.env"}

CHILD = """
    import importlib, json, pkgutil, sys

    import serial  # pyserial's own platform choice, made before the block

    blocked, skip = sys.argv[1].split(","), set(sys.argv[2].split(","))
    for name in blocked:
        sys.modules[name] = None
    refused = []
    for name in blocked:
        try:
            importlib.import_module(name)
        except ImportError:
            refused.append(name)

    import custodian_app

    broken = {}

    def unlisted(package):  # a package that fails to import hides its modules from the walk
        broken[package] = f"{sys.exc_info()[0].__name__}: {sys.exc_info()[1]}"

    names = sorted(m.name for m in pkgutil.walk_packages(custodian_app.__path__, "custodian_app.",
                                                         onerror=unlisted)
                   if m.name not in skip)
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            broken[name] = f"{type(exc).__name__}: {exc}"
    print(json.dumps({"refused": refused, "imported": names, "broken": broken}))
"""


def test_every_module_imports_without_posix_only_modules():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    p = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), ",".join(POSIX_ONLY), ",".join(sorted(NOT_IMPORTED))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout.splitlines()[-1])
    assert report["refused"] == list(POSIX_ONLY)  # the block holds: these really are missing
    assert report["broken"] == {}
    # the walk sees the whole package, the simulator's pty module included
    assert {
        "custodian_app.link.simulator.ports",
        "custodian_app.store.service",
        "custodian_app.gui.app",
    } <= set(report["imported"]), report["imported"]
    assert len(report["imported"]) > 80
