"""The report's typeface: WenQuanYi Micro Hei, shipped in resources/fonts/ and embedded.

reportlab embeds TrueType outlines only (Noto CJK is CFF and fails), so the product ships its
own TrueType CJK font instead of relying on whatever the PC has: the PDF then looks the same on
every machine and printer. reportlab embeds only the glyphs used (subsets), which keeps a report
small although the font file is 5 MB.
"""

from __future__ import annotations

import threading

from custodian_app.report.errors import ReportError
from custodian_app.support.resources import resource

FONT_FILE = ("fonts", "wqy-microhei.ttc")
FONT_NAME = "WQYMicroHei"  # proportional face, subfont 0 of the collection
MONO_NAME = "WQYMicroHeiMono"  # monospaced face, subfont 1: digests and commands

_lock = threading.Lock()
_fonts: dict[str, object] = {}


def register_fonts() -> tuple[object, object]:
    """Register both faces with reportlab once per process; returns (regular, mono) TTFonts.

    Parsing the 5 MB collection takes about a second, so it is done once and shared."""
    with _lock:
        if not _fonts:
            from reportlab.pdfbase import pdfmetrics
            from reportlab.pdfbase.ttfonts import TTFError, TTFont

            path = resource(*FONT_FILE)
            try:
                regular = TTFont(FONT_NAME, str(path), subfontIndex=0)
                mono = TTFont(MONO_NAME, str(path), subfontIndex=1)
            except (OSError, TTFError) as exc:
                raise ReportError(
                    f"cannot load the report font {path}: {exc}; reinstall custodian-app "
                    "(the font ships in resources/fonts/)"
                ) from exc
            pdfmetrics.registerFont(regular)
            pdfmetrics.registerFont(mono)
            _fonts[FONT_NAME] = regular
            _fonts[MONO_NAME] = mono
        return _fonts[FONT_NAME], _fonts[MONO_NAME]
