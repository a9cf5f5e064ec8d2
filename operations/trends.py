"""Scores over time as a server-rendered SVG chart: one line per cluster or per fleet, no
script; a fleet's score at a time is the mean of its clusters' latest scores then."""
from dataclasses import dataclass

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

from cceone.iam.access import restrict
from clusters.models import RegisteredCluster
from fleets.models import Fleet

from .models import Inspection, RunStatus

LIMIT = 30  # points per line
LINES = 20  # lines per chart

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP, RIGHT = 720, 260, 40, 30, 10, 150


@dataclass
class Scores:
    """What the trend page and its API show: per line (a cluster, a fleet) its id, name and
    points [(time, score)], oldest first; a fleet also how many of its clusters were inspected."""

    clusters: list[dict]
    fleets: list[dict]
    fleet: Fleet | None  # the fleet whose clusters alone are shown, if one was chosen


def cluster_series(clusters, limit: int = LIMIT) -> dict[str, list[tuple]]:
    return {line["name"]: line["points"] for line in _cluster_lines(clusters, limit)}


def _cluster_lines(clusters, limit: int = LIMIT) -> list[dict]:
    lines = []
    for cluster in clusters:
        runs = list(Inspection.objects.filter(cluster=cluster, status=RunStatus.SUCCEEDED, score__isnull=False)
                    .order_by("-finished_at").values_list("finished_at", "score")[:limit])
        if runs:
            lines.append({"id": cluster.pk, "name": cluster.name,
                          "points": [(timezone.localtime(when), score) for when, score in reversed(runs)]})
    return lines


def _fleet_lines(user, fleets, limit: int = LIMIT) -> list[dict]:
    lines = []
    for fleet in fleets:
        members = restrict(RegisteredCluster.objects.filter(fleet=fleet), user, "clusters:list")
        runs = list(Inspection.objects.filter(cluster__in=members, status=RunStatus.SUCCEEDED, score__isnull=False)
                    .order_by("-finished_at").values_list("cluster_id", "finished_at", "score")[:limit * 10])
        points = fleet_scores([(c, timezone.localtime(when), score) for c, when, score in runs], limit)
        if points:
            lines.append({"id": fleet.pk, "name": fleet.name, "points": points,
                          "covered": len({c for c, _when, _score in runs}), "members": members.count()})
    return lines


def scores(user, fleet_id: str = "") -> Scores:
    """Every line the user may see: the clusters they may list (one fleet's alone when
    `fleet_id` names a fleet they may list) and the fleets they may list, each over the
    clusters of it they may list."""
    fleets = restrict(Fleet.objects.all(), user, "fleets:list").order_by("name")
    clusters = restrict(RegisteredCluster.objects.all(), user, "clusters:list").order_by("name")
    chosen = fleets.filter(pk=fleet_id).first() if str(fleet_id).isdigit() else None
    if chosen is not None:
        clusters = clusters.filter(fleet=chosen)
    return Scores(_cluster_lines(clusters[:LINES]), _fleet_lines(user, fleets[:LINES]), chosen)


def fleet_scores(member_runs: list[tuple], limit: int = LIMIT) -> list[tuple]:
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
