"""What a new user tripped over walking issue #15 in `make run` (helper "walk")."""
import pytest
from django.urls import reverse

from federation.models import FederationMigration
from tests.conftest import client_for
from tests.factories import FederationFactory

pytestmark = pytest.mark.django_db


def test_a_migrations_history_shows_times_in_the_readers_time_zone_like_the_rest_of_the_page(tenant):
    """The history is kept as ISO strings in UTC; the page showed them raw ("2026-12-07T11:45:02")
    next to local times elsewhere ("2026-12-07 19:44")."""
    federation = FederationFactory(account=tenant.account)
    migration = FederationMigration.objects.create(
        federation=federation, source="member1", target="member2", namespace="prod", steps=[[2, 0], [0, 2]],
        history=[{"event": "promoted", "step": 0, "weights": [2, 0], "at": "2026-12-07T11:45:02.123456+00:00"}])
    page = client_for(tenant.main).get(reverse("federation:migration", args=[federation.pk, migration.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "2026-12-07 19:45:02" in html  # Asia/Shanghai, the console's time zone
    assert "2026-12-07T11:45:02" not in html
