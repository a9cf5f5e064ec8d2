"""The console's /metrics (django-prometheus, Celery task metrics) and its request ids:
answered in X-Request-ID and kept on the audit events the request wrote."""
import re

from django.test import Client
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.queue.tasks import resend_unsent
from tests.conftest import client_for


def scrape(token: str | None) -> tuple[int, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


def test_metrics_answer_only_the_configured_scraper(db, settings):
    settings.CCEONE_METRICS_TOKEN = ""
    assert scrape("anything")[0] == 404  # not configured: nothing to see
    settings.CCEONE_METRICS_TOKEN = "scrape-token-1"
    assert scrape(None)[0] == 404
    assert scrape("wrong")[0] == 404
    assert scrape("scrape-token-1")[0] == 200


def test_metrics_count_requests_latency_queries_and_tasks(tenant, settings):
    settings.CCEONE_METRICS_TOKEN = "scrape-token-2"
    assert client_for(tenant.main).get(reverse("iam:group-list")).status_code == 200
    resend_unsent.delay()  # runs here (eager), through Celery's signals all the same
    status, text = scrape("scrape-token-2")
    assert status == 200
    requests = re.search(r'^django_http_responses_total_by_status_view_method_total\{method="GET",status="200",'
                         r'view="iam:group-list"\} (\d+)', text, re.M)
    assert requests and int(float(requests.group(1))) >= 1
    assert 'django_http_requests_latency_seconds_by_view_method_bucket{le="0.01",method="GET",view="iam:group-list"}' in text
    queries = re.search(r'^django_db_execute_total\{alias="default",vendor="\w+"\} (\S+)', text, re.M)
    assert queries and float(queries.group(1)) > 0
    assert re.search(r'^cceone_celery_tasks_total\{state="SUCCESS",task="cceone.queue.tasks.resend_unsent"\} ', text, re.M)


def test_a_request_id_is_answered_and_kept_on_the_audit_events_it_wrote(tenant):
    client = client_for(tenant.main)
    response = client.post(reverse("iam:group-add"), {"name": "auditors"}, HTTP_X_REQUEST_ID="console-req-12345")
    assert response.status_code == 302
    assert response["X-Request-ID"] == "console-req-12345"
    event = AuditEvent.objects.get(action="iam:create", target_name="auditors")
    assert event.request_id == "console-req-12345"
    listed = client.get("/api/v1/audit/events/", {"action": "iam:create"}).json()
    assert [e["request_id"] for e in listed["results"] if e["target_name"] == "auditors"] == ["console-req-12345"]
    # Without one (or with one not well formed) the console makes its own.
    response = client.get(reverse("iam:group-list"), HTTP_X_REQUEST_ID="bad id\r\n")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])
