"""The words the report prints: bilingual labels (Chinese first), category names, reject code
meanings, and amounts in words (Chinese capital numerals, 大写, and English).

Category names, actions and reject code meanings come from the catalogue
(``custodian_app.catalogue_data.load_catalogue()``) when it is available; the tables below are
the fallback so that a report can always be printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# category -> (Chinese, English); the fallback when the catalogue cannot be loaded
CATEGORY_NAMES: dict[str, tuple[str, str]] = {
    "DUPLICATE_BOOKING": ("重复记账", "Duplicate booking"),
    "HOST_LOST_BOOKING": ("后台漏记账", "Backend lost the booking"),
    "DISPENSED_NOT_DEBITED": ("已出钞未扣账", "Dispensed, not debited"),
    "DEPOSIT_NOT_CREDITED": ("已存款未入账", "Deposit not credited"),
    "CODE_DISAGREES": ("应答码不一致", "Response code disagrees"),
    "AMOUNT_MISMATCH": ("金额不符", "Amount mismatch"),
    "RETRACTED": ("吞钞", "Cash retracted"),
    "DEBITED_NOT_DISPENSED": ("已扣账未出钞", "Debited, not dispensed"),
    "PARTIAL_DISPENSE": ("部分出钞", "Partial dispense"),
    "OVER_DISPENSE": ("多出钞", "Over-dispense"),
    "CREDITED_NOT_DEPOSITED": ("已入账未存款", "Credited, not deposited"),
    "DEPOSIT_COUNT_DIFFERS": ("存款点钞不符", "Deposit count differs"),
    "HOST_ONLY": ("仅后台有记录", "Backend record only"),
    "LOADING_MISMATCH": ("加钞金额不符", "Loading amount differs"),
    "NOTE_FLOW_MISMATCH": ("冠字号流水不符", "Note trail disagrees"),
    "TOTALS_INCONSISTENT": ("合计与明细不符", "Totals disagree with details"),
}

# category -> (Chinese, English) action; used only when a mismatch carries no action text
CATEGORY_ACTIONS: dict[str, tuple[str, str]] = {
    "DUPLICATE_BOOKING": ("冲正重复记账", "Reverse the duplicate booking"),
    "HOST_LOST_BOOKING": ("后台补记账", "Book it on the backend"),
    "DISPENSED_NOT_DEBITED": ("挂账，核实后向客户追款", "Suspense; recover from the customer after review"),
    "DEPOSIT_NOT_CREDITED": ("补记账，贷记客户", "Credit the customer"),
    "CODE_DISAGREES": ("挂账，核实记账结果", "Suspense; check the booking"),
    "AMOUNT_MISMATCH": ("挂账，调账", "Suspense; adjust"),
    "RETRACTED": ("清点回收箱，退还客户", "Count the retract bin, refund the customer"),
    "DEBITED_NOT_DISPENSED": ("冲正，退还客户", "Reverse the debit, refund the customer"),
    "PARTIAL_DISPENSE": ("部分冲正，退还差额", "Refund the difference"),
    "OVER_DISPENSE": ("挂账，向客户追款", "Suspense; recover from the customer"),
    "CREDITED_NOT_DEPOSITED": ("冲正入账", "Reverse the credit"),
    "DEPOSIT_COUNT_DIFFERS": ("调账", "Adjust the credit"),
    "HOST_ONLY": ("挂账，核查后台记录", "Suspense; investigate the backend record"),
    "LOADING_MISMATCH": ("双人复点，更正加钞金额", "Recount under dual custody, correct"),
    "NOTE_FLOW_MISMATCH": ("核查冠字号记录", "Check the banknote serial trail"),
    "TOTALS_INCONSISTENT": ("核查合计", "Check the totals"),
}

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

TOTALS_ITEM_NAMES: dict[str, tuple[str, str]] = {
    "loaded_amount": ("加钞金额", "Loading amount"),
    "withdrawals.count": ("取款笔数", "Withdrawals, count"),
    "withdrawals.amount": ("取款金额", "Withdrawals, amount"),
    "deposits.count": ("存款笔数", "Deposits, count"),
    "deposits.amount": ("存款金额", "Deposits, amount"),
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
    """Names the report prints for categories, actions and reject codes, zh and en."""

    categories: dict[str, tuple[str, str]]
    actions: dict[str, tuple[str, str]]
    reject_codes: dict[str, tuple[str, str]]

    def category(self, code: str) -> tuple[str, str]:
        return self.categories.get(code) or CATEGORY_NAMES.get(code) or (code, code)

    def action(self, code: str) -> tuple[str, str]:
        return self.actions.get(code) or CATEGORY_ACTIONS.get(code) or ("", "")

    def reject(self, code: str) -> tuple[str, str]:
        return self.reject_codes.get(code) or REJECT_CODES.get(code) or ("未知代码", "Unknown code")


def _pair(value: Any) -> tuple[str, str] | None:
    """Read a (zh, en) pair out of whatever shape the catalogue uses for a named thing."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return value[0], value[1]
    if isinstance(value, dict):
        zh = value.get("zh") or value.get("name_zh") or value.get("meaning_zh")
        en = value.get("en") or value.get("name_en") or value.get("meaning_en")
    else:
        zh = getattr(value, "zh", None) or getattr(value, "name_zh", None) or getattr(value, "meaning_zh", None)
        en = getattr(value, "en", None) or getattr(value, "name_en", None) or getattr(value, "meaning_en", None)
    if isinstance(zh, str) and isinstance(en, str):
        return zh, en
    return None


def vocabulary_from_catalogue(catalogue: Any) -> Vocabulary:
    """Take names from a catalogue object, tolerating what it does not have."""
    categories: dict[str, tuple[str, str]] = {}
    actions: dict[str, tuple[str, str]] = {}
    rejects: dict[str, tuple[str, str]] = {}
    from custodian_app.domain.formats import CATEGORIES

    for code in CATEGORIES:
        for getter in ("category", "category_name", "get_category"):
            fn = getattr(catalogue, getter, None)
            if callable(fn):
                try:
                    entry = fn(code)
                except (KeyError, LookupError, ValueError):
                    entry = None
                pair = _pair(entry)
                if pair:
                    categories[code] = pair
                if entry is not None:
                    act = _pair(getattr(entry, "action", None) and
                                (getattr(entry, "action", None), getattr(entry, "action_en", None)))
                    if act:
                        actions[code] = act
                break
    for code in list(REJECT_CODES):
        for getter in ("reject", "reject_code", "meaning", "get_reject"):
            fn = getattr(catalogue, getter, None)
            if callable(fn):
                try:
                    pair = _pair(fn(code))
                except (KeyError, LookupError, ValueError):
                    pair = None
                if pair:
                    rejects[code] = pair
                break
    return Vocabulary(categories, actions, rejects)


@lru_cache(maxsize=1)
def default_vocabulary() -> Vocabulary:
    """The catalogue's names when the catalogue loads, else the fallback tables above."""
    try:
        from custodian_app.catalogue_data import load_catalogue  # lands with the engine
    except ImportError:
        return Vocabulary({}, {}, {})
    try:
        return vocabulary_from_catalogue(load_catalogue())
    except Exception:  # a broken catalogue must not stop the report; the fallback names are right
        return Vocabulary({}, {}, {})


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


_EN_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
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
