"""Scores over time as a server-rendered SVG chart: one line per cluster or per fleet, no
script; a fleet's score at a time is the mean of its clusters' latest scores then."""
from django.utils.html import escape
from django.utils.safestring import mark_safe

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 720, 260, 40, 30, 10, 150


def fleet_scores(member_runs: list[tuple], limit: int = 30) -> list[tuple]:
    """A fleet's scores over time from its clusters' runs [(cluster, datetime, score)]: after
    each run, the mean of every member's latest score so far (members not yet inspected are
    left out), rounded; the last `limit` points, oldest first."""
    latest, points = {}, []
    for member, when, score in sorted(member_runs, key=lambda run: run[1]):
        latest[member] = score
        points.append((when, round(sum(latest.values()) / len(latest))))
    return points[-limit:]


def summary(series: dict[str, list[tuple]]) -> list[dict]:
    """One row per line of the chart: the latest score, its change since the point before,
    when, and how many points — the chart's figures as a table."""
    rows = []
    for name, values in sorted(series.items()):
        when, score = values[-1]
        previous = values[-2][1] if len(values) > 1 else None
        rows.append({"name": name, "score": score, "when": when, "points": len(values),
                     "change": None if previous is None else score - previous})
    return rows


def chart(series: dict[str, list[tuple]], empty_text: str, chart_id: str = "trend-chart",
          series_attr: str = "cluster") -> str:
    """`series`: name -> [(datetime, score)], oldest first; `series_attr` names what a line is
    (data-cluster, data-fleet)."""
    points = [p for values in series.values() for p in values]
    if not points:
        return mark_safe(f'<p class="text-muted" id="{chart_id}-empty">{escape(empty_text)}</p>')
    start, end = min(p[0] for p in points), max(p[0] for p in points)
    span = (end - start).total_seconds() or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(when):
        return LEFT + plot_w * ((when - start).total_seconds() / span if len(points) > 1 else 0.5)

    def y(score):
        return TOP + plot_h * (1 - score / 100)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="100%" style="max-width:{WIDTH}px">']
    for score in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(score):.1f}" y2="{y(score):.1f}" '
                     f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(score) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{score}</text>')
    parts.append(f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11">{start:%Y-%m-%d %H:%M}</text>'
                 f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">{end:%Y-%m-%d %H:%M}</text>')
    for i, (name, values) in enumerate(sorted(series.items())):
        colour = COLOURS[i % len(COLOURS)]
        coords = " ".join(f"{x(w):.1f},{y(s):.1f}" for w, s in values)
        parts.append(f'<polyline class="trend-line" data-{series_attr}="{escape(name)}" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{coords}"/>')
        for w, s in values:
            parts.append(f'<circle cx="{x(w):.1f}" cy="{y(s):.1f}" r="3" fill="{colour}"><title>{escape(name)} '
                         f'{w:%Y-%m-%d %H:%M}: {s}</title></circle>')
        parts.append(f'<rect x="{WIDTH - RIGHT + 10}" y="{TOP + 16 * i}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{WIDTH - RIGHT + 24}" y="{TOP + 16 * i + 9}" font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))
