#!/usr/bin/env bash
# Build the Linux one-folder bundle dist/custodian-app/ and its archive
# dist/custodian-app-VERSION-linux-ARCH.tar.gz (with the .desktop file, the icons and the
# example settings, and an install script for IT). See docs/packaging.md.
#
#   packaging/build-linux.sh            # uses .venv/bin/python if present, else python3
#   PYTHON=/opt/py311/bin/python packaging/build-linux.sh
#   packaging/build-linux.sh --deb      # also dist/custodian-app_VERSION_ARCH.deb (needs dpkg-deb)
#
# Needs PyInstaller, at the versions of constraints.txt:
#   pip install -c constraints.txt -e '.[package,postgresql]'
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEB=0
[ "${1:-}" = "--deb" ] && DEB=1

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "build-linux: PyInstaller is not installed for $PYTHON; run: $PYTHON -m pip install -c constraints.txt -e '.[package,postgresql]'" >&2
    exit 2
fi

VERSION=$("$PYTHON" -c "import custodian_app; print(custodian_app.__version__)")
ARCH=$(uname -m)
NAME="custodian-app-$VERSION-linux-$ARCH"
start=$(date +%s)

echo "build-linux: building custodian-app $VERSION with $("$PYTHON" -m PyInstaller --version) ..."
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath dist --workpath build/pyinstaller packaging/custodian-app.spec

BUNDLE=dist/custodian-app
[ -x "$BUNDLE/custodian-app" ] || { echo "build-linux: $BUNDLE/custodian-app was not produced" >&2; exit 1; }

# Beside the program: what IT needs to install it (menu entry, icons, example settings).
mkdir -p "$BUNDLE/share/applications" "$BUNDLE/share/custodian-app"
cp packaging/linux/custodian-app.desktop "$BUNDLE/share/applications/"
cp packaging/settings.example.toml "$BUNDLE/share/custodian-app/"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$BUNDLE/share/icons/hicolor/${size}x${size}/apps"
    cp "resources/icons/custodian-app-$size.png" "$BUNDLE/share/icons/hicolor/${size}x${size}/apps/custodian-app.png"
done
mkdir -p "$BUNDLE/share/icons/hicolor/scalable/apps"
cp resources/icons/custodian-app.svg "$BUNDLE/share/icons/hicolor/scalable/apps/custodian-app.svg"
cp packaging/linux/install.sh "$BUNDLE/install.sh"
chmod 755 "$BUNDLE/install.sh"

# The archive unpacks to custodian-app/ ; reproducible order and owner.
ARCHIVE="dist/$NAME.tar.gz"
tar --sort=name --owner=0 --group=0 --numeric-owner -C dist -czf "$ARCHIVE" custodian-app

if [ $DEB -eq 1 ]; then
    bash packaging/linux/make-deb.sh "$BUNDLE" dist "$VERSION"
fi

end=$(date +%s)
size_bundle=$(du -sm "$BUNDLE" | cut -f1)
size_archive=$(du -sm "$ARCHIVE" | cut -f1)
echo "build-linux: $BUNDLE (${size_bundle} MB), $ARCHIVE (${size_archive} MB), built in $((end - start)) s"
