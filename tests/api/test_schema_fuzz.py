"""Every operation of the API schema (/api/schema/) fuzzed with schemathesis, as the main
account and as a viewer: no 5xx, and every answer is what the schema says (a documented
status code, its content type and body). Seeded and bounded: a fixed, quick part of the suite."""
import copy
import json
import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from billing.models import LedgerEntry
from cceone.audit.models import AuditEvent
from cceone.iam import services as iam
from cceone.iam.models import APIToken, EnterpriseProject, Policy, UserGroup
from clusters import kubeconfigs
from fleets import services as fleets
from permissions import services as permissions
from tests.conftest import client_for, make_tenant
from tests.factories import ClusterFactory, ready_to_order



def not_a_crash(ctx, response, case):
    """No 5xx; but the fuzzed cluster has no agent, so its Kubernetes operations answer 502
    (documented, with the gateway's explanation) once their input is accepted."""
    if response.status_code == 502 and case.operation.path.startswith("/api/v1/kubernetes/clusters/{cluster_id}/"):
        assert response.json()["detail"].startswith("Cluster ") and "unreachable" in response.json()["detail"]
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [not_a_crash, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=5, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))


# The document /api/schema/ serves (the last test checks they are the same), generated without
# a request: loading happens at collection, before any database exists.
DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)


# The console's Kubernetes operations are one viewset per kind built from the same code
# (resources.object_api): one kind of each shape is fuzzed — a namespaced workload with a
# create form, scale and restart; a Secret's reveal; a pod's logs; a namespace's confirmed
# delete; a node's actions — and the manifests endpoint.
# A federation's are the same viewsets (with its target type): one policy kind with a guided
# form, one read-only kind.
FUZZED_KINDS = ("deployments", "secrets", "pods", "namespaces", "nodes", "manifests", "propagationpolicies",
                "resourcebindings")
OTHER_KINDS = (r"^/api/v1/kubernetes/(clusters/\{cluster_id\}|federations/\{federation_id\})/"
               r"(namespaces/\{namespace\}/)?(?!(%s)/)[a-z]+/" % "|".join(FUZZED_KINDS))


def load_schema(phases: list[str]):
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT)).exclude(path_regex=OTHER_KINDS)
    loaded.app = get_wsgi_application()
    loaded.config.phases.update(phases=phases)
    return loaded


# The main account may do everything: its requests reach the serializers and services, so
# they also get the coverage phase's boundary values (nulls, wrong types, huge numbers).
as_main = load_schema(["examples", "coverage", "fuzzing"])
# A viewer's writes are refused before their body is read: fuzzing shows the 403s are documented.
as_viewer = load_schema(["examples", "fuzzing"])


@pytest.fixture
def in_process_requests():
    """The app runs on the test's database connection, inside its transaction: the request
    signals must not close it (Django's test client disconnects the same handler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def token_headers(user) -> dict:
    _, key = APIToken.issue(user, "fuzz")
    return {"Authorization": f"Token {key}"}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """A tenant and one object of each kind the API addresses by id (keyed by its path up to
    the id), made once for the module's ~150 tests: each test then runs in a savepoint of
    this transaction, rolled back after it, and the whole is rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        tenant = make_tenant("acme")
        main = tenant.main
        ready_to_order(tenant.account)  # a ledger entry, the delegation, an order's gates open
        cluster = ClusterFactory(account=tenant.account)
        fleet = fleets.create_fleet(main, name="fuzz-fleet")
        permission = permissions.save_permission(main, None, name="fuzz-reader",
                                            rules=[{"verbs": ["get"], "resources": "*"}])
        binding = permissions.associate(main, cluster, user=tenant.user, permission=permission)
        policy = iam.save_policy(main, None, name="fuzz-policy", description="", actions=["clusters:get"],
                                 scope=Policy.Scope.ACCOUNT)
        issued, _ = kubeconfigs.issue(main, cluster)
        v1 = "/api/v1/"
        existing = {
            v1 + "clusters/{id}/kubeconfigs/{token_id}/": issued.pk,
            v1 + "clusters/": cluster.pk, v1 + "kubernetes/clusters/": cluster.pk,
            v1 + "permission-sync/": cluster.pk, v1 + "fleets/": fleet.pk, v1 + "permissions/": permission.pk,
            v1 + "permission-associations/": binding.pk, v1 + "iam/policies/": policy.pk,
            v1 + "iam/users/": tenant.nopolicy.pk,
            v1 + "iam/groups/": UserGroup.objects.filter(account=tenant.account).first().pk,
            v1 + "iam/projects/": EnterpriseProject.objects.get(account=tenant.account, name="default").pk,
            v1 + "audit/events/": AuditEvent.objects.filter(account=tenant.account).first().pk,
            v1 + "billing/ledger/": LedgerEntry.objects.filter(account=tenant.account).first().pk,
            v1 + "billing/showback/": cluster.pk,
            v1 + "monitoring/clusters/": cluster.pk, v1 + "addons/clusters/": cluster.pk,
        }
        yield tenant, existing
        transaction.set_rollback(True)


def aim(case, existing: dict[str, int]) -> None:
    """Point a generated integer id at an object that exists, so the request reaches the
    serializers and services behind it; other values (text, floats) still test the 404."""
    for name, value in (case.path_parameters or {}).items():
        if re.fullmatch(r"\d+", str(value)):
            template = case.operation.path
            prefixes = [p for p in existing if template.startswith(p) and (name != "id" or "{token_id}" not in p)]
            if prefixes:
                case.path_parameters[name] = str(existing[max(prefixes, key=len)])


def call(case, existing, user) -> None:
    aim(case, existing)
    # Each example in a savepoint rolled back: what it deleted or ordered does not reach the next.
    with transaction.atomic():
        case.call_and_validate(headers=token_headers(user), checks=CHECKS)
        transaction.set_rollback(True)


@as_main.parametrize()
@BOUNDED
def test_every_operation_answers_the_main_account_as_documented(case, world, db, in_process_requests):
    tenant, existing = world
    call(case, existing, tenant.main)


@as_viewer.parametrize()
@BOUNDED
def test_every_operation_answers_a_viewer_as_documented(case, world, db, in_process_requests):
    tenant, existing = world
    call(case, existing, tenant.viewer)


def test_the_fuzzed_document_is_the_one_the_api_serves(world, db):
    served = client_for(world[0].viewer).get("/api/schema/?format=json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))
