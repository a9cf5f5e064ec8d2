"""The overview page (R1.1, R1.2): cards the apps register, and the charts of the tenant's
instances and resource statistics, each chart one aggregate query over what the apps
register. The core knows no product: each app registers, from its AppConfig.ready(),

- `register(Card(...))`: a card of its own, rendered in the order of `position`;
- `register_instances(Instances(...))`: a kind of instance counted on the charts "by type"
  and "by region" (its `queryset(user)` is what the user may list, annotated with `kind` and
  `region_pk`);
- `register_statistics(StatisticsView(...))`: a view of the resource statistics (its
  `queryset(user)` is a one-row aggregate with the `STATISTICS` columns).

The charts are unions of those querysets (one query for the instance counts of both
"by type" and "by region", one for the statistics), so the page costs the same few queries
however many instances the tenant has."""
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from . import charts


@dataclass(frozen=True)
class Card:
    name: str
    template: str  # rendered with the page's context plus `card`, what `context(request)` returns
    context: Callable
    position: int = 100


@dataclass(frozen=True)
class Instances:
    name: str
    labels: dict  # each `kind` value the queryset annotates → its label ("cloud" → Cloud cluster)
    queryset: Callable  # (user) → the instances the user may list, annotated with `kind` and `region_pk`
    position: int = 100
    regional: bool = True  # fleets belong to no region


# The columns of a statistics view's one-row aggregate (R1.2): clusters, nodes, vCPU and the
# sums that make the allocation rates (requests ÷ allocatable of Ready nodes).
STATISTICS = ("view", "clusters", "nodes", "vcpu", "cpu_requested", "cpu_allocatable", "memory_requested",
              "memory_allocatable")


@dataclass(frozen=True)
class StatisticsView:
    name: str
    label: str
    queryset: Callable  # (user) → values(*STATISTICS), at most one row, `view` = name
    position: int = 100


CARDS: dict[str, Card] = {}
INSTANCES: dict[str, Instances] = {}
VIEWS: dict[str, StatisticsView] = {}


def register(card: Card) -> None:
    CARDS[card.name] = card


def register_instances(instances: Instances) -> None:
    INSTANCES[instances.name] = instances


def register_statistics(view: StatisticsView) -> None:
    VIEWS[view.name] = view


def cards_for(request) -> list[dict]:
    return [{"template": card.template, "context": card.context(request)}
            for card in sorted(CARDS.values(), key=lambda card: card.position)]


def _union(querysets):
    querysets = list(querysets)
    if not querysets:
        return []
    first, *rest = querysets
    return list(first.union(*rest, all=True)) if rest else list(first)


def _sources():
    return sorted(INSTANCES.values(), key=lambda source: source.position)


def kinds() -> list[tuple[str, str]]:
    """(kind, label) of every instance kind, in the registered order."""
    return [(kind, label) for source in _sources() for kind, label in source.labels.items()]


def instance_counts(user) -> dict[tuple[int | None, str], int]:
    """(region id, kind) → count of the instances the user may list (region None: a kind that
    belongs to no region), for both charts: one query."""
    rows = _union(source.queryset(user).values("region_pk", "kind").annotate(n=Count("pk")).order_by()
                  for source in _sources())
    return {(row["region_pk"], row["kind"]): row["n"] for row in rows}


def instances_by_type(counts) -> dict[str, int]:
    by_type = {kind: 0 for kind, _label in kinds()}
    for (_region, kind), n in counts.items():
        by_type[kind] = by_type.get(kind, 0) + n
    return by_type


def statistics(user) -> list[dict]:
    """One row per registered view: totals and allocation rates (R1.2), one query."""
    views = sorted(VIEWS.values(), key=lambda view: view.position)
    found = {row["view"]: row for row in _union(view.queryset(user).values(*STATISTICS) for view in views)}
    out = []
    for view in views:
        row = found.get(view.name) or {}
        figures = {key: row.get(key) or 0 for key in STATISTICS[1:]}
        figures["cpu_rate"] = (figures["cpu_requested"] / figures["cpu_allocatable"]
                               if figures["cpu_allocatable"] else None)
        figures["memory_rate"] = (figures["memory_requested"] / figures["memory_allocatable"]
                                  if figures["memory_allocatable"] else None)
        for rate in ("cpu", "memory"):
            value = figures[f"{rate}_rate"]
            figures[f"{rate}_percent"] = None if value is None else round(100 * value, 1)
        out.append({"name": view.name, "label": view.label, **figures})
    return out


def charts_for(user, regions) -> dict:
    """The overview's charts and their tables: instances by type, by region, and the
    resource statistics per view. `regions` is [(pk, label)]."""
    counts = instance_counts(user)
    by_type = instances_by_type(counts)
    kind_list = kinds()
    type_chart = charts.bar_chart(_("Instances by type"), [_("Instances")],
                                  [(label, [by_type.get(kind, 0)]) for kind, label in kind_list], chart_id="chart-types")
    regional = [(kind, label) for source in _sources() if source.regional for kind, label in source.labels.items()]
    region_chart = charts.bar_chart(
        _("Instances by region"), [label for _kind, label in regional],
        [(label, [counts.get((pk, kind), 0) for kind, _l in regional]) for pk, label in regions],
        stacked=True, chart_id="chart-regions")
    stats = statistics(user)
    rate_chart = charts.bar_chart(
        _("Allocation rates (requests ÷ allocatable)"), [_("CPU"), _("Memory")],
        [(row["label"], [row["cpu_percent"] or 0, row["memory_percent"] or 0])
         for row in stats], percent=True, chart_id="chart-allocation")
    return {"types": type_chart, "regions": region_chart, "allocation": rate_chart, "statistics": stats,
            "total": sum(by_type.values())}
