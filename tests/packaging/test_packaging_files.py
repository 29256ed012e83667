"""The packaging files, checked without running PyInstaller or NSIS (packaging/ci-bundle-check
builds and runs the real bundle): they parse, name what the bundle needs, and agree with each
other and with the code."""

from __future__ import annotations

import ast
import configparser
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"


def spec_tree() -> ast.Module:
    return ast.parse((PACKAGING / "custodian-app.spec").read_text(encoding="utf-8"), "custodian-app.spec")


def test_spec_parses_and_builds_a_windowed_one_folder_bundle():
    tree = spec_tree()
    calls = {
        node.func.id: node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= set(calls)
    analysis = calls["Analysis"]
    assert "__main__.py" in ast.unparse(analysis.args[0])
    main_exe = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["exe"]
    )
    exe = {kw.arg: kw.value for kw in main_exe.keywords}
    assert ast.literal_eval(exe["exclude_binaries"]) is True  # one-folder
    assert ast.literal_eval(exe["console"]) is False  # windowed
    assert ast.literal_eval(exe["name"]) == "custodian-app"


def test_spec_bundles_resources_where_resources_path_looks_and_the_migrations(monkeypatch, tmp_path):
    text = (PACKAGING / "custodian-app.spec").read_text(encoding="utf-8")
    assert '(ROOT / "resources").rglob' in text and 'Path("resources")' in text
    assert "sys._MEIPASS/resources" in text  # the contract with resources_path.py, stated
    from custodian_app.support import resources as resources_path

    resources_path.resources_dir.cache_clear()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    try:
        assert resources_path.resource("catalogue.json") == tmp_path / "resources" / "catalogue.json"
    finally:
        monkeypatch.undo()
        resources_path.resources_dir.cache_clear()
    assert resources_path.resource("catalogue.json") == ROOT / "resources" / "catalogue.json"
    assert '"migrations"' in text and "env.py" in text
    assert 'collect_submodules("custodian_app")' in text  # the CLI imports its commands by name
    # Imported by exec'd strings or by name at run time: found only by listing them.
    for name in (
        'collect_submodules("reportlab.graphics.barcode")',
        '"sqlalchemy.dialects.postgresql.psycopg"',
        '"alembic.ddl.postgresql"',
        '"psycopg_binary"',
    ):
        assert name in text, name


def test_spec_excludes_unused_qt_and_keeps_what_the_gui_uses():
    tree = spec_tree()
    excluded = None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "QT_EXCLUDED" for t in node.targets
        ):
            excluded = set(ast.literal_eval(node.value))
    assert excluded, "QT_EXCLUDED not found"
    assert {
        "QtWebEngineCore",
        "QtWebEngineWidgets",
        "Qt3DCore",
        "QtQuick",
        "QtQml",
        "QtMultimedia",
        "QtBluetooth",
    } <= excluded
    gui_uses = set()
    for path in (ROOT / "custodian_app").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("PySide6."):
                gui_uses.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                gui_uses.update(a.name.split(".")[1] for a in node.names if a.name.startswith("PySide6."))
    kept = {"QtCore", "QtGui", "QtWidgets", "QtPdf", "QtPdfWidgets", "QtPrintSupport", "QtSvg", "QtCharts"}
    assert not (gui_uses | kept) & excluded, (
        f"the spec excludes Qt modules in use: {(gui_uses | kept) & excluded}"
    )


@pytest.mark.parametrize(
    "script", ["build-linux.sh", "ci-bundle-check", "linux/install.sh", "linux/make-deb.sh"]
)
def test_shell_scripts_parse_and_are_executable(script):
    path = PACKAGING / script
    assert path.stat().st_mode & 0o111, f"{script} is not executable"
    proc = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr


def test_build_script_uses_the_spec_and_makes_an_archive():
    text = (PACKAGING / "build-linux.sh").read_text(encoding="utf-8")
    assert "packaging/custodian-app.spec" in text and "tar " in text and ".tar.gz" in text
    assert "packaging/linux/custodian-app.desktop" in text


