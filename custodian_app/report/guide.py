"""The mismatch list's reason and action cells, and the handling guide that holds what they
cannot: a row's own detail, the catalogue's instructions, and any text cut to fit its cell.

A mixin of ``sections.Content`` (it uses the content's vocabulary, metrics and words), kept
apart for its size."""

from __future__ import annotations

from custodian_app.domain.formats import Mismatch
from custodian_app.report import handover, labels
from custodian_app.report.meta import DASH


class Guide:
    """The cells and the guide; ``Content.__init__`` sets the caches these fill."""

    def _standard(
        self, category: str, reject_code: str | None, lang: str, variant: str | None = None
    ) -> str | None:
        key = (category, reject_code, lang, variant)
        try:
            return self._std_cache[key]
        except KeyError:
            text = self._std_cache[key] = self.vocab.standard_action(category, reject_code, lang, variant)
            return text

    def _detail(self, m: Mismatch) -> tuple[str, str] | None:
        """What the row's action says beyond its category's catalogue text, as (zh, en): the
        engine puts row details (which totals item, which note amounts) in front of it.
        ("", "") when the action is the catalogue's; None when it is not the catalogue's
        text at all (or there is no catalogue to tell)."""
        out = []
        variant = labels.variant_of(m)
        for text, lang in ((m.action, "zh"), (m.action_en, "en")):
            if not text:
                out.append("")
                continue
            base = self._standard(m.category, None, lang, variant)
            if base is None:
                return None
            if text == base or text == self._standard(m.category, m.reject_code, lang, variant):
                out.append("")
            elif text.endswith(base):
                out.append(text[: -len(base)].strip())
            else:
                return None
        return out[0], out[1]

    def _reason(self, m: Mismatch, detail: tuple[str, str] | None, no: int) -> tuple[str, ...] | str:
        """The reject code and its meaning; else the row's own detail (which totals item,
        which note amounts); else the backend references. Text cut to fit the cell is
        printed in full in the handling guide, under the row's number."""
        w = self.w
        if m.category == "COUNT_DIFFERS" and m.counted is not None and m.derived is not None:
            return handover.count_detail(w, m)
        rev2 = handover.cash_detail(m, self._tx)
        if m.reject_code:
            zh, en = self.vocab.reject(m.reject_code)
            zh, en = f"{m.reject_code} {zh}", f"{m.reject_code} {en}"
            if rev2:
                zh, en = f"{rev2[0]}；{zh}", f"{rev2[1]}; {en}"
        elif rev2:
            zh, en = rev2
        elif detail and any(detail):
            zh, en = detail[0] or detail[1], detail[1] or detail[0]
        elif m.category == "TOTALS_INCONSISTENT" and m.item:
            side = labels.SIDE_NAMES.get(m.side or "", (m.side or "", m.side or ""))
            item = labels.TOTALS_ITEM_NAMES.get(m.item, (m.item, m.item))
            zh, en = f"{side[0]}合计：{item[0]}", f"{side[1]}: {item[1]}"
        elif m.host_refs:
            refs = ", ".join(m.host_refs)
            zh, en = f"后台参考号 {refs}", f"Backend ref. {refs}"
        else:
            return DASH
        inner = self._reason_width
        if w.language == "both":
            cut = self.metrics.width(zh, 7) > inner or self.metrics.width(en, 7) > inner
            value: tuple[str, ...] | str = (zh, en)
        else:
            value = w.inline(zh, en)
            cut = self.metrics.wrap(value, 7, inner, 2)[-1].endswith("…")
        if cut and not m.reject_code:
            self.cut.setdefault(m.category, []).append((no, zh, en))
        return value

    def _action(self, m: Mismatch, detail: tuple[str, str] | None) -> tuple[str, ...] | str:
        """The posting to make, in the trade's words. The catalogue's full instructions are in
        the handling guide; a row whose action is the catalogue's (or empty) shows the short
        form; any other text is printed when it fits, else listed in the guide."""
        w = self.w
        short = self.vocab.action(m.category, labels.variant_of(m))
        zh, en = m.action, m.action_en
        if detail is None and (zh or en):
            zh, en = zh or en, en or zh
            inner = self._action_width
            if w.language == "both":
                fits = self.metrics.width(zh, 7) <= inner and self.metrics.width(en, 7) <= inner
            else:
                fits = not self.metrics.wrap(w.inline(zh, en), 7, inner, 2)[-1].endswith("…")
            if fits or not any(short):
                return (zh, en) if w.language == "both" else w.inline(zh, en)
            self._unlisted.setdefault(m.category, {}).setdefault((zh, en), None)
        zh, en = short
        return (zh, en) if w.language == "both" else w.inline(zh, en)

    def _guide(self) -> list[tuple[str, int, list[tuple[tuple[str, str], tuple[str, str]]]]]:
        """(category, how many, steps) for each category in the list, in order of appearance;
        the rows whose detail did not fit their cell are in ``self.cut``."""
        counts: dict[str, int] = {}
        plain: set[str] = set()  # categories with a row of no particular case
        variants: dict[str, dict[str, None]] = {}
        for m in self.result.mismatches:
            counts[m.category] = counts.get(m.category, 0) + 1
            variant = labels.variant_of(m)
            if variant is None:
                plain.add(m.category)
            else:
                variants.setdefault(m.category, {})[variant] = None
        out = []
        for category, n in counts.items():
            # a case's steps replace the category's (a partial reversal must never be "debited
            # up to the ATM's amount"); the category's own are kept for its plain rows
            steps = list(self.vocab.guide(category)) if category in plain else []
            for variant in variants.get(category, ()):
                steps += [s for s in self.vocab.guide(category, variant) if s not in steps]
            for zh, en in list(self._unlisted.get(category, {}))[:3]:
                steps.append((("处理", "Action"), (zh, en)))
            if not steps:
                zh, en = self.vocab.action(category)
                if zh or en:
                    steps.append((("处理", "Action"), (zh, en)))
            out.append((category, n, steps))
        return out
