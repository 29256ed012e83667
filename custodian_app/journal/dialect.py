"""Journal dialects: declarative descriptions of one ATM application's electronic journal.

A dialect is a TOML file (see docs/journals.md for the reference IT writes one from): a list
of rules, each a regular expression for one kind of line with named groups for its fields,
the event the line stands for, and optionally a template the test writer prints it with.
Shipped dialects live in ``resources/dialects/``; a bank's own go into
``$CUSTODIAN_HOME/dialects/`` and are picked up without a release (a user dialect of the same
name replaces the shipped one).

Journals are repetitive: the line after a given kind of line is nearly always of the kind that
followed it last time. The reader tries that rule first and falls back to the rules in order,
so most lines cost one regex call whatever the number of rules (benchmarks/bench_journal.py).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field

from custodian_app.journal.errors import JournalError

# What a line can stand for. Transaction events apply to the open transaction.
EVENTS = (
    "tx_start",
    "tx_field",
    "tx_end",
    "notes_presented",
    "notes_taken",
    "cash_retracted",
    "power_failure",
    "reversal",
    "card_retained",
    "deposit_accepted",
    "deposit_returned",
    "counters_start",
    "terminal",
    "counter_unit",
    "counters_end",
    "ignore",
)
TX_EVENTS = frozenset(EVENTS[:11])
# Named groups a pattern may use (anything else is a mistake in the dialect).
FIELDS = frozenset(
    {
        "date",
        "time",  # when the line was written
        "tsn",
        "card",
        "type",
        "amount",
        "code",
        "ref",  # the transaction's own fields
        "counts",
        "cash",
        "reason",  # an event's notes per cassette, its cash, a card's retention reason
        "terminal",
        "cycle",
        "unit",
        "unit_type",
        "currency",
        "value",
        "loaded",
        "dispensed",
        "rejected",
        "unknown",
        "deposited",
        "retracted",
        "count",
        "remaining",  # a counter print's unit line
    }
)
# Groups each event cannot do without.
REQUIRED = {
    "tx_start": {"time"},
    "counters_start": {"time"},
    "notes_presented": {"counts"},
    "deposit_accepted": {"cash"},
    "deposit_returned": {"cash"},
    "terminal": {"terminal"},
    "counter_unit": {"unit", "unit_type"},
}
TX_TYPES = ("withdrawal", "deposit", "other")
UNIT_TYPES = ("cashOut", "cashIn", "recycling", "reject", "retract")
RETAIN_REASONS = ("timeout", "host", "fault", "other")
FSN_DIRECTIONS = ("dispense", "deposit", "retract", "return")
# How FSN files say which way their notes went, when a dialect does not say otherwise: a tag
# in the file's name (ATM applications write one file per action and name it so).
DEFAULT_FSN_NAMES = {
    "dispense": r"(?:^|[_.-])(?:CDM|OUT|DISP)(?:[_.-]|$)",
    "deposit": r"(?:^|[_.-])(?:CIM|IN|DEP)(?:[_.-]|$)",
    "retract": r"(?:^|[_.-])(?:RTR|RETRACT)(?:[_.-]|$)",
    "return": r"(?:^|[_.-])(?:RTN|RETURN|BACK)(?:[_.-]|$)",
}
DEFAULT_FSN_TAGS = {"dispense": "CDM", "deposit": "CIM", "retract": "RTR", "return": "RTN"}

_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


@dataclass(frozen=True)
class Rule:
    index: int
    event: str
    pattern: str
    fields: tuple[str, ...]
    template: str | None = None
    write_after: str | None = None  # ignore lines the writer prints after this event
    units: tuple[str, ...] = ()  # counter_unit: the unit types the writer uses it for


@dataclass
class Dialect:
    name: str
    title: str
    source: str  # the file it came from
    rules: list[Rule]
    date_format: str
    time_format: str
    utc_offset: str
    currency: str
    no_answer_code: str
    types: dict[str, str]
    unit_types: dict[str, str]
    retain_reasons: dict[str, str]
    fsn_names: dict[str, re.Pattern]
    fsn_tags: dict[str, str]
    ignore_case: bool = False
    counts_separator: str = ","  # how the writer joins notes per cassette
    # (rule, its compiled pattern's fullmatch), in the dialect's order, a blank-line rule last
    matchers: list = field(default_factory=list, repr=False)
    # the tables as written (original case and order), for the writer's words
    types_written: dict[str, str] = field(default_factory=dict, repr=False)
    unit_types_written: dict[str, str] = field(default_factory=dict, repr=False)
    retain_reasons_written: dict[str, str] = field(default_factory=dict, repr=False)

    def rules_for(self, event: str) -> list[Rule]:
        return [r for r in self.rules if r.event == event]

    def lookup(self, table: str, text: str) -> str | None:
        """A word of the journal in one of the dialect's tables (types, unit_types,
        retain_reasons), matched without regard to case or surrounding blanks."""
        return getattr(self, table).get(text.strip().upper())

    def word_for(self, table: str, value: str) -> str:
        """The journal's word for a value (the first the table lists), for the writer."""
        for word, v in getattr(self, table + "_written").items():
            if v == value:
                return word
        raise KeyError(f"dialect {self.name} has no word for {value!r} in [{table}]")


