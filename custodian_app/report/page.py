"""The report's page: A4 landscape (see ``custodian_app.report.pdf`` for why) and its margins."""

from __future__ import annotations

PAGE_W, PAGE_H = 841.8898, 595.2756  # A4 landscape, points
LEFT = 56.7  # 20 mm: room to staple or bind on the left
RIGHT = 34.0  # 12 mm
TOP = 34.0
BOTTOM = 34.0
BODY_W = PAGE_W - LEFT - RIGHT
BODY_TOP = PAGE_H - TOP - 20
BODY_BOTTOM = BOTTOM + 16
