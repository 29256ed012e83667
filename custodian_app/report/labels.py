"""The words the report prints: bilingual labels (Chinese first), category names, reject code
meanings, and amounts in words (Chinese capital numerals, 大写, and English).

Category names and short actions come from the catalogue
(``custodian_app.support.catalogue.load_catalogue()``), the one source of the words the screen
shows too; a report printed without it names the categories by their codes. Reject code
meanings fall back to the table below so that a report can always be printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from custodian_app.domain.catalogue import TOTALS_ITEM_NAMES  # noqa: F401 (re-exported)
from custodian_app.domain.errors import CustodianError

# ISO 8583 response codes an ATM commonly records; the catalogue has the bank's full list
REJECT_CODES: dict[str, tuple[str, str]] = {
    "00": ("交易成功", "Approved"),
    "01": ("请与发卡行联系", "Refer to card issuer"),
    "03": ("无效商户", "Invalid merchant"),
    "04": ("没收卡", "Pick up card"),
    "05": ("不予承兑", "Do not honour"),
    "12": ("无效交易", "Invalid transaction"),
    "13": ("无效金额", "Invalid amount"),
    "14": ("无效卡号", "Invalid card number"),
    "30": ("报文格式错误", "Format error"),
    "41": ("挂失卡", "Lost card"),
    "43": ("被窃卡", "Stolen card"),
    "51": ("余额不足", "Insufficient funds"),
    "54": ("过期卡", "Expired card"),
    "55": ("密码错误", "Incorrect PIN"),
    "57": ("不允许持卡人进行的交易", "Not permitted to cardholder"),
    "61": ("超出取款金额限制", "Exceeds withdrawal limit"),
    "65": ("超出取款次数限制", "Exceeds withdrawal frequency"),
    "68": ("响应超时", "Response received too late"),
    "75": ("密码错误次数超限", "PIN tries exceeded"),
    "91": ("发卡行不能操作", "Issuer unavailable"),
    "94": ("重复交易", "Duplicate transmission"),
    "96": ("系统故障", "System malfunction"),
}


UNIT_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "cashOut": ("取款箱", "Cash out"),
    "cashIn": ("存款箱", "Cash in"),
    "recycling": ("循环箱", "Recycling"),
    "reject": ("废钞箱", "Reject"),
    "retract": ("回收箱", "Retract"),
}

TX_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "withdrawal": ("取款", "Withdrawal"),
    "deposit": ("存款", "Deposit"),
}

SIDE_NAMES: dict[str, tuple[str, str]] = {"atm": ("ATM", "ATM"), "host": ("后台", "Backend")}


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Names the report prints for categories, actions and reject codes, zh and en, and the
    handling guide per category: a list of (who (zh, en), what to do (zh, en))."""

    categories: dict[str, tuple[str, str]]
    reject_codes: dict[str, tuple[str, str]]
    guides: dict[str, list[tuple[tuple[str, str], tuple[str, str]]]] = field(default_factory=dict)
    fallback_reject: tuple[str, str] = ("未知代码", "Unknown code")
    catalogue: Any = None  # the catalogue the names came from, if any
    # (category, variant or None) -> the posting in a few words
    actions: dict[tuple[str, str | None], tuple[str, str]] = field(default_factory=dict)
    retain_reasons: dict[str, tuple[str, str]] = field(default_factory=dict)
    # (category, variant) -> the variant's steps, as ``guides``
    variant_guides: dict[tuple[str, str], list[tuple[tuple[str, str], tuple[str, str]]]] = field(
        default_factory=dict
    )

    def category(self, code: str) -> tuple[str, str]:
        return self.categories.get(code) or (code, code)

    def action(self, code: str, variant: str | None = None) -> tuple[str, str]:
        return self.actions.get((code, variant)) or self.actions.get((code, None)) or ("", "")

    def retain_reason(self, reason: str) -> tuple[str, str]:
        return self.retain_reasons.get(reason) or (reason, reason)

    def reject(self, code: str) -> tuple[str, str]:
        return self.reject_codes.get(code) or REJECT_CODES.get(code) or self.fallback_reject

    def guide(self, code: str, variant: str | None = None) -> list[tuple[tuple[str, str], tuple[str, str]]]:
        if variant is not None and (code, variant) in self.variant_guides:
            return self.variant_guides[(code, variant)]
        return self.guides.get(code, [])

    def standard_action(
        self, code: str, reject_code: str | None, lang: str, variant: str | None = None
    ) -> str | None:
        """The action text the engine writes for this category from the catalogue, or None."""
        fn = getattr(self.catalogue, "action", None)
        if fn is None:
            return None
        try:
            return fn(code, reject_code, lang, variant=variant) if variant else fn(code, reject_code, lang)
        except (KeyError, LookupError, ValueError, TypeError):
            return None


def variant_of(m: Any) -> str | None:
    """Which of its category's cases a mismatch is (the engine picks the catalogue's steps so)."""
    if m.category == "COUNT_DIFFERS" and m.counted is not None and m.derived is not None:
        return "shortage" if m.counted < m.derived else "overage"
    if m.category == "AMOUNT_MISMATCH" and m.reversed_amount is not None:
        return "partial_reversal"
    return None


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _text_pair(value: Any) -> tuple[str, str] | None:
    zh, en = getattr(value, "zh", None), getattr(value, "en", None)
    if isinstance(zh, str) and isinstance(en, str) and zh and en:
        return zh, en
    return None


