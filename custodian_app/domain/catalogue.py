"""The reject-code and mismatch-category catalogue: what a code means, what to do about a mismatch.

The content is data (``resources/catalogue.json``, loaded by ``custodian_app.support.catalogue``);
this module only gives it a shape. ``Catalogue.from_dict`` checks the document so that a bad
edit of the JSON fails loudly at start-up rather than printing an empty action on a report.

``default_catalogue()`` is what ``reconcile`` uses when it is given none: the one the
application loaded (``install_default``), else a minimal built-in one that names the category
and says to consult the full catalogue (no file I/O in the domain core).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from custodian_app.domain.errors import CustodianError
from custodian_app.domain.formats import CATEGORIES, RETAIN_REASONS

# The five totals items in the trade's words (Chinese, English): the engine's texts and the
# report's tables both name them so.
TOTALS_ITEM_NAMES: dict[str, tuple[str, str]] = {
    "loaded_amount": ("加钞金额", "Loading amount"),
    "withdrawals.count": ("取款笔数", "Withdrawals, count"),
    "withdrawals.amount": ("取款金额", "Withdrawals, amount"),
    "deposits.count": ("存款笔数", "Deposits, count"),
    "deposits.amount": ("存款金额", "Deposits, amount"),
}

CATALOGUE_FORMAT = "catalogue/1"
LANGUAGES = ("zh", "en")


class CatalogueError(CustodianError, ValueError):
    """The catalogue document is malformed."""


@dataclass(frozen=True, slots=True)
class Text:
    """A text in Chinese and in English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """A mismatch category: its names and what the custodians and the back office do about it."""

    code: str
    name: Text  # the one name of the category, on screen and in print
    custodian: Text  # what the two custodians do at the machine
    back_office: Text  # what the back office (会计 / 清算) posts
    # Cases of one category that call for other steps (rev 2: a count shortage or overage, a
    # partially reversed transaction): variant -> (custodian, back_office)
    variants: Mapping[str, tuple[Text, Text]] = field(default_factory=dict)
    # the posting in a few words, for a list's action column (the report's mismatch list);
    # None when the catalogue gives none
    short: Text | None = None
    variant_shorts: Mapping[str, Text] = field(default_factory=dict)

    def short_action(self, variant: str | None = None) -> Text | None:
        return self.variant_shorts.get(variant, self.short) if variant is not None else self.short

    def action(self, lang: str = "zh", variant: str | None = None) -> str:
        custodian, back_office = (
            self.variants.get(variant, (self.custodian, self.back_office))
            if variant is not None
            else (self.custodian, self.back_office)
        )
        if lang == "en":
            return f"Custodians: {custodian.en} Back office: {back_office.en}"
        return f"管机员：{custodian.zh}后台：{back_office.zh}"


