"""Shared test setup. Qt needs a platform even without a display: offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
