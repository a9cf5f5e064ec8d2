"""Score trends per fleet and per cluster: a fleet's line follows the mean of its clusters'
latest scores, the table beside it gives the figures, and one fleet's clusters can be shown
alone. Another tenant's fleets and clusters never appear."""
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from operations.models import Inspection
from tests.conftest import client_for
from tests.factories import ClusterFactory, FleetFactory

pytestmark = pytest.mark.django_db


def inspected(cluster, score, minutes_ago):
    when = timezone.now() - timedelta(minutes=minutes_ago)
    return Inspection.objects.create(cluster=cluster, status="succeeded", score=score, created_at=when,
                                     finished_at=when)


def points(page, attr, name):
    """The scores of one line of a chart, oldest first (each point's tooltip ends in its score)."""
    line = re.search(rf'<polyline class="trend-line" data-{attr}="{re.escape(name)}".*?(?=<polyline|</svg>)', page,
                     re.S)
    assert line, f"no line for {name}"
    return [int(score) for score in re.findall(r"<title>[^<]*: (\d+)</title>", line.group(0))]


def row(page, attr, name):
    found = re.search(rf'<tr data-{attr}="{re.escape(name)}">(.*?)</tr>', page, re.S)
    assert found, f"no row for {name}"
    return re.sub(r"<[^>]+>", "|", found.group(1))


def test_scores_per_fleet_and_per_cluster(tenant, other_tenant):
    fleet = FleetFactory(account=tenant.account, name="prod-fleet")
    FleetFactory(account=tenant.account, name="idle-fleet")
    alpha = ClusterFactory(account=tenant.account, name="alpha", fleet=fleet)
    beta = ClusterFactory(account=tenant.account, name="beta", fleet=fleet)
    loner = ClusterFactory(account=tenant.account, name="loner")
    ClusterFactory(account=tenant.account, name="never", fleet=fleet)  # not inspected: left out of the mean
    inspected(alpha, 80, 30)
    inspected(beta, 100, 20)
    inspected(alpha, 60, 10)
    inspected(loner, 40, 5)
    theirs = FleetFactory(account=other_tenant.account, name="their-fleet")
    inspected(ClusterFactory(account=other_tenant.account, name="their-cluster", fleet=theirs), 10, 5)

    for user in (tenant.main, tenant.viewer):
        page = client_for(user).get(reverse("operations:trends")).content.decode()
        # The fleet's line: alpha 80, then mean(80, 100) = 90, then mean(60, 100) = 80.
        assert points(page, "fleet", "prod-fleet") == [80, 90, 80]
        assert 'data-fleet="idle-fleet"' not in page  # no inspected cluster, no line
        cells = row(page, "fleet", "prod-fleet")
        assert "|80|" in cells and "|-10|" in cells and "|2/3|" in cells
        # Per cluster: each its own line and row.
        assert points(page, "cluster", "alpha") == [80, 60]
        assert points(page, "cluster", "beta") == [100] and points(page, "cluster", "loner") == [40]
        assert "|60|" in row(page, "cluster", "alpha") and "|-20|" in row(page, "cluster", "alpha")
        assert "their-" not in page

    # The API twin: the same lines and figures.
    body = client_for(tenant.viewer).get("/api/v1/inspection-trends/").json()
    fleets = {f["name"]: f for f in body["fleets"]}
    assert set(fleets) == {"prod-fleet"}
    assert [p["score"] for p in fleets["prod-fleet"]["points"]] == [80, 90, 80]
    assert (fleets["prod-fleet"]["id"], fleets["prod-fleet"]["covered"], fleets["prod-fleet"]["members"]) == \
        (fleet.pk, 2, 3)
    assert {c["name"]: [p["score"] for p in c["points"]] for c in body["clusters"]} == {
        "alpha": [80, 60], "beta": [100], "loner": [40]}
    only = client_for(tenant.viewer).get(f"/api/v1/inspection-trends/?fleet={fleet.pk}").json()
    assert {c["name"] for c in only["clusters"]} == {"alpha", "beta"}

    # One fleet's clusters alone.
    page = client_for(tenant.viewer).get(reverse("operations:trends") + f"?fleet={fleet.pk}").content.decode()
    assert "Per cluster of fleet prod-fleet" in page
    assert 'data-cluster="alpha"' in page and 'data-cluster="loner"' not in page
    # Another tenant's fleet is not a filter here: all of the user's own clusters show.
    page = client_for(tenant.viewer).get(reverse("operations:trends") + f"?fleet={theirs.pk}").content.decode()
    assert 'data-cluster="loner"' in page and "their-" not in page


def test_without_completed_inspections_the_charts_say_so(tenant):
    FleetFactory(account=tenant.account, name="prod-fleet")
    page = client_for(tenant.main, "zh-hans").get(reverse("operations:trends"))
    assert page.status_code == 200
    page = client_for(tenant.main).get(reverse("operations:trends")).content.decode()
    assert "No fleet has a completed inspection yet." in page and "No completed inspections yet." in page
    assert "<svg" not in page
