"""Billing test helpers: clusters with a heartbeat history, times in UTC+8, operators."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing import services
from billing.models import LedgerEntry
from clusters.models import ClusterHeartbeat, RegisteredCluster
from tests.factories import ClusterFactory

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """'2026-11-30 23:59' in UTC+8."""
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def beats(cluster, start: datetime, end: datetime, vcpu, *, every=timedelta(minutes=1),
          status=RegisteredCluster.Status.RUNNING) -> None:
    """Heartbeats from `start` to `end` (inclusive) as the agent would have recorded them."""
    rows, moment = [], start
    while moment <= end:
        rows.append(ClusterHeartbeat(cluster=cluster, time=moment, status=status, vcpu=Decimal(str(vcpu)),
                                     nodes_total=1, nodes_ready=1))
        moment += every
    ClusterHeartbeat.objects.bulk_create(rows)


def running_cluster(account, *, since: datetime, until: datetime | None = None, vcpu=8,
                    cluster_type=RegisteredCluster.Type.LOCAL, unsubscribed=False, **fields) -> RegisteredCluster:
    """A cluster that became running at `since` and reported `vcpu` until `until` (then
    unsubscribed if asked, otherwise it simply went silent)."""
    cluster = ClusterFactory(
        account=account, cluster_type=cluster_type, first_running_at=since,
        status=RegisteredCluster.Status.UNSUBSCRIBED if unsubscribed else RegisteredCluster.Status.RUNNING,
        unsubscribed_at=until if unsubscribed else None,
        facts={"nodes": [{"name": "n1", "ready": True, "capacity": {"cpu_millicores": int(Decimal(str(vcpu)) * 1000)}}]},
        **fields)
    if until is not None:
        beats(cluster, since, until, vcpu)
    return cluster


def fund(operator, account, amount, reference=None) -> LedgerEntry:
    reference = reference or f"receipt-{LedgerEntry.objects.count() + 1}"
    return services.top_up(operator, account, Decimal(str(amount)), reference)


def charges(account) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(account=account, kind=LedgerEntry.Kind.CHARGE).order_by("id"))


class SmsProvider:
    """A tiny SMS provider's HTTP API on a real socket: records what it is sent and
    answers with the queued status codes (then 200)."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        provider = self
        self.received: list[dict] = []
        self.statuses: list[int] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = provider.statuses.pop(0) if provider.statuses else 200
                provider.received.append({"body": body, "status": status,
                                          "authorization": self.headers.get("Authorization"),
                                          "content_type": self.headers.get("Content-Type")})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status < 300 else b'{"error": "busy"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def delivered(self) -> list[dict]:
        return [r["body"] for r in self.received if r["status"] < 300]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sms_provider(settings):
    provider = SmsProvider()
    settings.CCEONE_SMS_BACKEND = "billing.sms.HttpBackend"
    settings.CCEONE_SMS_HTTP_URL = provider.url
    settings.CCEONE_SMS_HTTP_TOKEN = "provider-secret"
    yield provider
    provider.stop()