def test_desktop_file_is_valid():
    path = PACKAGING / "linux" / "custodian-app.desktop"
    validator = shutil.which("desktop-file-validate")
    if validator:
        proc = subprocess.run([validator, str(path)], capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in .desktop files
    parser.read(path, encoding="utf-8")
    assert parser.sections() == ["Desktop Entry"]
    entry = parser["Desktop Entry"]
    for key in ("Type", "Name", "Exec", "Icon", "Categories"):
        assert entry.get(key), f"{key} missing"
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"
    assert entry["Exec"].split()[0] == "custodian-app"
    assert entry["Icon"] == "custodian-app" and entry["Categories"].endswith(";")
    assert "清机" in entry["Name[zh_CN]"]
    # Registered categories only (desktop-file-validate rejects others).
    assert set(filter(None, entry["Categories"].split(";"))) <= {"Office", "Finance", "Utility"}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_icons_exist_in_every_size_the_desktop_and_bundle_use():
    ET.parse(ICONS / "custodian-app.svg")  # well-formed
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert png_size(ICONS / f"custodian-app-{size}.png") == (size, size)
    ico = (ICONS / "custodian-app.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sizes = {ico[6 + 16 * i] or 256 for i in range(count)}
    assert {16, 32, 48, 256} <= sizes


def test_nsis_installer_is_per_machine_with_shortcuts_uninstaller_and_settings_example():
    text = (PACKAGING / "windows" / "installer.nsi").read_text(encoding="utf-8")
    assert "RequestExecutionLevel admin" in text and "SetShellVarContext all" in text
    assert "$PROGRAMFILES64" in text
    assert (
        'CreateShortCut "$SMPROGRAMS' in text and "WriteUninstaller" in text and 'Section "Uninstall"' in text
    )
    assert "settings.example.toml" in text and "$APPDATA\\${APPNAME}" in text
    # Every file the script pulls in exists relative to it (the bundle itself is built first).
    here = PACKAGING / "windows"
    for line in text.splitlines():
        line = line.strip()
        for prefix in ('File "', '!define MUI_ICON "'):
            if line.startswith(prefix) and "${BUNDLE}" not in line:
                rel = line[len(prefix) :].split('"')[0].replace("${ROOT}", "../..").replace("\\", "/")
                assert (here / rel).resolve().exists(), f"installer.nsi names a missing file: {rel}"
    # Balanced blocks: a typo here only shows on a Windows build machine.
    assert text.count("\nSection ") == text.count("\nSectionEnd")
    assert text.count("\nFunction ") == text.count("\nFunctionEnd")
    assert text.count("${If") == text.count("${EndIf}")


def test_ci_check_covers_what_the_issue_asks():
    text = (PACKAGING / "ci-bundle-check").read_text(encoding="utf-8")
    for needle in (
        "--version",
        "generate",
        "reconcile",
        "demo --quit-after-show",
        "QT_QPA_PLATFORM=offscreen",
        "build-linux.sh",
    ):
        assert needle in text, needle


def test_packaging_doc_gives_the_build_steps_and_the_figures():
    text = (ROOT / "docs" / "packaging.md").read_text(encoding="utf-8")
    for needle in ("makensis", "packaging/build-linux.sh", "ci-bundle-check", "dialout", "MB"):
        assert needle in text, needle


def fake_bundle(tmp_path: Path) -> Path:
    """A stand-in for dist/custodian-app as build-linux.sh leaves it (program, _internal, share)."""
    bundle = tmp_path / "custodian-app"
    (bundle / "_internal" / "resources").mkdir(parents=True)
    (bundle / "_internal" / "resources" / "catalogue.json").write_text("{}", encoding="utf-8")
    program = bundle / "custodian-app"
    program.write_text("#!/bin/sh\necho custodian-app 0.0-test\n", encoding="utf-8")
    program.chmod(0o755)
    (bundle / "share" / "applications").mkdir(parents=True)
    shutil.copy(PACKAGING / "linux" / "custodian-app.desktop", bundle / "share" / "applications")
    (bundle / "share" / "custodian-app").mkdir()
    shutil.copy(PACKAGING / "settings.example.toml", bundle / "share" / "custodian-app")
    (bundle / "share" / "icons" / "hicolor" / "48x48" / "apps").mkdir(parents=True)
    shutil.copy(
        ICONS / "custodian-app-48.png",
        bundle / "share" / "icons" / "hicolor" / "48x48" / "apps" / "custodian-app.png",
    )
    shutil.copy(PACKAGING / "linux" / "install.sh", bundle / "install.sh")
    return bundle


def test_linux_install_script_stages_installs_and_uninstalls(tmp_path):
    """install.sh against a stand-in bundle, staged with DESTDIR (no root, no system change)."""
    bundle = fake_bundle(tmp_path)

    stage = tmp_path / "stage"
    env = {"PATH": "/usr/bin:/bin", "DESTDIR": str(stage)}
    for _ in range(2):  # the second run is an upgrade over the first
        proc = subprocess.run(
            ["bash", str(bundle / "install.sh")], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
    installed = stage / "opt" / "custodian-app"
    assert (
        subprocess.run(
            [str(installed / "custodian-app")], capture_output=True, text=True, timeout=30
        ).stdout.strip()
        == "custodian-app 0.0-test"
    )
    assert (installed / "_internal" / "resources" / "catalogue.json").is_file()
    assert (
        not (stage / "opt" / "custodian-app.new").exists()
        and not (stage / "opt" / "custodian-app.old").exists()
    )
    assert (stage / "usr" / "local" / "bin" / "custodian-app").readlink() == Path(
        "/opt/custodian-app/custodian-app"
    )
    assert (stage / "usr" / "share" / "applications" / "custodian-app.desktop").is_file()
    assert (stage / "usr" / "share" / "icons" / "hicolor" / "48x48" / "apps" / "custodian-app.png").is_file()
    assert (stage / "etc" / "custodian-app" / "settings.example.toml").is_file()

    proc = subprocess.run(
        ["bash", str(bundle / "install.sh"), "--uninstall"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert not installed.exists() and not (stage / "usr" / "local" / "bin" / "custodian-app").is_symlink()
    assert (stage / "etc" / "custodian-app" / "settings.example.toml").is_file()  # IT's folder kept


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is not installed (Debian/Ubuntu only)")
def test_make_deb_builds_a_package_with_the_program_menu_entry_and_conffile(tmp_path):
    bundle = fake_bundle(tmp_path)
    proc = subprocess.run(
        ["bash", str(PACKAGING / "linux" / "make-deb.sh"), str(bundle), str(tmp_path / "out"), "0.1.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (deb,) = (tmp_path / "out").glob("custodian-app_0.1.0_*.deb")
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, timeout=60).stdout
    assert "Package: custodian-app" in info and "Version: 0.1.0" in info and "libxcb1" in info
    contents = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, timeout=60
    ).stdout
    for path in (
        "./opt/custodian-app/custodian-app",
        "./usr/bin/custodian-app -> /opt/custodian-app/custodian-app",
        "./usr/share/applications/custodian-app.desktop",
        "./etc/custodian-app/settings.example.toml",
        "./opt/custodian-app/_internal/resources/catalogue.json",
    ):
        assert path in contents, path
    assert "root/root" in contents and "/usr/local" not in contents
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, timeout=60
    ).stdout
    assert b"conffiles" in conffiles
