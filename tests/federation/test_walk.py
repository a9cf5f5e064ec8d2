"""What a new user tripped over walking issue #15 in `make run` (helper "walk")."""
import pytest
from django.urls import reverse

from kubernetes import client

from federation.models import FederationMigration
from tests.conftest import client_for
from tests.factories import FederationFactory

from .karmada_world import eventually, member_deployment
from .test_promote import application  # noqa: F401 - fixture

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


def test_a_workload_promoted_on_the_promote_tab_can_then_be_migrated(federation, tenant, sandbox_karmada, members,
                                                                      application):
    """Promote, then migrate: issue #15's "Done when" order. The migration takes over the policy
    the Promote tab wrote (that member only) instead of refusing the application as already
    federated; an object under any other policy is still left alone."""
    ns = application
    api = client_for(tenant.main)
    promoted = api.post(f"/api/v1/federations/{federation.pk}/promote/",
                        {"member": "member1", "namespace": ns, "kinds": ["deployments"], "name": "blog"},
                        content_type="application/json").json()
    assert promoted["results"][0]["outcome"] == "promoted"
    policy = promoted["results"][0]["policy"]
    url = f"/api/v1/federations/{federation.pk}/migrations/"
    started = api.post(url, {"source": "member1", "target": "member2", "namespace": ns, "label_selector": "app=blog",
                             "steps": "1:0 0:1"}, content_type="application/json")
    assert started.status_code == 201, started.content
    migration = FederationMigration.objects.get(pk=started.json()["id"])
    assert migration.promoted == [{"kind": "Deployment", "plural": "deployments", "name": "blog", "policy": policy}]
    advance = f"{url}{migration.pk}/advance/"
    # The step is marked reached as the migration is read (the page polls), then the next is offered.
    eventually(lambda: api.get(f"{url}{migration.pk}/").json()["state"] == "ready" or None)
    moved = api.post(advance, {"step": 0}, content_type="application/json")
    assert moved.status_code == 200, moved.content
    eventually(lambda: (member_deployment(members, "member2", ns, "blog") or None) and
               (member_deployment(members, "member2", ns, "blog").status.ready_replicas == 1 or None))
    # Placed elsewhere by a policy the user wrote: not the migration's to rewrite.
    with sandbox_karmada.api_client() as karmada_api:
        client.CustomObjectsApi(karmada_api).patch_namespaced_custom_object(
            "policy.karmada.io", "v1alpha1", ns, "propagationpolicies", policy,
            {"spec": {"placement": {"clusterAffinity": {"clusterNames": ["member1", "member2"]},
                                    "replicaScheduling": None}}})
    migration.state = FederationMigration.State.COMPLETED
    migration.save()
    refused = api.post(url, {"source": "member2", "target": "member1", "namespace": ns, "label_selector": "app=blog",
                             "steps": "1:0 0:1"}, content_type="application/json")
    assert refused.status_code == 400
    assert "already exists in the federation" in str(refused.json())
