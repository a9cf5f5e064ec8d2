"""How Karmada divides a workload's replicas among clusters (karmada SPEC §7).

Three generations of the static-weight algorithm exist and a policy gives
different numbers on each (14 replicas at 3:2:1 are 8:4:2 before v1.16 and
7:5:2 after), so every entry point takes the Karmada ``version`` it should
imitate:

* ≥ v1.16: Webster / Sainte-Laguë highest averages (``webster``), ties to the
  cluster with fewer replicas, then by name in the direction given by the
  parity of the FNV-1a hash of the resource template's UID;
* v1.8 – v1.15: floor of the proportional share, the leftover one each in
  order of weight, then of the previous assignment, then at random
  (``legacy`` with ``order="random"``; ``legacy_outcomes`` lists every
  result the coin can give);
* ≤ v1.7: the same with leftover ties in cluster-name order.

Dynamic weighting and Aggregated division use the same dispenser with the
clusters' estimated available replicas as weights.
"""

from __future__ import annotations

import itertools
import random
import re
from typing import Any, Iterable, Mapping, Sequence

from .affinity import Cluster, affinity_matches

WEBSTER_SINCE = (1, 16)
RANDOM_TIES_SINCE = (1, 8)
LATEST = (1, 19)

NAME_ASC = "name_asc"
NAME_DESC = "name_desc"


class InsufficientCapacity(ValueError):
    """The candidate clusters cannot hold the replicas (dynamic weight, Aggregated)."""


def parse_version(version: str | Sequence[int] | None) -> tuple[int, int]:
    """``"v1.15.2"`` → ``(1, 15)``; None means the newest behaviour."""
    if version is None:
        return LATEST
    if not isinstance(version, str):
        return (int(version[0]), int(version[1]))
    m = re.match(r"^v?(\d+)\.(\d+)", version.strip())
    if not m:
        raise ValueError(f"not a Karmada version: {version!r}")
    return (int(m.group(1)), int(m.group(2)))


# ------------------------------------------------------------------ Webster (≥ v1.16)

