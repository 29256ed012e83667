"""One word for each thing, on the screen, in the messages and in the report (docs/qa.md, Words)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# the word used, and the variants that must not appear beside it
GLOSSARY = {"结算文件": ("对账文件",), "冠字号记录": ("钞票记录",), "账": ("帐",)}

SOURCES = [
    ROOT / "resources" / "translations" / "custodian_zh_CN.ts",
    *sorted((ROOT / "custodian_app" / "gui").rglob("*.py")),
    *sorted((ROOT / "custodian_app" / "report").rglob("*.py")),
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_glossarys_words_only(path):
    text = path.read_text(encoding="utf-8")
    for word, variants in GLOSSARY.items():
        for variant in variants:
            assert variant not in text, f"{path.name}: {variant!r} — the glossary says {word!r}"
