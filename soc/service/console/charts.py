"""Bar charts as numbers for server-rendered SVG (no chart library, no script on the page).

Counting per day and scaling bars is a few lines; a vendored chart library would need script
and inline styles the console's CSP forbids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT, TOP = 640, 160, 10


@dataclass(frozen=True)
class Segment:
    series: str
    value: int
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    label: str
    total: int
    x: float
    width: float
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    series: tuple[str, ...]
    peak: int
    width: int = WIDTH
    height: int = HEIGHT


def stacked(counts: dict[str, Counter[str]], labels: Sequence[str], series: Sequence[str]) -> Chart:
    """One bar per label, stacked by series (each segment's value is also in its <title>)."""
    peak = max((sum(counts.get(lb, Counter()).values()) for lb in labels), default=0)
    slot = WIDTH / max(len(labels), 1)
    scale = (HEIGHT - TOP) / peak if peak else 0.0
    bars = []
    for i, label in enumerate(labels):
        c = counts.get(label, Counter())
        base = float(HEIGHT)
        segments = []
        for name in series:
            value = c.get(name, 0)
            if value:
                h = value * scale
                base -= h
                segments.append(Segment(name, value, round(base, 1), round(h, 1)))
        bars.append(Bar(label, sum(c.values()), round(i * slot + slot * 0.1, 1), round(slot * 0.8, 1),
                        tuple(segments)))
    return Chart(tuple(bars), tuple(series), peak)


def days(last: date, n: int) -> list[str]:
    return [(last - timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


def per_day(items: Iterable[tuple[str, str]], labels: Sequence[str], series: Sequence[str]) -> Chart:
    """``items`` are (ISO timestamp, series) pairs; counted by their date (first 10 characters)."""
    wanted = set(labels)
    counts: dict[str, Counter[str]] = {}
    for ts, name in items:
        day = ts[:10]
        if day in wanted:
            counts.setdefault(day, Counter())[name] += 1
    return stacked(counts, labels, series)
