"""Inline SVG bar charts for the report (alerts per day by severity, fields by grade, events per
day, key ages).

Written by hand rather than with a plotting library: four plain bar charts are ~80 lines of SVG,
while matplotlib (the usual choice) would add a large runtime dependency with its own font cache
and still need CJK fonts configured to print the Chinese labels the browser already renders.
"""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD_L, PAD_B, PAD_T = 640, 220, 48, 40, 24
COLORS = {"critical": "#8e0000", "high": "#d9480f", "medium": "#f59f00", "low": "#74b816",
          "informational": "#868e96", "L4": "#8e0000", "L3": "#d9480f", "L2": "#f59f00", "L1": "#74b816"}
DEFAULT_COLOR = "#1c7ed6"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def stacked_bars(title: str, labels: list[str], series: dict[str, list[float]]) -> Markup:
    """Vertical bars per label, stacked by series (legend in series order)."""
    if not labels:
        return Markup(f'<p class="nochart">{escape(title)}: no data in the period</p>')
    totals = [sum(s[i] for s in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals))
    plot_w, plot_h = WIDTH - PAD_L - 8, HEIGHT - PAD_B - PAD_T
    step = plot_w / len(labels)
    bar = min(40.0, max(1.0, step * 0.8))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
           f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{WIDTH - 8}" y2="{PAD_T + plot_h}" stroke="#333"/>',
           f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" text-anchor="end" font-size="10">{top:,.0f}</text>',
           f'<text x="{PAD_L - 4}" y="{PAD_T + plot_h}" text-anchor="end" font-size="10">0</text>']
    for i, label in enumerate(labels):
        x, y = PAD_L + i * step + (step - bar) / 2, float(PAD_T + plot_h)
        for name, values in series.items():
            h = values[i] / top * plot_h
            if h > 0:
                y -= h
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                           f'fill="{COLORS.get(name, DEFAULT_COLOR)}"><title>{escape(label)} {escape(name)}: '
                           f'{values[i]:,.0f}</title></rect>')
    every = max(1, len(labels) // 8)
    for i in range(0, len(labels), every):
        out.append(f'<text x="{PAD_L + (i + 0.5) * step:.1f}" y="{HEIGHT - PAD_B + 14}" text-anchor="middle" '
                   f'font-size="10">{escape(labels[i])}</text>')
    for j, name in enumerate(series):
        x = PAD_L + j * 110
        out.append(f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" '
                   f'fill="{COLORS.get(name, DEFAULT_COLOR)}"/>'
                   f'<text x="{x + 14}" y="{HEIGHT - 5}" font-size="10">{escape(name)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def hbars(title: str, rows: list[tuple[str, float]], unit: str = "") -> Markup:
    """One horizontal bar per row (label, value)."""
    if not rows:
        return Markup(f'<p class="nochart">{escape(title)}: no data</p>')
    top = _nice_max(max(v for _, v in rows))
    line, label_w = 20, 180
    height = PAD_T + line * len(rows) + 8
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" '
           f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = PAD_T + i * line
        w = value / top * (WIDTH - label_w - 60)
        out.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" font-size="11">{escape(label)}</text>'
                   f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{line - 6}" '
                   f'fill="{COLORS.get(label, DEFAULT_COLOR)}"/>'
                   f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11">{value:,.0f}{escape(unit)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
