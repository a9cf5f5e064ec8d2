"""Every operation of /api/schema/ fuzzed with schemathesis, as the main account and as a
viewer: no 5xx, and every answer is what the schema says (status documented, content type,
body). Bounded and seeded so it is a fixed, quick part of the suite."""
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

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def in_process_requests():
    """Requests run on the test's own database connection, inside its transaction: Django's
    test client disconnects the same handlers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["main", "viewer"])
def auth_headers(request, tenant, in_process_requests):
    ClusterFactory(account=tenant.account, creator=tenant.main)
    _, key = APIToken.issue(tenant.persona(request.param), "fuzz")
    return {"Authorization": f"Token {key}"}


@schema.parametrize()
@settings(max_examples=8, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, auth_headers):
    # Each example in its own savepoint: deletes and orders do not leak into the next one.
    with transaction.atomic():
        case.call_and_validate(headers=auth_headers, checks=CHECKS)
        transaction.set_rollback(True)
