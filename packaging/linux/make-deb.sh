#!/usr/bin/env bash
# Turn a built bundle folder into a Debian/Ubuntu package, for IT departments that roll out
# software with apt (or Ansible, or Landscape):
#   packaging/linux/make-deb.sh dist/custodian-app dist 0.1.0
# -> dist/custodian-app_0.1.0_amd64.deb, installing /opt/custodian-app, /usr/bin/custodian-app,
#    the menu entry and icons, and /etc/custodian-app/settings.example.toml (a conffile).
# packaging/build-linux.sh --deb calls this after building. Needs dpkg-deb.
set -euo pipefail
BUNDLE=$(cd "$1" && pwd)
OUT=$(mkdir -p "$2" && cd "$2" && pwd)
VERSION=$3
HERE=$(cd "$(dirname "$0")" && pwd)

command -v dpkg-deb >/dev/null || { echo "make-deb: dpkg-deb is not installed" >&2; exit 2; }
case "$(uname -m)" in
    x86_64) ARCH=amd64 ;;
    aarch64) ARCH=arm64 ;;
    *) ARCH=$(dpkg --print-architecture) ;;
esac

ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
# The same layout IT gets from install.sh, staged; the command goes to /usr/bin as Debian wants.
SOURCE="$BUNDLE" DESTDIR="$ROOT" BINDIR=/usr/bin bash "$HERE/install.sh" >/dev/null

SIZE_KB=$(du -sk "$ROOT" | cut -f1)
mkdir -p "$ROOT/DEBIAN"
cat >"$ROOT/DEBIAN/control" <<CONTROL
Package: custodian-app
Version: $VERSION
Architecture: $ARCH
Maintainer: custodian-app <custodian-app@localhost>
Installed-Size: $SIZE_KB
Depends: libc6 (>= 2.35), libgl1, libegl1, libxcb1, libfontconfig1
Recommends: libwayland-client0, libwayland-cursor0, libwayland-egl1
Section: misc
Priority: optional
Homepage: https://localhost/custodian-app
Description: ATM clearing and reconciliation (清机对账) for bank branch custodians
 Reads an ATM's ledger over its serial maintenance port, fetches the bank
 backend's ledger, reconciles them, walks two custodians through the clearing
 and prints the report a supervisor signs.
 .
 Custodians must be in the dialout group to open the serial port.
CONTROL
echo "/etc/custodian-app/settings.example.toml" >"$ROOT/DEBIAN/conffiles"
# The menu and icon caches are refreshed by the desktop-file-utils and hicolor-icon-theme
# triggers; nothing to run by hand.
chmod 0755 "$ROOT/DEBIAN"
DEB="$OUT/custodian-app_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$ROOT" "$DEB" >/dev/null
echo "make-deb: $DEB ($(du -sm "$DEB" | cut -f1) MB)"
