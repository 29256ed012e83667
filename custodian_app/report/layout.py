"""Fast text and tables on a reportlab canvas.

platypus lays out a table by measuring every cell as a flowable, which for a 10,000-row
mismatch list takes seconds. The report's big tables have fixed columns, so they are drawn
straight onto the canvas instead: column widths are fixed up front, string widths come from
the font's glyph widths and are cached per string, a cell wraps to at most ``max_lines`` lines
(the last one shortened with an ellipsis), and each string's PDF text operators are produced
once per document and reused. A page's text goes into the page as one text block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

ELLIPSIS = "…"
BLACK = (0, 0, 0)
RED = (0.78, 0.0, 0.0)
GREEN = (0.0, 0.45, 0.15)
GREY = (0.4, 0.4, 0.4)


def _is_cjk(ch: str) -> bool:
    # CJK text breaks between any two characters; Latin text only at spaces
    return ch >= "\u2e80"


class Metrics:
    """String widths for one TrueType font, cached per character and per string."""

    def __init__(self, font) -> None:
        face = font.face
        self._char_widths = face.charWidths  # glyph advance per code point, 1/1000 em
        self._default = face.defaultWidth
        self._chars: dict[str, float] = {}
        self._strings: dict[str, float] = {}
        self._wraps: dict[tuple, tuple[str, ...]] = {}

    def char(self, ch: str) -> float:
        w = self._chars.get(ch)
        if w is None:
            w = self._chars[ch] = self._char_widths.get(ord(ch), self._default)
        return w

    def width(self, text: str, size: float) -> float:
        w = self._strings.get(text)
        if w is None:
            try:
                w = sum(map(self._chars.__getitem__, text))
            except KeyError:  # a character not seen before: look it up once
                for ch in text:
                    self.char(ch)
                w = sum(map(self._chars.__getitem__, text))
            self._strings[text] = w
        return w * size / 1000.0

    def fit(self, text: str, size: float, width: float) -> str:
        """``text`` shortened with an ellipsis so that it fits ``width``."""
        if self.width(text, size) <= width:
            return text
        limit = width * 1000.0 / size - self.char(ELLIPSIS)
        used = 0.0
        for i, ch in enumerate(text):
            used += self.char(ch)
            if used > limit:
                return text[:i].rstrip() + ELLIPSIS
        return text

    def wrap(self, text: str, size: float, width: float, max_lines: int = 2) -> tuple[str, ...]:
        """Lines of ``text`` no wider than ``width``: at most ``max_lines``, the last one cut
        with an ellipsis when the text does not fit. Cached: the same remark or category name
        appears on thousands of rows."""
        key = (text, size, width, max_lines)
        lines = self._wraps.get(key)
        if lines is not None:
            return lines
        if "\n" not in text and self.width(text, size) <= width:
            lines = (text,) if text else ()
        else:
            lines = tuple(self._wrap(text, size, width, max_lines))
        self._wraps[key] = lines
        return lines

    def _wrap(self, text: str, size: float, width: float, max_lines: int) -> list[str]:
        limit = width * 1000.0 / size
        char = self.char
        out: list[str] = []
        for para in text.split("\n"):
            rest = para
            while rest and len(out) < max_lines:
                if len(out) == max_lines - 1:
                    out.append(self.fit(rest, size, width))
                    break
                used = 0.0
                cut = 0  # the longest prefix that may end a line
                brk = len(rest)
                for i, ch in enumerate(rest):
                    used += char(ch)
                    if used > limit and i > 0:
                        brk = i
                        break
                    if ch == " " or _is_cjk(ch):
                        cut = i + 1
                if brk == len(rest):
                    out.append(rest)
                    break
                if _is_cjk(rest[brk]) or cut == 0:
                    cut = brk
                out.append(rest[:cut].rstrip())
                rest = rest[cut:].lstrip()
            if len(out) >= max_lines:
                break
        return out[:max_lines]


class Pen:
    """Writes text into the page with PDF operators made once per string and document.

    ``font.splitString`` / ``getSubsetInternalName`` are reportlab's documented way to write a
    subsetted TrueType font; doing it once per distinct string instead of once per drawString
    call is what makes 10,000 rows cheap. ``flush`` puts the page's text into the canvas; call
    it before ``showPage``. A Pen without a canvas measures only (the counting pass)."""

    def __init__(self, canvas, font, metrics: Metrics) -> None:
        self.canvas = canvas
        self.font = font
        self.metrics = metrics
        self._ops: dict[tuple[str, float], str] = {}
        self._buf: list[str] = []
        self._color = BLACK
        if canvas is not None:
            self._doc = canvas._doc  # reportlab keys a font's subsets by the document object
            # reportlab's own escaping, byte by byte, as a table: its loop is pure Python
            # without the optional rl_accel extension
            self._escapes = [canvas._escape(bytes([c])) for c in range(256)]

    def _encode(self, text: str, size: float) -> str:
        key = (text, size)
        ops = self._ops.get(key)
        if ops is None:
            parts = []
            for subset, chunk in self.font.splitString(text, self._doc):
                name = self.font.getSubsetInternalName(subset, self._doc)
                parts.append(f"{name} {size:g} Tf ({''.join(map(self._escapes.__getitem__, chunk))}) Tj")
            ops = self._ops[key] = " ".join(parts)
        return ops

    def text(
        self, x: float, y: float, text: str, size: float, color=BLACK, align: str = "l", bold: bool = False
    ) -> None:
        """Draw one line of text; ``align`` "r" puts its right end at x, "c" its middle.
        ``bold`` strokes the outlines too: the font has no bold face."""
        if self.canvas is None or not text:
            return
        if align == "r":
            x -= self.metrics.width(text, size)
        elif align == "c":
            x -= self.metrics.width(text, size) / 2
        buf = self._buf
        if color != self._color:
            buf.append("%.3f %.3f %.3f rg %.3f %.3f %.3f RG" % (color + color))
            self._color = color
        if bold:
            buf.append(
                f"2 Tr {size * 0.035:.2f} w 1 0 0 1 {x:.2f} {y:.2f} Tm {self._encode(text, size)} 0 Tr"
            )
        else:
            buf.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm {self._encode(text, size)}")

    def flush(self) -> None:
        if self.canvas is None or not self._buf:
            return
        if self._color != BLACK:
            self._buf.append("0 0 0 rg 0 0 0 RG")
            self._color = BLACK
        self.canvas.addLiteral("BT\n" + "\n".join(self._buf) + "\nET")
        self._buf = []


class Rules:
    """Lines and shaded boxes of one page, written as one path each at ``flush``."""

    def __init__(self, canvas) -> None:
        self.canvas = canvas
        self._lines: list[str] = []
        self._fills: list[str] = []

    def line(self, x1: float, y1: float, x2: float, y2: float) -> None:
        if self.canvas is not None:
            self._lines.append(f"{x1:.2f} {y1:.2f} m {x2:.2f} {y2:.2f} l")

    def shade(self, x: float, y: float, w: float, h: float) -> None:
        if self.canvas is not None:
            self._fills.append(f"{x:.2f} {y:.2f} {w:.2f} {h:.2f} re")

    def flush(self) -> None:
        if self.canvas is None:
            return
        ops = []
        if self._fills:
            ops.append("q 0.93 0.93 0.93 rg " + " ".join(self._fills) + " f Q")
        if self._lines:
            ops.append("q 0.45 w 0.55 0.55 0.55 RG " + " ".join(self._lines) + " S Q")
        if ops:
            self.canvas.addLiteral("\n".join(ops))
        self._lines = []
        self._fills = []


@dataclass(slots=True)
class Column:
    title: tuple[str, ...]  # header lines, Chinese first
    width: float
    align: str = "l"  # "l", "r" or "c"
    max_lines: int = 2


@dataclass(slots=True)
class Row:
    """One prepared table row: the wrapped lines of each cell, and colours where not black."""

    cells: list[tuple[str, ...]]
    colors: dict[int, tuple[float, float, float]] | None = None
    shaded: bool = False
    height: float = 0.0


@dataclass(slots=True)
class TableStyle:
    size: float = 7.0
    leading: float = 8.6
    pad_x: float = 2.5
    pad_y: float = 2.4
    header_size: float = 7.0
    zebra: bool = True


@dataclass
class Table:
    """A table of fixed columns, ready to be drawn across as many pages as it needs."""

    columns: list[Column]
    style: TableStyle = field(default_factory=TableStyle)
    rows: list[Row] = field(default_factory=list)
    header_height: float = 0.0

    def prepare_header(self) -> None:
        s = self.style
        lines = max(len(c.title) for c in self.columns)
        self.header_height = lines * s.leading + 2 * s.pad_y

    def add(
        self,
        metrics: Metrics,
        values: Sequence[str | tuple[str, ...]],
        colors: dict[int, tuple[float, float, float]] | None = None,
    ) -> Row:
        """Wrap one row's values to their columns. A value may be a tuple of lines already
        (e.g. Chinese name, English name): each line is then fitted on its own."""
        s = self.style
        cells: list[tuple[str, ...]] = []
        n = 1
        for col, value in zip(self.columns, values, strict=False):
            inner = col.width - 2 * s.pad_x
            if isinstance(value, tuple):
                lines = tuple(metrics.fit(v, s.size, inner) for v in value[: col.max_lines] if v)
            else:
                lines = metrics.wrap(value, s.size, inner, col.max_lines) if value else ()
            cells.append(lines)
            if len(lines) > n:
                n = len(lines)
        row = Row(cells, colors, self.style.zebra and len(self.rows) % 2 == 1, n * s.leading + 2 * s.pad_y)
        self.rows.append(row)
        return row

    @property
    def width(self) -> float:
        return sum(c.width for c in self.columns)

    @property
    def height(self) -> float:
        """The height of the whole table on one page (header included)."""
        if not self.header_height and any(c.title for c in self.columns):
            self.prepare_header()
        return self.header_height + sum(r.height for r in self.rows)


def draw_header(pen: Pen, rules: Rules, table: Table, x: float, top: float) -> float:
    """Draw the header row with its top at ``top``; returns the y below it."""
    s = table.style
    h = table.header_height
    if not h:  # a table without a header row (the report's particulars)
        rules.line(x, top, x + table.width, top)
        return top
    rules.shade(x, top - h, table.width, h)
    rules.line(x, top, x + table.width, top)
    rules.line(x, top - h, x + table.width, top - h)
    cx = x
    ascent = s.header_size * 0.86
    for col in table.columns:
        for i, line in enumerate(col.title):
            y = top - s.pad_y - ascent - i * s.leading
            if col.align == "r":
                pen.text(cx + col.width - s.pad_x, y, line, s.header_size, GREY if i else BLACK, "r")
            elif col.align == "c":
                pen.text(cx + col.width / 2, y, line, s.header_size, GREY if i else BLACK, "c")
            else:
                pen.text(cx + s.pad_x, y, line, s.header_size, GREY if i else BLACK)
        cx += col.width
    return top - h


def draw_row(pen: Pen, rules: Rules, table: Table, row: Row, x: float, top: float) -> float:
    """Draw one row with its top at ``top``. The hot loop of a long list: it writes the text
    operators straight into the pen's page buffer (same operators as ``Pen.text``)."""
    s = table.style
    if row.shaded:
        rules.shade(x, top - row.height, table.width, row.height)
    size = s.size
    base = top - s.pad_y - size * 0.86
    ys = [f"{base - i * s.leading:.2f}" for i in range(max(len(c) for c in row.cells) or 1)]
    buf = pen._buf
    encode = pen._encode
    width = pen.metrics.width
    colors = row.colors
    cx = x
    for ci, (col, lines) in enumerate(zip(table.columns, row.cells, strict=False)):
        if lines:
            color = colors.get(ci, BLACK) if colors else BLACK
            if color != pen._color:
                buf.append("%.3f %.3f %.3f rg %.3f %.3f %.3f RG" % (color + color))
                pen._color = color
            align = col.align
            for i, line in enumerate(lines):
                if align == "r":
                    lx = cx + col.width - s.pad_x - width(line, size)
                elif align == "c":
                    lx = cx + (col.width - width(line, size)) / 2
                else:
                    lx = cx + s.pad_x
                buf.append(f"1 0 0 1 {lx:.2f} {ys[i]} Tm {encode(line, size)}")
        cx += col.width
    return top - row.height


