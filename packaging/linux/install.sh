#!/usr/bin/env bash
# Install the custodian-app bundle system-wide (run as root from the unpacked folder):
#   sudo ./install.sh              # to /opt/custodian-app, menu entry, icons, /usr/local/bin link
#   sudo ./install.sh --uninstall
#   DESTDIR=/tmp/stage ./install.sh   # stage into a folder (for building a .deb/.rpm, or to look)
# PREFIX (default /opt/custodian-app) chooses the program folder, BINDIR (default
# /usr/local/bin) where the custodian-app command is linked.
# The example settings go to /etc/custodian-app/settings.example.toml; IT copies it to
# settings.toml and edits it (docs/configuration.md). Custodians must be in the dialout group
# to open the ATM's serial port: sudo usermod -aG dialout USER (then log out and in).
set -euo pipefail
PREFIX=${PREFIX:-/opt/custodian-app}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-/usr/local/bin}
HERE=$(cd "${SOURCE:-$(dirname "$0")}" && pwd)  # the unpacked bundle (SOURCE: another one)
TARGET="$DESTDIR$PREFIX"

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo ./install.sh), or set DESTDIR to stage the files" >&2
    exit 2
fi

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$DESTDIR$BINDIR/custodian-app" "$DESTDIR/usr/share/applications/custodian-app.desktop"
    find "$DESTDIR/usr/share/icons/hicolor" -name 'custodian-app.*' -delete 2>/dev/null || true
    rm -rf "$TARGET"
    if [ -z "$DESTDIR" ] && command -v update-desktop-database >/dev/null; then
        update-desktop-database -q /usr/share/applications || true
    fi
    echo "custodian-app removed (settings in /etc/custodian-app and users' data were kept)"
    exit 0
fi

if [ ! -x "$HERE/custodian-app" ] || [ ! -d "$HERE/_internal" ]; then
    echo "install.sh: run it from the unpacked custodian-app folder (custodian-app and _internal/ beside it)" >&2
    exit 2
fi

# Copy the program beside the old one, then swap, so a failed copy leaves the old version working.
mkdir -p "$(dirname "$TARGET")"
rm -rf "$TARGET.new" "$TARGET.old"
mkdir -p "$TARGET.new"
cp -a "$HERE/custodian-app" "$HERE/_internal" "$TARGET.new/"
if [ -d "$TARGET" ]; then mv "$TARGET" "$TARGET.old"; fi
mv "$TARGET.new" "$TARGET"
rm -rf "$TARGET.old"

mkdir -p "$DESTDIR$BINDIR"
ln -sfn "$PREFIX/custodian-app" "$DESTDIR$BINDIR/custodian-app"
install -Dm644 "$HERE/share/applications/custodian-app.desktop" "$DESTDIR/usr/share/applications/custodian-app.desktop"
(cd "$HERE/share/icons" && find . -type f -exec install -Dm644 {} "$DESTDIR/usr/share/icons/{}" \;)
install -d "$DESTDIR/etc/custodian-app"
install -m644 "$HERE/share/custodian-app/settings.example.toml" "$DESTDIR/etc/custodian-app/settings.example.toml"
if [ -z "$DESTDIR" ]; then
    if command -v update-desktop-database >/dev/null; then update-desktop-database -q /usr/share/applications || true; fi
    if command -v gtk-update-icon-cache >/dev/null; then gtk-update-icon-cache -q /usr/share/icons/hicolor || true; fi
fi
echo "custodian-app installed in $TARGET; run: custodian-app --version"
