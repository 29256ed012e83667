#!/usr/bin/env bash
# Install the custodian-app bundle system-wide (run as root from the unpacked folder):
#   sudo ./install.sh            # to /opt/custodian-app, menu entry, icons, /usr/local/bin link
#   sudo ./install.sh --uninstall
# The example settings go to /etc/custodian-app/settings.example.toml; IT copies it to
# settings.toml and edits it (docs/configuration.md). Custodians must be in the dialout group
# to open the ATM's serial port: sudo usermod -aG dialout USER (then log out and in).
set -euo pipefail
PREFIX=${PREFIX:-/opt/custodian-app}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (sudo ./install.sh)" >&2
    exit 2
fi

if [ "${1:-}" = "--uninstall" ]; then
    rm -f /usr/local/bin/custodian-app /usr/share/applications/custodian-app.desktop
    find /usr/share/icons/hicolor -name 'custodian-app.*' -delete 2>/dev/null || true
    rm -rf "$PREFIX"
    command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
    echo "custodian-app removed (settings in /etc/custodian-app and users' data were kept)"
    exit 0
fi

mkdir -p "$(dirname "$PREFIX")"
# Copy the bundle (not the share/ extras) to the prefix, replacing an older version.
rm -rf "$PREFIX.new"
mkdir -p "$PREFIX.new"
cp -a "$HERE/custodian-app" "$HERE/_internal" "$PREFIX.new/"
rm -rf "$PREFIX.old"
[ -d "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
mv "$PREFIX.new" "$PREFIX"
rm -rf "$PREFIX.old"

ln -sf "$PREFIX/custodian-app" /usr/local/bin/custodian-app
install -Dm644 "$HERE/share/applications/custodian-app.desktop" /usr/share/applications/custodian-app.desktop
(cd "$HERE/share/icons" && find . -type f -exec install -Dm644 {} /usr/share/icons/{} \;)
install -d /etc/custodian-app
install -m644 "$HERE/share/custodian-app/settings.example.toml" /etc/custodian-app/settings.example.toml
command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q /usr/share/icons/hicolor || true
echo "custodian-app installed in $PREFIX; run: custodian-app --version"
