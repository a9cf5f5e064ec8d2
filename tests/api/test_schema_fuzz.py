"""Every operation of the API schema (/api/schema/) fuzzed with schemathesis, as the main
account and as a viewer: no 5xx, and every answer is what the schema says (a documented
status code, its content type and body). Seeded and bounded: a fixed, quick part of the suite."""
import copy

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

from cceone.iam.models import APIToken
from tests.factories import ClusterFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BOUNDED = settings(max_examples=5, derandomize=True, deadline=None, database=None,
                   suppress_health_check=list(HealthCheck))


# The document /api/schema/ serves (SpectacularAPIView runs this generator), read without a
# request: loading happens at collection, before any database exists.
DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)


def load_schema(phases: list[str]):
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
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


@pytest.fixture
def tenant_with_cluster(tenant, in_process_requests):
    ClusterFactory(account=tenant.account)
    return tenant


def call(case, headers) -> None:
    # Each example in a savepoint rolled back: what it deleted or ordered does not reach the next.
    with transaction.atomic():
        case.call_and_validate(headers=headers, checks=CHECKS)
        transaction.set_rollback(True)


@as_main.parametrize()
@BOUNDED
def test_every_operation_answers_the_main_account_as_documented(case, tenant_with_cluster):
    call(case, token_headers(tenant_with_cluster.main))


@as_viewer.parametrize()
@BOUNDED
def test_every_operation_answers_a_viewer_as_documented(case, tenant_with_cluster):
    call(case, token_headers(tenant_with_cluster.viewer))