@dataclass(frozen=True, slots=True)
class Catalogue:
    """Reject code -> meaning; category -> what to do (resources/catalogue.json)."""

    reject_codes: Mapping[str, Text]
    fallback_reject: Text
    categories: Mapping[str, CategoryInfo]
    # why the ATM captured a card (rev 2 ``retained_cards[].reason``); empty: the code is shown
    retain_reasons: Mapping[str, Text] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], source: str = "<catalogue>") -> Catalogue:
        def fail(path: str, msg: str) -> CatalogueError:
            return CatalogueError(f"{source}: {path}: {msg}")

        def text(value: Any, path: str) -> Text:
            if not isinstance(value, Mapping):
                raise fail(path, "expected an object with 'zh' and 'en'")
            for lang in LANGUAGES:
                if not isinstance(value.get(lang), str) or not value[lang].strip():
                    raise fail(f"{path}.{lang}", "expected a non-empty string")
            return Text(value["zh"], value["en"])

        if not isinstance(doc, Mapping) or doc.get("format") != CATALOGUE_FORMAT:
            raise fail("$.format", f"expected {CATALOGUE_FORMAT!r}")
        codes_raw = doc.get("reject_codes")
        if not isinstance(codes_raw, Mapping):
            raise fail("$.reject_codes", "expected an object")
        codes = {str(k): text(v, f"$.reject_codes.{k}") for k, v in codes_raw.items()}
        cats_raw = doc.get("categories")
        if not isinstance(cats_raw, Mapping):
            raise fail("$.categories", "expected an object")
        missing = [c for c in CATEGORIES if c not in cats_raw]
        if missing:
            raise fail("$.categories", f"categories missing: {', '.join(missing)}")
        unknown = [c for c in cats_raw if c not in CATEGORIES]
        if unknown:
            raise fail("$.categories", f"unknown categories: {', '.join(unknown)}")
        cats = {}
        for c in CATEGORIES:
            v = cats_raw[c]
            p = f"$.categories.{c}"
            if not isinstance(v, Mapping):
                raise fail(p, "expected an object")
            variants_raw = v.get("variants", {})
            if not isinstance(variants_raw, Mapping):
                raise fail(p + ".variants", "expected an object")
            variants = {
                str(k): (
                    text(
                        w.get("custodian") if isinstance(w, Mapping) else None, f"{p}.variants.{k}.custodian"
                    ),
                    text(
                        w.get("back_office") if isinstance(w, Mapping) else None,
                        f"{p}.variants.{k}.back_office",
                    ),
                )
                for k, w in variants_raw.items()
            }
            variant_shorts = {
                str(k): text(w["short"], f"{p}.variants.{k}.short")
                for k, w in variants_raw.items()
                if "short" in w
            }
            short = text(v["short"], p + ".short") if "short" in v else None
            cats[c] = CategoryInfo(
                c,
                text(v.get("name"), p + ".name"),
                text(v.get("custodian"), p + ".custodian"),
                text(v.get("back_office"), p + ".back_office"),
                variants,
                short,
                variant_shorts,
            )
        reasons_raw = doc.get("retain_reasons", {})
        if not isinstance(reasons_raw, Mapping):
            raise fail("$.retain_reasons", "expected an object")
        unknown = [r for r in reasons_raw if r not in RETAIN_REASONS]
        if unknown:
            raise fail("$.retain_reasons", f"unknown reasons: {', '.join(map(str, unknown))}")
        reasons = {
            r: text(reasons_raw[r], f"$.retain_reasons.{r}") for r in RETAIN_REASONS if r in reasons_raw
        }
        return cls(codes, text(doc.get("fallback_reject"), "$.fallback_reject"), cats, reasons)

    def reject_meaning(self, code: str, lang: str = "zh") -> str:
        return self.reject_codes.get(code, self.fallback_reject).get(lang)

    def category(self, code: str) -> CategoryInfo:
        return self.categories[code]

    def category_name(self, code: str, lang: str = "zh") -> str:
        return self.categories[code].name.get(lang)

    def retain_reason(self, reason: str, lang: str = "zh") -> str:
        text = self.retain_reasons.get(reason)
        return reason if text is None else text.get(lang)

    def action(
        self, category: str, reject_code: str | None = None, lang: str = "zh", variant: str | None = None
    ) -> str:
        """The suggested action for one mismatch, with the reject code's meaning in front."""
        text = self.categories[category].action(lang, variant)
        if reject_code is None:
            return text
        meaning = self.reject_meaning(reject_code, lang)
        if lang == "en":
            return f"Reject code {reject_code} ({meaning}). {text}"
        return f"拒绝码 {reject_code}（{meaning}）。{text}"


def _builtin() -> Catalogue:
    # Used only when nobody loaded resources/catalogue.json: says so rather than say nothing.
    see = Text("详见处置目录（catalogue.json）。", "See the handling catalogue (catalogue.json).")
    cats = {c: CategoryInfo(c, Text(c, c.replace("_", " ").lower()), see, see) for c in CATEGORIES}
    return Catalogue({"00": Text("交易成功", "approved")}, Text("拒绝码", "reject code"), cats)


_default: Catalogue | None = None


def install_default(catalogue: Catalogue) -> None:
    """Make ``catalogue`` the one ``reconcile`` uses when called without one."""
    global _default
    _default = catalogue


def default_catalogue() -> Catalogue:
    global _default
    if _default is None:
        _default = _builtin()
        return _default
    return _default