def vocabulary_from_catalogue(catalogue: Any) -> Vocabulary:
    """Names and guides from a ``custodian_app.domain.catalogue.Catalogue``; whatever it lacks
    falls back to the tables above."""
    categories: dict[str, tuple[str, str]] = {}
    guides: dict[str, list] = {}
    variant_guides: dict[tuple[str, str], list] = {}
    actions: dict[tuple[str, str | None], tuple[str, str]] = {}
    for code, info in dict(getattr(catalogue, "categories", {}) or {}).items():
        name = _text_pair(getattr(info, "name", None))
        if name:
            categories[code] = name  # as the screen shows it: one name everywhere
        short = _text_pair(getattr(info, "short", None))
        if short:
            actions[(code, None)] = short
        for variant, text in dict(getattr(info, "variant_shorts", {}) or {}).items():
            pair = _text_pair(text)
            if pair:
                actions[(code, variant)] = pair
        steps = []
        for who, attr in ((("管机员", "Custodians"), "custodian"), (("后台", "Back office"), "back_office")):
            text = _text_pair(getattr(info, attr, None))
            if text:
                steps.append((who, text))
        if steps:
            guides[code] = steps
        for variant, pair in dict(getattr(info, "variants", {}) or {}).items():
            texts = [_text_pair(t) for t in pair]
            if all(texts):
                variant_guides[(code, variant)] = [
                    (("管机员", "Custodians"), texts[0]),
                    (("后台", "Back office"), texts[1]),
                ]
    rejects = {}
    for code, text in dict(getattr(catalogue, "reject_codes", {}) or {}).items():
        pair = _text_pair(text)
        if pair:
            rejects[str(code)] = (pair[0], _capital(pair[1]))
    reasons = {}
    for code, text in dict(getattr(catalogue, "retain_reasons", {}) or {}).items():
        pair = _text_pair(text)
        if pair:
            reasons[str(code)] = pair
    fallback = _text_pair(getattr(catalogue, "fallback_reject", None))
    return Vocabulary(
        categories,
        rejects,
        guides,
        (fallback[0], _capital(fallback[1])) if fallback else ("未知代码", "Unknown code"),
        catalogue,
        actions,
        reasons,
        variant_guides,
    )


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The shipped catalogue's names when it loads, else the fallback tables above."""
    try:
        from custodian_app.support.catalogue import load_catalogue  # lands with the engine
    except ImportError:
        return Vocabulary({}, {})
    try:
        return vocabulary_from_catalogue(load_catalogue())
    except CustodianError:  # a broken catalogue must not stop the report; the fallback names are right
        return Vocabulary({}, {})


# ---------------------------------------------------------------------------------------------
# Amounts in words

_CN_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_CN_GROUP_UNITS = ("", "万", "亿", "万亿")


def _cn_group(g: int) -> str:
    out = []
    zero = False
    for div, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        d = g // div % 10
        if d == 0:
            zero = bool(out)
        else:
            if zero:
                out.append("零")
                zero = False
            out.append(_CN_DIGITS[d] + unit)
    return "".join(out)


def _cn_integer(n: int) -> str:
    if n == 0:
        return "零"
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = ""
    gap = False
    for idx in range(len(groups) - 1, -1, -1):
        g = groups[idx]
        if g == 0:
            gap = bool(out)
            continue
        if out and (gap or g < 1000):
            out += "零"
        out += _cn_group(g) + _CN_GROUP_UNITS[idx]
        gap = False
    return out


def amount_in_chinese(minor: int, currency: str = "CNY") -> str:
    """Chinese capital numerals as on a cheque: 150050 -> 人民币壹仟伍佰元伍角整. The sign is
    not included: the report says 长款 or 短款 beside it."""
    if type(minor) is not int:
        raise TypeError(f"money must be integer minor units, not {type(minor).__name__}")
    minor = abs(minor)
    yuan, cents = divmod(minor, 100)
    jiao, fen = divmod(cents, 10)
    prefix = "人民币" if currency == "CNY" else f"{currency} "
    parts = []
    if yuan or not cents:
        parts.append(_cn_integer(yuan) + "元")
    if jiao:
        parts.append(_CN_DIGITS[jiao] + "角")
    elif fen and yuan:
        parts.append("零")
    if fen:
        parts.append(_CN_DIGITS[fen] + "分")
    else:
        parts.append("整")
    return prefix + "".join(parts)


_EN_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_SCALES = ("", " thousand", " million", " billion", " trillion")


def _en_under_1000(n: int) -> str:
    words = []
    if n >= 100:
        words.append(_EN_ONES[n // 100] + " hundred")
        n %= 100
    if n >= 20:
        words.append(_EN_TENS[n // 10] + ("-" + _EN_ONES[n % 10] if n % 10 else ""))
    elif n:
        words.append(_EN_ONES[n])
    return " ".join(words)


def amount_in_english(minor: int, currency: str = "CNY") -> str:
    """150050 -> "CNY one thousand five hundred and 50/100" (sign not included)."""
    if type(minor) is not int:
        raise TypeError(f"money must be integer minor units, not {type(minor).__name__}")
    whole, cents = divmod(abs(minor), 100)
    if whole == 0:
        words = "zero"
    else:
        chunks = []
        scale = 0
        while whole:
            whole, rest = divmod(whole, 1000)
            if rest:
                chunks.append(_en_under_1000(rest) + _EN_SCALES[scale])
            scale += 1
        words = " ".join(reversed(chunks))
    return f"{currency} {words} and {cents:02d}/100"
