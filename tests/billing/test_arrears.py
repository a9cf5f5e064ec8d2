"""Arrears (R7.6): a settlement that leaves the balance below zero freezes every on-demand
instance of the account in the same transaction and writes an email and an SMS notice to
the outbox; each is delivered once even when delivery fails once; a top-up that brings
the balance back to zero or above unfreezes and notifies; a low balance warns once."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from billing import metering, notices, services
from billing.models import BillingAccount, FrozenInstance, LedgerEntry, Notice, Settlement
from cceone.audit.models import AuditEvent
from clusters import kubeconfigs
from clusters.models import ClusterHeartbeat, RegisteredCluster
from permissions.models import ClusterPermissionSync
from tests.billing.backends import FailingOnceEmailBackend
from tests.billing.conftest import at, fund, running_cluster
from tests.clusters.test_connectivity import kubectl
from tests.factories import ClusterFactory
from tests.live import cluster_status, wait_until

Status = RegisteredCluster.Status


@pytest.fixture
def contacts(tenant):
    tenant.account.contact_phone = "+8613800000001"
    tenant.account.save(update_fields=["contact_phone"])
    return tenant


def statuses(account) -> dict:
    return dict(RegisteredCluster.objects.filter(account=account).values_list("name", "status"))


@pytest.fixture
def in_arrears(contacts, other_tenant, operator):
    """¥1 of balance, a cluster running 10:00-10:59 at 8 vCPU (¥1.3344 an hour), and a
    few other clusters of the account in other states."""
    fund(operator, contacts.account, 1)
    running_cluster(contacts.account, name="busy", since=at("2026-11-27 10:00"), until=at("2026-11-27 10:59"))
    ClusterFactory(account=contacts.account, name="offline", status=Status.DISCONNECTED)
    ClusterFactory(account=contacts.account, name="waiting", status=Status.PENDING_ACCESS)
    ClusterFactory(account=contacts.account, name="gone", status=Status.UNSUBSCRIBED)
    ClusterFactory(account=other_tenant.account, name="neighbour", status=Status.RUNNING)
    return contacts


def test_a_settlement_leaving_the_balance_negative_freezes_every_on_demand_instance(in_arrears, other_tenant):
    account = in_arrears.account
    run = services.settle(now=at("2026-11-27 11:00"))

    assert services.balance(account) == Decimal("1") - Decimal("1.3344")
    assert run.frozen == [account.pk]
    assert statuses(account) == {"busy": "frozen", "offline": "frozen", "waiting": "frozen", "gone": "unsubscribed"}
    assert dict(FrozenInstance.objects.values_list("instance_name", "previous_status")) == {
        "busy": "running", "offline": "disconnected", "waiting": "pending_access"}
    assert statuses(other_tenant.account) == {"neighbour": "running"}
    assert BillingAccount.objects.get(account=account).frozen_at is not None
    assert AuditEvent.objects.filter(action="clusters:status", details__to="frozen", details__reason="arrears",
                                     account=account).count() == 3
    assert AuditEvent.objects.filter(action="billing:freeze", account=account).exists()
    notices_ = Notice.objects.filter(account=account, kind=Notice.Kind.ARREARS)
    assert sorted(notices_.values_list("channel", "recipient", "status")) == [
        ("email", "acme@example.com", "pending"), ("sms", "+8613800000001", "pending")]


def test_frozen_hours_are_not_billed_and_the_freeze_is_not_repeated(in_arrears):
    account = in_arrears.account
    services.settle(now=at("2026-11-27 11:00"))
    ClusterHeartbeat.objects.create(cluster=RegisteredCluster.objects.get(name="busy"), time=at("2026-11-27 11:40"),
                                    status=Status.FROZEN, vcpu=8)
    services.settle(now=at("2026-11-27 13:00"))
    assert services.balance(account) == Decimal("1") - Decimal("1.3344")  # 11:00 and 12:00 were frozen
    assert Settlement.objects.filter(account=account, billable=False).count() == 2
    assert Notice.objects.filter(account=account, kind=Notice.Kind.ARREARS).count() == 2  # one email, one SMS


class ExplodingKind(metering.BillableKind):
    kind = "exploding"

    def unsettled_hours(self, cutoff):
        return []

    def current_vcpu(self, account_ids):
        return {}

    def freeze(self, account_id):
        raise RuntimeError("the federation control plane did not answer")

    def unfreeze(self, instance_id, previous_status):
        return True


def test_charge_freeze_and_notices_are_one_transaction(in_arrears):
    """If freezing fails, the hour's settlement, its charge and the notices roll back
    together: the next run does it all again."""
    account = in_arrears.account
    metering.register(ExplodingKind())
    try:
        with pytest.raises(RuntimeError):
            services.settle(now=at("2026-11-27 11:00"))
    finally:
        metering.unregister("exploding")
    assert not Settlement.objects.filter(account=account).exists()
    assert services.balance(account) == Decimal("1")
    assert not Notice.objects.exists() and not FrozenInstance.objects.exists()
    assert statuses(account)["busy"] == "running"
    services.settle(now=at("2026-11-27 11:00"))
    assert statuses(account)["busy"] == "frozen" and Notice.objects.count() == 2


def test_both_notices_are_delivered_once_even_when_delivery_fails_once(in_arrears, settings, sms_provider):
    settings.EMAIL_BACKEND = "tests.billing.backends.FailingOnceEmailBackend"
    FailingOnceEmailBackend.failures = 1
    sms_provider.statuses = [503]
    services.settle(now=at("2026-11-27 11:00"))
    start = Notice.objects.first().created_at

    first = notices.deliver_due(now=start)
    assert first == {"sent": 0, "retry": 2, "failed": 0}
    assert mail.outbox == [] and sms_provider.delivered == []
    assert notices.deliver_due(now=start + timedelta(seconds=5)) == {"sent": 0, "retry": 0, "failed": 0}  # backing off
    second = notices.deliver_due(now=start + timedelta(seconds=31))
    assert second == {"sent": 2, "retry": 0, "failed": 0}
    assert notices.deliver_due(now=start + timedelta(hours=2)) == {"sent": 0, "retry": 0, "failed": 0}

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["acme@example.com"] and "欠费" in email.subject
    assert len(sms_provider.delivered) == 1
    assert sms_provider.delivered[0]["to"] == "+8613800000001"
    assert sms_provider.received[-1]["authorization"] == "Bearer provider-secret"
    for notice in Notice.objects.all():
        assert notice.status == "sent" and notice.attempts == 2 and notice.sent_at is not None
        assert "refused" in notice.last_error or notice.last_error == ""


def test_concurrent_deliverers_never_send_a_notice_twice(transactional_db, tenant):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    Notice.objects.bulk_create(
        Notice(account=tenant.account, channel="email", kind="arrears", recipient=f"user{i}@example.com",
               language="en", subject="s", body="b") for i in range(20))

    def deliver(_):
        try:
            return notices.deliver_due()
        finally:
            connection.close()

    # Claims are conditional updates: of two deliverers, one takes each row.
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(deliver, range(2)))
    assert sum(r["sent"] for r in results) == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"user{i}@example.com" for i in range(20))
    assert set(Notice.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_notices_use_the_accounts_language(in_arrears):
    BillingAccount.objects.filter(account=in_arrears.account).update(notice_language="en")
    services.settle(now=at("2026-11-27 11:00"))
    email = Notice.objects.get(channel="email")
    assert email.language == "en"
    assert email.subject == "CCE One: your account acme Ltd. is in arrears and its instances are frozen"
    assert "-¥0.33" in email.body and "3 on-demand instance(s)" in email.body
    sms = Notice.objects.get(channel="sms")
    assert sms.body.startswith("[CCE One] Account acme Ltd. is in arrears after the hourly settlement (balance -¥0.33)")


def test_the_arrears_notice_names_an_adjustment_that_caused_it(in_arrears, operator):
    services.record_entry(operator, in_arrears.account, LedgerEntry.Kind.ADJUSTMENT, "-2", "correction-1")
    assert statuses(in_arrears.account)["busy"] == "frozen"
    email = Notice.objects.get(channel="email", kind="arrears")
    assert "经整点结算" not in Notice.objects.get(channel="sms").body
    assert "CCE One 调整余额后" in email.body and "整点结算" not in email.body
    assert "因余额调整已欠费（余额 -¥1.00）" in Notice.objects.get(channel="sms").body
    BillingAccount.objects.filter(account=in_arrears.account).update(notice_language="en")
    Notice.objects.all().delete()
    fund(operator, in_arrears.account, 5)
    services.record_entry(operator, in_arrears.account, LedgerEntry.Kind.ADJUSTMENT, "-10", "correction-2")
    english = Notice.objects.get(channel="email", kind="arrears").body
    assert "a balance adjustment by CCE One left the balance of your CCE One account at -¥6.00" in english


def test_notices_are_in_chinese_by_default(in_arrears):
    services.settle(now=at("2026-11-27 11:00"))
    email = Notice.objects.get(channel="email")
    assert email.language == "zh-hans"
    assert email.subject == "【CCE One】您的账号 acme Ltd. 已欠费，按量资源已冻结"
    assert "全部 3 个按量付费实例" in email.body
    assert "已欠费（余额 -¥0.33）" in Notice.objects.get(channel="sms").body


def test_a_top_up_back_to_zero_or_above_unfreezes_and_notifies(in_arrears, operator):
    account = in_arrears.account
    services.settle(now=at("2026-11-27 11:00"))
    fund(operator, account, Decimal("0.2"))  # still ¥-0.1344: stays frozen
    assert statuses(account)["busy"] == "frozen"
    assert not Notice.objects.filter(kind=Notice.Kind.RESTORED).exists()

    fund(operator, account, Decimal("0.1344"))  # exactly zero
    assert services.balance(account) == 0
    assert statuses(account) == {"busy": "running", "offline": "disconnected", "waiting": "pending_access",
                                 "gone": "unsubscribed"}
    assert not FrozenInstance.objects.exists()
    assert BillingAccount.objects.get(account=account).frozen_at is None
    restored = Notice.objects.filter(kind=Notice.Kind.RESTORED)
    assert sorted(restored.values_list("channel", flat=True)) == ["email", "sms"]
    assert AuditEvent.objects.filter(action="clusters:status", details__reason="balance restored").count() == 3
    # The cluster running again gets its Kubernetes permissions synced (cluster_came_up); the
    # ones that were not running do not.
    assert list(ClusterPermissionSync.objects.values_list("cluster__name", "state")) == [("busy", "pending")]


def test_an_instance_unsubscribed_while_frozen_stays_unsubscribed(in_arrears, operator):
    services.settle(now=at("2026-11-27 11:00"))
    RegisteredCluster.objects.filter(name="offline").update(status=Status.UNSUBSCRIBED)
    fund(operator, in_arrears.account, 10)
    assert statuses(in_arrears.account)["offline"] == "unsubscribed"


def test_low_balance_warns_once_per_episode(contacts, operator):
    """8 vCPU local = ¥1.3344 an hour, ¥32.0256 a day."""
    account = contacts.account
    fund(operator, account, 40)
    cluster = running_cluster(account, since=at("2026-11-27 00:00"), until=at("2026-11-27 12:00"))
    services.settle(now=at("2026-11-27 06:00"))  # 40 - 6 × 1.3344 = 31.99: less than a day
    warnings = Notice.objects.filter(kind=Notice.Kind.LOW_BALANCE)
    assert sorted(warnings.values_list("channel", flat=True)) == ["email", "sms"]
    services.settle(now=at("2026-11-27 08:00"))
    assert warnings.count() == 2  # not every hour
    fund(operator, account, 100)  # the episode ends
    assert BillingAccount.objects.get(account=account).low_balance_warned_at is None
    assert warnings.count() == 2
    RegisteredCluster.objects.filter(pk=cluster.pk).update(
        facts={"nodes": [{"ready": True, "capacity": {"cpu_millicores": 400000}}]})  # scaled to 400 vCPU
    services.settle(now=at("2026-11-27 09:00"))
    assert warnings.count() == 4
    sms = warnings.filter(channel="sms").order_by("id").last()
    assert "66.72" in sms.body  # ¥/hour at 400 vCPU


def test_a_frozen_clusters_agent_stays_connected_and_service_resumes_at_once(connected_cluster, tenant, operator,
                                                                           tmp_path):
    """Through the real hub and agent: frozen keeps the tunnel (heartbeats keep coming,
    recorded as frozen); topping up brings the cluster back to running."""
    cluster = connected_cluster
    services.settle(now=cluster.first_running_at + timedelta(hours=1))
    assert cluster_status(cluster) == "frozen"
    frozen_at = ClusterHeartbeat.objects.filter(cluster=cluster).first().time
    wait_until(lambda: ClusterHeartbeat.objects.filter(cluster=cluster, status="frozen", time__gt=frozen_at).exists(),
               what="a heartbeat while frozen")
    # kubectl says which cluster, why, and what to do.
    _issued, config = kubeconfigs.issue(tenant.main, cluster)
    refused = kubectl(config, tmp_path, "get", "ns")
    assert refused.returncode != 0
    assert f"cluster {cluster.name} is frozen because its account is in arrears: top up" in refused.stderr
    fund(operator, tenant.account, 100)
    assert cluster_status(cluster) == "running"
    assert kubectl(config, tmp_path, "get", "ns").returncode == 0
    assert LedgerEntry.objects.filter(account=tenant.account, kind="charge").count() == 1