def fnv1a_32(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def tie_break_for(uid: str | None) -> str:
    """Which name wins an exact tie: the smaller unless the template UID's FNV-1a hash is odd."""
    if not uid:
        return NAME_ASC
    return NAME_DESC if fnv1a_32(uid.encode()) % 2 else NAME_ASC


def webster(replicas: int, weights: Mapping[str, int], *, initial: Mapping[str, int] | None = None,
            tie_break: str = NAME_ASC) -> dict[str, int]:
    """Hand out ``replicas`` more seats one at a time to the largest ``weight / (2·seats + 1)``.

    ``initial`` seats count as already given (a cluster only there has weight 0).
    The result holds every cluster of ``weights`` and ``initial``, zeros included.
    """
    if not initial:
        return _webster_fast(int(replicas), {name: int(w) for name, w in weights.items()}, tie_break)[0]
    return webster_sequential(replicas, weights, initial=initial, tie_break=tie_break)


def _webster_fast(replicas: int, weights: Mapping[str, int], tie_break: str) -> tuple[dict[str, int], bool]:
    """``webster`` from no seats, in O(n log n) rather than O(replicas · n).

    Seats are handed out in order of falling quotient, so for any threshold ``t`` the seats
    whose quotient ``w / (2s + 1)`` exceeds ``t`` are exactly those given before any other
    (integers, no rounding). ``t = W / 2R`` (Webster's divisor) most often gives a few seats
    short of ``R``; when it gives more, ``t = W / (2R − n)`` gives at most ``R`` and at least
    ``R − n``. The rest are given one at a time by the same rule (a heap on the same key), so
    ties fall exactly as in ``webster_sequential``; the second value says whether the name
    rule ever chose.
    """
    import heapq

    seats = {name: 0 for name in weights}
    total = sum(w for w in weights.values() if w > 0)
    if not weights or total <= 0 or replicas <= 0:
        return dict(sorted(seats.items())), False
    n = len(weights)
    # t = total / scale; s = #{odd m : total·m < w·scale}. First Webster's own divisor (most
    # often at most R seats, a few short); if that overshoots, one that never does.
    for scale in (2 * replicas, 2 * replicas - n):
        if scale <= 0:
            break
        guess = {name: ((w * scale - 1) // total + 1) // 2 for name, w in weights.items() if w > 0}
        if sum(guess.values()) <= replicas:
            seats.update(guess)
            break
    given = sum(seats.values())
    order = {name: i for i, name in enumerate(sorted(weights))}
    sign = -1 if tie_break == NAME_DESC else 1
    # heapq pops the smallest: the largest quotient, then fewer seats, then the name rule.
    heap = [(-(float(w) / float(2 * seats[name] + 1)), seats[name], sign * order[name], name)
            for name, w in weights.items() if w > 0]
    heapq.heapify(heap)
    named_tie = False  # whether the name rule ever chose (else the other direction gives the same)
    for _ in range(replicas - given):
        quotient, held, rank, name = heapq.heappop(heap)
        if heap and heap[0][0] == quotient and heap[0][1] == held:
            named_tie = True
        seats[name] += 1
        heapq.heappush(heap, (-(float(weights[name]) / float(2 * seats[name] + 1)), seats[name], rank, name))
    return dict(sorted(seats.items())), named_tie


def webster_sequential(replicas: int, weights: Mapping[str, int], *, initial: Mapping[str, int] | None = None,
                       tie_break: str = NAME_ASC) -> dict[str, int]:
    """``webster`` as Karmada writes it: one seat at a time (the reference the fast path is tested against)."""
    seats = {name: int(n) for name, n in (initial or {}).items()}
    votes = {name: 0 for name in seats}
    votes.update({name: int(w) for name, w in weights.items()})
    for name in votes:
        seats.setdefault(name, 0)
    if not votes or sum(votes.values()) <= 0:
        return seats
    descending = tie_break == NAME_DESC

    def key(name: str) -> tuple[float, int, Any]:
        quotient = float(votes[name]) / float(2 * seats[name] + 1)
        # max() of this key: larger quotient, then fewer seats, then the name rule.
        return (quotient, -seats[name], name if descending else _Reversed(name))

    for _ in range(max(0, int(replicas))):
        winner = max(votes, key=key)
        seats[winner] += 1
    return dict(sorted(seats.items()))


class _Reversed(str):
    """A name that sorts backwards, so ``max`` picks the smallest one."""

    def __lt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__gt__(self, other)

    def __gt__(self, other: str) -> bool:  # type: ignore[override]
        return str.__lt__(self, other)


# ------------------------------------------------------------------ floor + leftover (< v1.16)

def _legacy_order(weights: Mapping[str, int], previous: Mapping[str, int]) -> list[list[str]]:
    """Clusters in leftover order, as groups the old scheduler could not tell apart."""
    key = lambda name: (-int(weights[name]), -int(previous.get(name, 0)))  # noqa: E731
    names = sorted(weights, key=lambda n: (key(n), n))
    return [list(group) for _, group in itertools.groupby(names, key=key)]


def _floors(replicas: int, weights: Mapping[str, int]) -> tuple[dict[str, int], int]:
    total = sum(int(w) for w in weights.values())
    base = {name: int(w) * int(replicas) // total for name, w in weights.items()}
    return base, int(replicas) - sum(base.values())


def legacy(replicas: int, weights: Mapping[str, int], *, previous: Mapping[str, int] | None = None,
           initial: Mapping[str, int] | None = None, order: str = "name",
           rng: random.Random | None = None) -> dict[str, int]:
    """Karmada before v1.16: floor shares, the leftover one each by weight, previous replicas, then
    ``order``: ``"name"`` (≤ v1.7, and a stable stand-in) or ``"random"`` (v1.8 – v1.15)."""
    result = {name: int(n) for name, n in (initial or {}).items()}
    if not weights or sum(int(w) for w in weights.values()) <= 0:
        return dict(sorted(result.items()))
    base, remain = _floors(replicas, weights)
    leftover_order: list[str] = []
    for group in _legacy_order(weights, (previous or {}) if order == "random" else {}):
        if order == "random":
            group = list(group)
            (rng or random).shuffle(group)
        leftover_order.extend(group)
    for name in leftover_order[:remain]:
        base[name] += 1
    for name, n in base.items():
        result[name] = result.get(name, 0) + n
    return dict(sorted(result.items()))


def legacy_outcomes(replicas: int, weights: Mapping[str, int], *, previous: Mapping[str, int] | None = None,
                    initial: Mapping[str, int] | None = None) -> list[dict[str, int]]:
    """Every result v1.8 – v1.15 can give (its leftover ties are random), in a stable order."""
    result = {name: int(n) for name, n in (initial or {}).items()}
    if not weights or sum(int(w) for w in weights.values()) <= 0:
        return [dict(sorted(result.items()))]
    base, remain = _floors(replicas, weights)
    sure: list[str] = []
    choices: list[tuple[str, ...]] = [()]
    for group in _legacy_order(weights, previous or {}):
        if remain <= 0:
            break
        if len(group) <= remain:
            sure.extend(group)
            remain -= len(group)
        else:
            choices = list(itertools.combinations(group, remain))
            remain = 0
    outcomes = []
    for chosen in choices:
        one = dict(base)
        for name in (*sure, *chosen):
            one[name] += 1
        total = dict(result)
        for name, n in one.items():
            total[name] = total.get(name, 0) + n
        outcomes.append(dict(sorted(total.items())))
    return outcomes


# ------------------------------------------------------------------ the scheduler's entry points

def divide(replicas: int, weights: Mapping[str, int], *, uid: str | None = "", version: Any = None,
           previous: Mapping[str, int] | None = None) -> dict[str, int]:
    """Divided + Weighted: cluster → replicas as written to ``spec.clusters`` (sorted, no zeros).

    ``previous`` (the old ``spec.clusters``) matters only before v1.16, whose random
    leftover ties are replaced here by name order so that a preview is stable.
    """
    v = parse_version(version)
    if v >= WEBSTER_SINCE:
        result = webster(replicas, weights, tie_break=tie_break_for(uid))
    else:
        result = legacy(replicas, weights, previous=previous if v >= RANDOM_TIES_SINCE else None)
    return {name: n for name, n in result.items() if n > 0}


def possible_divisions(replicas: int, weights: Mapping[str, int], *, version: Any = None,
                       previous: Mapping[str, int] | None = None) -> list[dict[str, int]]:
    """Every division a server can produce when the template's UID is not known yet (a preview)."""
    v = parse_version(version)
    if v >= WEBSTER_SINCE:
        ascending, named_tie = _webster_fast(int(replicas), {n: int(w) for n, w in weights.items()}, NAME_ASC)
        results = [ascending] + ([webster(replicas, weights, tie_break=NAME_DESC)] if named_tie else [])
    elif v >= RANDOM_TIES_SINCE:
        results = legacy_outcomes(replicas, weights, previous=previous)
    else:
        results = [legacy(replicas, weights)]
    unique: list[dict[str, int]] = []
    for r in results:
        r = {name: n for name, n in r.items() if n > 0}
        if r not in unique:
            unique.append(r)
    return unique


def duplicated(replicas: int, clusters: Iterable[str]) -> dict[str, int]:
    return {name: int(replicas) for name in sorted(clusters)}


def static_weights(clusters: Iterable[Cluster], static_weight_list: Sequence[Mapping[str, Any]] | None
                   ) -> dict[str, int]:
    """§7.2: each candidate's weight is the largest of the rules whose targetCluster matches it.

    Candidates no rule matches are left out, unless no candidate matches any rule:
    then, as without a weightPreference, every candidate weighs 1.
    """
    clusters = list(clusters)
    names = [(c.get("metadata") or {}).get("name", "") for c in clusters]
    if not static_weight_list:
        return {name: 1 for name in names}
    weights: dict[str, int] = {}
    for name, cluster in zip(names, clusters):
        matched = [int(rule.get("weight") or 0) for rule in static_weight_list
                   if affinity_matches(rule.get("targetCluster"), cluster)]
        if matched:
            weights[name] = max(matched)
    if sum(weights.values()) <= 0:
        return {name: 1 for name in names}
    return weights


def dynamic(replicas: int, available: Mapping[str, int], *, uid: str | None = "",
            version: Any = None) -> dict[str, int]:
    """``dynamicWeight: AvailableReplicas``: divided by what each cluster can still take."""
    if sum(max(0, int(a)) for a in available.values()) < replicas:
        raise InsufficientCapacity(_not_enough(replicas, available))
    return divide(replicas, {n: max(0, int(a)) for n, a in available.items()}, uid=uid, version=version)


def aggregated(replicas: int, available: Mapping[str, int], *, previous: Iterable[str] = (),
               uid: str | None = "", version: Any = None) -> dict[str, int]:
    """Aggregated: the fewest clusters (already used ones first, then the roomiest) that hold the
    replicas, divided among them by their capacity."""
    used = set(previous)
    order = sorted(available, key=lambda n: (n not in used, -int(available[n]), n))
    chosen: dict[str, int] = {}
    room = 0
    for name in order:
        if room >= replicas:
            break
        if int(available[name]) <= 0:
            continue
        chosen[name] = int(available[name])
        room += int(available[name])
    if room < replicas:
        raise InsufficientCapacity(_not_enough(replicas, available))
    return divide(replicas, chosen, uid=uid, version=version)


def _not_enough(replicas: int, available: Mapping[str, int]) -> str:
    return (f"clusters resources are not enough to schedule, max {sum(max(0, int(a)) for a in available.values())} "
            f"replicas are support")
