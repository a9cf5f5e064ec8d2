"""Properties of the division preview (federation.preview on cceone_karmada.division), checked
with hypothesis over random members, weights, affinities and replica counts: every replica is
placed, a member weighted 0 gets nothing unless every weight is 0, a member the affinity or a
taint leaves out gets nothing and says why, a tie the UID decides is flagged and both outcomes
are Karmada's, and the fast Webster is the sequential one."""
from hypothesis import given, settings
from hypothesis import strategies as st

from cceone_karmada import division
from federation.policies import DIVIDED, DUPLICATED, Placement
from federation.preview import NO_WEIGHT, NOT_SELECTED, TAINTED, preview

NAMES = [f"member{i}" for i in range(1, 13)]


def cluster(name, tainted=False):
    return {"metadata": {"name": name, "labels": {"env": "prod" if name[-1] in "13579" else "test"}},
            "spec": {"taints": [{"key": "maintenance", "effect": "NoSchedule"}] if tainted else []},
            "status": {"apiEnablements": [{"groupVersion": "apps/v1", "resources": [{"kind": "Deployment"}]}]}}


@st.composite
def scenario(draw):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=12, unique=True))
    tainted = draw(st.sets(st.sampled_from(names)))
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if draw(st.booleans()) else []
    weights = {name: draw(st.integers(0, 20)) for name in (chosen or names) if draw(st.booleans())}
    replicas = draw(st.integers(0, 500))
    return names, tainted, chosen, weights, replicas


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_divided_places_every_replica_on_members_that_fit(case):
    names, tainted, chosen, weights, replicas = case
    clusters = [cluster(n, n in tainted) for n in names]
    found = preview(replicas, Placement(DIVIDED, cluster_names=chosen, weights=weights).manifest(), clusters,
                    api_version="apps/v1", kind="Deployment")
    fits = [n for n in names if (not chosen or n in chosen) and n not in tainted]
    members = {m.name: m for m in found.members}
    if not fits:
        assert found.error and not found.placed
        return
    assert sum(found.placed.values()) == replicas
    for name in names:
        if chosen and name not in chosen:
            assert members[name].reason == NOT_SELECTED and members[name].replicas == 0
        elif name in tainted:
            assert members[name].reason == TAINTED and members[name].replicas == 0
    positive = {n: w for n, w in weights.items() if n in fits and w > 0}
    if positive:
        # A member without a positive weight gets nothing when another has one.
        for name in fits:
            if name not in positive:
                assert members[name].replicas == 0 and members[name].reason == NO_WEIGHT
        expected = division.possible_divisions(replicas, positive)
    else:
        expected = division.possible_divisions(replicas, {n: 1 for n in fits})  # all equal
    assert found.outcomes == expected
    assert found.uid_dependent == (len(expected) > 1)
    if found.uid_dependent:
        moved = [m for m in found.members if m.alternatives]
        assert moved and all(abs(a - m.replicas) == 1 for m in moved for a in m.alternatives)


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_duplicated_gives_every_fitting_member_all_replicas(case):
    names, tainted, chosen, _weights, replicas = case
    clusters = [cluster(n, n in tainted) for n in names]
    found = preview(replicas, Placement(DUPLICATED, cluster_names=chosen).manifest(), clusters)
    fits = {n for n in names if (not chosen or n in chosen) and n not in tainted}
    assert {m.name: m.replicas for m in found.members if m.name in fits} == {n: replicas for n in fits}
    assert all(m.replicas == 0 for m in found.members if m.name not in fits)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), st.integers(0, 10_000), min_size=1),
       st.integers(0, 3_000), st.sampled_from([division.NAME_ASC, division.NAME_DESC]))
def test_the_fast_webster_is_karmadas_sequential_one(weights, replicas, tie_break):
    assert division.webster(replicas, weights, tie_break=tie_break) == \
        division.webster_sequential(replicas, weights, tie_break=tie_break)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(NAMES), st.integers(1, 50), min_size=1, max_size=6), st.integers(0, 200),
       st.text(alphabet="0123456789abcdef-", min_size=8, max_size=36))
def test_a_known_uid_gives_one_of_the_flagged_outcomes(weights, replicas, uid):
    clusters = [cluster(n) for n in weights]
    placement = Placement(DIVIDED, weights=weights).manifest()
    unknown = preview(replicas, placement, clusters)
    known = preview(replicas, placement, clusters, uid=uid)
    assert len(known.outcomes) == 1 and known.outcomes[0] in unknown.outcomes
    assert known.placed == division.divide(replicas, weights, uid=uid)


def test_older_karmada_releases_use_their_rule():
    clusters = [cluster(n) for n in ("member1", "member2", "member3")]
    placement = Placement(DIVIDED, weights={"member1": 3, "member2": 2, "member3": 1}).manifest()
    assert preview(14, placement, clusters, version="v1.16.0").placed == {"member1": 7, "member2": 5, "member3": 2}
    legacy = preview(14, placement, clusters, version="v1.15.2")
    assert legacy.placed == {"member1": 8, "member2": 4, "member3": 2} and legacy.algorithm == "legacy-random"
    tie = preview(3, Placement(DIVIDED, weights={"member1": 1, "member2": 1}).manifest(), clusters[:2],
                  version="v1.10")
    assert tie.random_ties and not tie.uid_dependent
