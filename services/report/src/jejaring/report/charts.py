"""Bar charts of a report table, without a plotting library: a `Chart` (bars, axis, legend) is
laid out once and drawn twice, as SVG (pages, the API) and with fpdf2's primitives (the PDF).

The bars are the shown numbers: a chart of a suppressed table draws no bar for "<3" or "x"
(it marks them instead), so a chart never tells more than the table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from jejaring.report.suppression import ShownTable
from jejaring.shared.contract.enums import Lang

if TYPE_CHECKING:
    from fpdf import FPDF  # imported when a PDF is made (exports.py)

# Colour-blind safe (Okabe-Ito), in the order of the columns.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 640.0, 320.0
LEFT, RIGHT, TOP, BOTTOM = 44.0, 150.0, 16.0, 56.0


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    text: str  # the shown value: "12", "<3", "x"


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    bars: tuple[Bar, ...]
    ticks: tuple[tuple[float, str], ...]  # (y, value) on the axis
    groups: tuple[tuple[float, str], ...]  # (x of the middle, label) under the axis
    legend: tuple[tuple[str, str], ...]  # (colour, label)


def _top(largest: int) -> int:
    """A round top for the axis, at least 4."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if largest <= step * 4:
            return step * 4
    return largest


def layout(view: ShownTable, lang: Lang = "id") -> Chart:
    """Grouped bars: one group per row, one bar per column."""
    table = view.table
    numbers = [int(t) for row in view.cells for t in row if t.isdigit()]
    top = _top(max(numbers, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / max(len(table.rows), 1)
    bar_w = group_w * 0.8 / max(len(table.columns), 1)
    bars = []
    for i, row in enumerate(view.cells):
        for j, text in enumerate(row):
            value = int(text) if text.isdigit() else 0
            height = plot_h * value / top
            x = LEFT + i * group_w + group_w * 0.1 + j * bar_w
            bars.append(
                Bar(x, TOP + plot_h - height, bar_w, height, PALETTE[j % len(PALETTE)], text)
            )
    ticks = tuple((TOP + plot_h - plot_h * k / 4, str(top * k // 4)) for k in range(5))
    groups = tuple((LEFT + (i + 0.5) * group_w, r.text(lang)) for i, r in enumerate(table.rows))
    legend = tuple((PALETTE[j % len(PALETTE)], c.text(lang)) for j, c in enumerate(table.columns))
    unit = table.unit.text(lang)
    what = "Diagram batang" if lang == "id" else "Bar chart"
    by = "per" if lang == "id" else "by"
    description = (
        f"{what}: {unit} {by} {', '.join(r.text(lang) for r in table.rows)}; "
        + "; ".join(
            f"{r.text(lang)}: "
            + ", ".join(f"{c.text(lang)} {view.cells[i][j]}" for j, c in enumerate(table.columns))
            for i, r in enumerate(table.rows)
        )
    )
    return Chart(table.title.text(lang), description, tuple(bars), ticks, groups, legend)


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def svg(view: ShownTable, lang: Lang = "id") -> str:
    """The chart as a standalone, accessible SVG document."""
    chart = layout(view, lang)
    key = escape(view.key)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        f'width="{WIDTH:g}" height="{HEIGHT:g}" role="img" lang="{lang}" '
        f'aria-labelledby="{key}-title {key}-desc" font-family="DejaVu Sans, sans-serif" '
        'font-size="10">',
        f'<title id="{key}-title">{escape(chart.title)}</title>',
        f'<desc id="{key}-desc">{escape(chart.description)}</desc>',
    ]
    for y, value in chart.ticks:
        parts.append(
            f'<line x1="{LEFT:g}" y1="{y:.1f}" x2="{WIDTH - RIGHT:g}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4:g}" y="{y + 3:.1f}" text-anchor="end">{value}</text>'
        )
    for bar in chart.bars:
        parts.append(
            f'<rect x="{bar.x:.1f}" y="{bar.y:.1f}" width="{bar.width:.1f}" '
            f'height="{bar.height:.1f}" fill="{bar.colour}"><title>{escape(bar.text)}</title></rect>'
        )
        if not bar.text.isdigit():
            parts.append(
                f'<text x="{bar.x + bar.width / 2:.1f}" y="{bar.y - 2:.1f}" text-anchor="middle" '
                f'font-size="8">{escape(bar.text)}</text>'
            )
    base = HEIGHT - BOTTOM
    parts.append(
        f'<line x1="{LEFT:g}" y1="{base:g}" x2="{WIDTH - RIGHT:g}" y2="{base:g}" stroke="#333"/>'
    )
    for x, text in chart.groups:
        parts.append(
            f'<text x="{x:.1f}" y="{base + 12:g}" text-anchor="end" '
            f'transform="rotate(-30 {x:.1f} {base + 12:g})">{escape(_short(text, 22))}</text>'
        )
    for k, (colour, text) in enumerate(chart.legend):
        y = TOP + k * 14
        parts.append(
            f'<rect x="{WIDTH - RIGHT + 10:g}" y="{y:g}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{WIDTH - RIGHT + 24:g}" y="{y + 9:g}">{escape(_short(text, 22))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def draw(pdf: FPDF, view: ShownTable, lang: Lang, *, x: float, y: float, width: float) -> float:
    """The chart drawn on `pdf` at (x, y), `width` mm wide; returns its height in mm."""
    chart = layout(view, lang)
    scale = width / WIDTH

    def at(px: float, py: float) -> tuple[float, float]:
        return x + px * scale, y + py * scale

    pdf.set_font(size=6)
    pdf.set_draw_color(220, 220, 220)
    for ty, value in chart.ticks:
        x1, y1 = at(LEFT, ty)
        x2, _ = at(WIDTH - RIGHT, ty)
        pdf.line(x1, y1, x2, y1)
        pdf.text(x1 - pdf.get_string_width(value) - 1, y1 + 1, value)
    for bar in chart.bars:
        bx, by = at(bar.x, bar.y)
        if bar.height > 0:
            pdf.set_fill_color(*_rgb(bar.colour))
            pdf.rect(bx, by, bar.width * scale, bar.height * scale, style="F")
        if not bar.text.isdigit():
            pdf.text(
                bx + (bar.width * scale - pdf.get_string_width(bar.text)) / 2, by - 0.8, bar.text
            )
    pdf.set_draw_color(50, 50, 50)
    x1, base = at(LEFT, HEIGHT - BOTTOM)
    x2, _ = at(WIDTH - RIGHT, HEIGHT - BOTTOM)
    pdf.line(x1, base, x2, base)
    for gx, text in chart.groups:
        px, _ = at(gx, 0)
        label = _short(text, 22)
        with pdf.rotation(30, px, base + 2):
            pdf.text(px - pdf.get_string_width(label), base + 3, label)
    for k, (colour, text) in enumerate(chart.legend):
        lx, ly = at(WIDTH - RIGHT + 10, TOP + k * 14)
        pdf.set_fill_color(*_rgb(colour))
        pdf.rect(lx, ly, 10 * scale, 10 * scale, style="F")
        pdf.text(lx + 14 * scale, ly + 9 * scale, _short(text, 22))
    return HEIGHT * scale
