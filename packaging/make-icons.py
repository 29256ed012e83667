#!/usr/bin/env python3
"""Render resources/icons/custodian-app.svg to the PNG sizes the desktops want and to a
Windows .ico, with Qt's own SVG renderer (no Inkscape or ImageMagick needed).

Run after editing the SVG:  .venv/bin/python packaging/make-icons.py
The PNGs and the .ico are committed; the build does not run this.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def write_ico(path: Path, images: dict[int, bytes]) -> None:
    """An .ico of PNG-compressed entries (Windows Vista and later read them)."""
    import struct

    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, blob in images.items():
        dim = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    path.write_bytes(header + entries + blobs)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "custodian-app.svg"))
    if not renderer.isValid():
        print("make-icons: the SVG did not load", file=sys.stderr)
        return 1
    pngs = {}
    for size in SIZES:
        pngs[size] = png_bytes(render(renderer, size))
        (ICONS / f"custodian-app-{size}.png").write_bytes(pngs[size])
    write_ico(ICONS / "custodian-app.ico", {s: pngs[s] for s in ICO_SIZES})
    print(f"make-icons: wrote {len(SIZES)} PNGs and custodian-app.ico in {ICONS}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
