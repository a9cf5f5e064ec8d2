"""The division module reproduces Karmada's own scheduler tests (karmada SPEC §7.5).

Each case of ``cases/division_cases.json`` (Karmada ≥ v1.16) and of
``cases/division_cases_legacy_pre_v1.16.json`` is one parametrised test named
by its case, so a failure says which Karmada unit test we disagree with.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cceone_karmada import division

CASES = Path(__file__).parent / "cases"
CURRENT = json.loads((CASES / "division_cases.json").read_text())
LEGACY = json.loads((CASES / "division_cases_legacy_pre_v1.16.json").read_text())


def _id(case: dict) -> str:
    return f"{case['source']} {case['name']}"


def _cluster(name: str) -> dict:
    return {"metadata": {"name": name}, "spec": {}}


@pytest.mark.parametrize("case", CURRENT, ids=[_id(c) for c in CURRENT])
def test_karmada_v1_16_case(case: dict) -> None:
    entry = case["entry_point"]
    weights = case["weights"]
    if case.get("static_weight_list") is not None:
        # The weights the case states are what §7.2 makes of its staticWeightList.
        candidates = [_cluster(n) for n in case.get("candidates") or weights]
        assert division.static_weights(candidates, case["static_weight_list"]) == weights, case["name"]
    if case.get("uid"):
        assert division.tie_break_for(case["uid"]) == case["tie_break"], case["name"]
    if entry.startswith("core.genericScheduler.assignReplicas"):
        # What the scheduler writes to spec.clusters: zero-replica clusters dropped.
        got = division.divide(case["replicas"], weights, uid=case.get("uid", ""))
        expected = {n: r for n, r in case["expected"].items() if r}
    elif entry.startswith("core.dynamicDivideReplicas"):
        got = division.dynamic(case["replicas"], weights)
        expected = case["expected"]
    else:
        got = division.webster(case["replicas"], weights, initial=case.get("initial"), tie_break=case["tie_break"])
        expected = case["expected"]
    assert got == expected, f"{case['name']} ({case['source']})"


@pytest.mark.parametrize("case", LEGACY, ids=[_id(c) for c in LEGACY])
def test_karmada_before_v1_16_case(case: dict) -> None:
    """The set of results the old random tie-break can give is exactly what the Go test accepts."""
    outcomes = division.legacy_outcomes(case["replicas"], case["weights"], previous=case.get("previous"),
                                        initial=case.get("initial"))
    accepted = case["expected_any_of"]
    assert sorted(map(json.dumps, outcomes)) == sorted(map(json.dumps, accepted)), case["name"]
    # And the randomised dispenser itself stays inside that set.
    for seed in range(8):
        got = division.legacy(case["replicas"], case["weights"], previous=case.get("previous"),
                              initial=case.get("initial"), order="random", rng=random.Random(seed))
        assert got in accepted, f"{case['name']} (seed {seed})"


def test_the_version_picks_the_algorithm() -> None:
    weights = {"member1": 3, "member2": 2, "member3": 1}
    assert division.divide(14, weights, version="v1.16.0") == {"member1": 7, "member2": 5, "member3": 2}
    assert division.divide(14, weights, version="v1.15.3") == {"member1": 8, "member2": 4, "member3": 2}
    # ≤ v1.7 hands equal-weight leftovers out by name.
    assert division.divide(5, {"b": 1, "a": 1, "c": 1}, version="1.7") == {"a": 2, "b": 2, "c": 1}


def test_scaling_up_never_takes_replicas_away() -> None:
    weights = {"a": 5, "b": 3, "c": 2}
    before = division.divide(1, weights, uid="4858ca61-3ff8-4095-8267-f3d059d8074c")
    for n in range(2, 40):
        after = division.divide(n, weights, uid="4858ca61-3ff8-4095-8267-f3d059d8074c")
        assert all(after.get(k, 0) >= v for k, v in before.items()), n
        before = after


def test_a_preview_without_uid_shows_both_tie_outcomes() -> None:
    assert division.possible_divisions(5, {"A": 1, "B": 1}) == [{"A": 3, "B": 2}, {"A": 2, "B": 3}]
    assert division.possible_divisions(4, {"A": 1, "B": 1}) == [{"A": 2, "B": 2}]


def test_static_weights_by_labels_and_default() -> None:
    clusters = [{"metadata": {"name": "m1", "labels": {"env": "prod"}}, "spec": {"region": "cn-north"}},
                {"metadata": {"name": "m2", "labels": {"env": "dev"}}, "spec": {"region": "cn-south"}}]
    rules = [{"targetCluster": {"labelSelector": {"matchLabels": {"env": "prod"}}}, "weight": 2},
             {"targetCluster": {"fieldSelector": {"matchExpressions": [
                 {"key": "region", "operator": "In", "values": ["cn-south"]}]}}, "weight": 1}]
    assert division.static_weights(clusters, rules) == {"m1": 2, "m2": 1}
    # No rule matches anyone: all weigh 1. No weightPreference: all weigh 1.
    assert division.static_weights(clusters, [{"targetCluster": {"clusterNames": ["x"]}, "weight": 5}]) == \
        {"m1": 1, "m2": 1}
    assert division.static_weights(clusters, None) == {"m1": 1, "m2": 1}


def test_aggregated_uses_the_fewest_clusters() -> None:
    available = {"small": 2, "big": 10, "mid": 5}
    assert division.aggregated(8, available) == {"big": 8}
    # Two clusters are needed; divided by their capacity 10:5.
    assert division.aggregated(12, available) == {"big": 8, "mid": 4}
    # Clusters already in use are kept first (mid, the roomier of them, holds 3).
    assert division.aggregated(3, available, previous=["small", "mid"]) == {"mid": 3}
    with pytest.raises(division.InsufficientCapacity):
        division.aggregated(30, available)
    with pytest.raises(division.InsufficientCapacity):
        division.dynamic(30, available)
