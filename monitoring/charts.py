"""Time series as server-rendered SVG (no script, no chart library): one line per series, a
titled, labelled image, and a table of the latest values as its text alternative."""
import datetime as dt

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import mark_safe

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 560, 220, 64, 12, 10, 28


def format_value(value: float, unit: str) -> str:
    if unit == "bytes":
        for suffix, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if abs(value) >= size:
                return f"{number_format(value / size, 1)} {suffix}"
        return f"{number_format(value, 0)} B"
    if unit == "ratio":
        return f"{number_format(value * 100, 1)} %"
    if unit == "count":
        return number_format(value, 0)
    return number_format(value, 2 if abs(value) < 10 else 1)


def _nice_max(value: float, unit: str) -> float:
    if unit == "ratio":
        return 1.0
    if value <= 0:
        return 1.0
    magnitude = 10 ** len(str(int(value))) / 10 if value >= 1 else 1
    for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= factor * magnitude:
            return factor * magnitude
    return value


def chart(key: str, title: str, unit: str, series: list[dict], start: float, end: float) -> str:
    """`series`: [{"name", "points": [(unix seconds, value)]}]."""
    values = [v for s in series for _, v in s["points"]]
    top = _nice_max(max(values) if values else 0, unit)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (end - start) or 1

    def x(when):
        return LEFT + plot_w * (when - start) / span

    def y(value):
        return TOP + plot_h * (1 - min(value, top) / top)

    tz = timezone.get_current_timezone()
    fmt = "%H:%M" if span <= 86400 else "%m-%d %H:%M"
    label_id = f"chart-{escape(key)}-title"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ts-chart" id="chart-{escape(key)}" role="img" '
             f'aria-labelledby="{label_id}" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
             f'style="max-width:{WIDTH}px"><title id="{label_id}">{escape(title)}</title>']
    for i in range(5):
        level = top * i / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="#e5e5e5"/>'
                     f'<text x="{LEFT - 6}" y="{y(level) + 4:.1f}" font-size="10" text-anchor="end">'
                     f'{escape(format_value(level, unit))}</text>')
    for i in range(5):
        when = start + span * i / 4
        label = dt.datetime.fromtimestamp(when, tz).strftime(fmt)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(f'<text x="{x(when):.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="{anchor}">{label}</text>')
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{x(w):.1f},{y(v):.1f}" for w, v in s["points"])
        last = s["points"][-1][1] if s["points"] else 0
        parts.append(f'<polyline class="ts-line" data-series="{escape(s["name"])}" fill="none" stroke="{colour}" '
                     f'stroke-width="1.6" points="{coords}"><title>{escape(s["name"])}: '
                     f'{escape(format_value(last, unit))}</title></polyline>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def colour(index: int) -> str:
    return COLOURS[index % len(COLOURS)]