def _bad(source: str, message: str) -> JournalError:
    return JournalError(source, f"dialect: {message}")


def _table(doc: dict, name: str, allowed: tuple[str, ...], source: str) -> tuple[dict, dict]:
    raw = doc.get(name, {})
    if not isinstance(raw, dict):
        raise _bad(source, f"[{name}] must be a table of journal words")
    for word, value in raw.items():
        if value not in allowed:
            raise _bad(source, f"[{name}] {word!r} = {value!r}: use one of {', '.join(allowed)}")
    return {k.strip().upper(): v for k, v in raw.items()}, dict(raw)


def parse_dialect(text: str, source: str) -> Dialect:
    """A dialect from its TOML text; every fault names the dialect file and the rule."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _bad(source, f"not valid TOML ({exc})") from None
    name = doc.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
        raise _bad(source, 'name must be a short lower-case word, e.g. name = "ncr"')
    raw_rules = doc.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _bad(source, "no [[rule]] tables: a dialect needs at least the transaction start")
    flags = re.IGNORECASE if doc.get("ignore_case") else 0
    rules: list[Rule] = []
    matchers = []
    for i, r in enumerate(raw_rules):
        where = f"rule {i + 1}"
        if not isinstance(r, dict):
            raise _bad(source, f"{where} must be a table")
        event = r.get("event")
        if event not in EVENTS:
            raise _bad(source, f"{where}: event {event!r} is not one of {', '.join(EVENTS)}")
        pattern = r.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise _bad(source, f"{where}: pattern missing")
        # A rule describes a whole line; the anchors are added here.
        if pattern.startswith("^"):
            pattern = pattern[1:]
        if pattern.endswith("$") and not pattern.endswith("\\$"):
            pattern = pattern[:-1]
        try:
            compiled = re.compile(pattern + r"[ \t\r]*", flags)
        except re.error as exc:
            raise _bad(source, f"{where}: pattern is not a valid regular expression ({exc})") from None
        if "(?P=" in pattern:
            raise _bad(source, f"{where}: back-references to named groups are not supported")
        names = _GROUP.findall(pattern)
        unknown = [n for n in names if n not in FIELDS]
        if unknown:
            raise _bad(
                source, f"{where}: unknown group(s) {', '.join(unknown)}; use {', '.join(sorted(FIELDS))}"
            )
        missing = REQUIRED.get(event, set()) - set(names)
        if missing:
            raise _bad(source, f"{where}: a {event} line needs the group(s) {', '.join(sorted(missing))}")
        template = r.get("template")
        if template is not None:
            bad = [p for p in _PLACEHOLDER.findall(template) if p not in FIELDS]
            if bad:
                raise _bad(source, f"{where}: template names unknown field(s) {', '.join(bad)}")
        write_after = r.get("write_after")
        if write_after is not None and write_after not in EVENTS:
            raise _bad(source, f"{where}: write_after {write_after!r} is not an event")
        units = tuple(r.get("units", ()))
        if any(u not in UNIT_TYPES for u in units):
            raise _bad(source, f"{where}: units must list {', '.join(UNIT_TYPES)}")
        rule = Rule(i, event, pattern, tuple(names), template, write_after, units)
        rules.append(rule)
        matchers.append((rule, compiled.fullmatch))
    # Blank lines carry nothing and are never gaps.
    matchers.append((Rule(len(rules), "ignore", "", ()), re.compile(r"[ \t\r]*").fullmatch))

    types, types_w = _table(doc, "types", TX_TYPES, source)
    unit_types, unit_types_w = _table(doc, "unit_types", UNIT_TYPES, source)
    reasons, reasons_w = _table(doc, "retain_reasons", RETAIN_REASONS, source)
    fsn = doc.get("fsn", {})
    if not isinstance(fsn, dict) or any(k not in FSN_DIRECTIONS + ("tags",) for k in fsn):
        raise _bad(source, f"[fsn] may only name {', '.join(FSN_DIRECTIONS)} and tags")
    fsn_names = {}
    for direction in FSN_DIRECTIONS:
        try:
            fsn_names[direction] = re.compile(fsn.get(direction, DEFAULT_FSN_NAMES[direction]), re.IGNORECASE)
        except re.error as exc:
            raise _bad(source, f"[fsn] {direction}: not a valid regular expression ({exc})") from None
    tags = dict(DEFAULT_FSN_TAGS)
    tags.update(fsn.get("tags", {}))
    d = Dialect(
        name=name,
        title=str(doc.get("title", name)),
        source=source,
        rules=rules,
        date_format=str(doc.get("date_format", "%Y-%m-%d")),
        time_format=str(doc.get("time_format", "%H:%M:%S")),
        utc_offset=str(doc.get("utc_offset", "+08:00")),
        currency=str(doc.get("currency", "CNY")),
        no_answer_code=str(doc.get("no_answer_code", "68")),
        types=types,
        unit_types=unit_types,
        retain_reasons=reasons,
        fsn_names=fsn_names,
        fsn_tags=tags,
        ignore_case=bool(flags),
        counts_separator=str(doc.get("counts_separator", ",")),
        matchers=matchers,
        types_written=types_w,
        unit_types_written=unit_types_w,
        retain_reasons_written=reasons_w,
    )
    if not re.fullmatch(r"[+-]\d\d:\d\d", d.utc_offset):
        raise _bad(source, f"utc_offset must look like +08:00, found {d.utc_offset!r}")
    if not d.rules_for("tx_start"):
        raise _bad(source, "no tx_start rule: the reader cannot tell where a transaction begins")
    return d


def shipped_folder() -> str:
    from custodian_app.support.resources import resource

    return str(resource("dialects"))


def user_folder() -> str:
    from custodian_app.settings.paths import data_dir

    return str(data_dir() / "dialects")


def _files() -> dict[str, str]:
    """name -> file; the user's folder after the shipped one, so a bank's own dialect of the
    same file name replaces the shipped one."""
    found: dict[str, str] = {}
    for folder in (shipped_folder(), user_folder()):
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for fname in names:
            if fname.endswith(".toml"):
                found[fname[:-5]] = os.path.join(folder, fname)
    return found


def available_dialects() -> list[str]:
    """The dialect names the reader knows, shipped and the bank's own."""
    return sorted(_files())


def load_dialect(name_or_path: str) -> Dialect:
    """A dialect by name (shipped or in the user's folder) or by the path of its file."""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        path = name_or_path
    else:
        path = _files().get(name_or_path)
        if path is None:
            known = ", ".join(available_dialects()) or "none"
            raise JournalError(
                name_or_path,
                f"no such journal dialect; known: {known} (a bank's own dialects go into {user_folder()})",
            )
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(
            path, f"cannot read the dialect: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    return parse_dialect(text, path)