def draw_table(
    table: Table,
    x: float,
    y: float,
    bottom: float,
    pen: Pen,
    rules: Rules,
    new_page: Callable[[bool], float],
    keep_together: float = 0.0,
) -> float:
    """Draw ``table`` from ``y`` down, repeating the header on every page it runs onto. A row
    is never split: when it does not fit above ``bottom``, ``new_page(rows_drawn)`` is called,
    which finishes the page and returns the top y of the next one. A table no taller than
    ``keep_together`` starts on a new page rather than being split. Returns the y below it."""
    if not table.header_height and any(c.title for c in table.columns):
        table.prepare_header()
    first = table.header_height + (table.rows[0].height if table.rows else 0)
    if y - first < bottom or (table.height <= keep_together and y - table.height < bottom):
        y = new_page(False)
    y = draw_header(pen, rules, table, x, y)
    top_of_part = y
    counting = pen.canvas is None  # the counting pass only needs the heights
    for row in table.rows:
        if y - row.height < bottom:
            _frame(rules, table, x, top_of_part, y)
            y = new_page(True)
            y = draw_header(pen, rules, table, x, y)
            top_of_part = y
        if counting:
            y -= row.height
        else:
            y = draw_row(pen, rules, table, row, x, y)
    _frame(rules, table, x, top_of_part, y)
    return y


def _frame(rules: Rules, table: Table, x: float, top: float, bottom: float) -> None:
    # column rules and the bottom line of one page's part of the table
    rules.line(x, bottom, x + table.width, bottom)
    cx = x
    header_top = top + table.header_height
    rules.line(cx, header_top, cx, bottom)
    for col in table.columns:
        cx += col.width
        rules.line(cx, header_top, cx, bottom)
