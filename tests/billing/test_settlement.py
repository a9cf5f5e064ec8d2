"""Hourly settlement (R7.3): one usage record and one ledger charge per billable
instance-hour, partial hours billed whole, hours in UTC+8, catch-up after downtime, and
never twice."""
from decimal import Decimal

from django.db.models import Sum

from billing import services
from billing.models import LedgerEntry, Price, Settlement
from clusters.models import RegisteredCluster
from tests.billing.conftest import SH, at, beats, charges, fund, running_cluster


def hours_of(records) -> list[int]:
    """The UTC+8 hours of usage records, in order."""
    return [r.hour_start.astimezone(SH).hour for r in records.order_by("hour_start")]


def test_seeded_prices_are_the_manuals_table(db):
    from billing.models import price_in_force

    assert price_in_force("cloud") == Decimal("0.0556")
    assert price_in_force("third_party") == Decimal("0.0556")
    assert price_in_force("local") == Decimal("0.1668")
    assert price_in_force("federation") == Decimal("0")


def test_three_local_clusters_of_8_vcpu_running_2h10m_are_billed_3_hours_each(tenant, operator):
    fund(operator, tenant.account, 1000)
    clusters = [running_cluster(tenant.account, since=at("2026-11-27 10:20"), until=at("2026-11-27 12:30"),
                                vcpu=8, unsubscribed=True) for _ in range(3)]
    run = services.settle(now=at("2026-11-27 15:00"))

    assert run.billed == 9
    records = Settlement.objects.filter(account=tenant.account)
    assert records.count() == 9
    assert {r.hour_start for r in records} == {at("2026-11-27 10:00"), at("2026-11-27 11:00"), at("2026-11-27 12:00")}
    assert all(r.vcpu == 8 and r.unit_price == Decimal("0.1668") and r.amount == Decimal("1.3344") for r in records)
    assert sum(-c.amount for c in charges(tenant.account)) == 3 * 8 * Decimal("0.1668") * 3 == Decimal("12.0096")
    assert services.balance(tenant.account) == Decimal("1000") - Decimal("12.0096")
    assert {c.settlement.instance_id for c in charges(tenant.account)} == {c.pk for c in clusters}


def test_each_charge_names_its_usage_record_and_the_system_as_actor(tenant, operator):
    fund(operator, tenant.account, 100)
    running_cluster(tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:40"), vcpu=4)
    services.settle(now=at("2026-11-27 11:00"))
    [charge] = charges(tenant.account)
    assert charge.reference == f"settlement:{charge.settlement_id}"
    assert charge.actor_name == "system" and charge.actor is None
    assert charge.amount == Decimal("-0.6672") and charge.balance_after == Decimal("99.3328")


def test_settling_twice_leaves_the_same_ledger(tenant, operator):
    fund(operator, tenant.account, 500)
    running_cluster(tenant.account, since=at("2026-11-27 08:05"), until=at("2026-11-27 11:55"), vcpu=8)
    first = services.settle(now=at("2026-11-27 12:00"))
    ledger = list(LedgerEntry.objects.order_by("id").values_list("id", "amount", "balance_after"))
    second = services.settle(now=at("2026-11-27 12:00"))
    third = services.settle(now=at("2026-11-27 12:59"))

    assert first.billed == 4 and second.hours == 0 and third.hours == 0
    assert list(LedgerEntry.objects.order_by("id").values_list("id", "amount", "balance_after")) == ledger


def test_only_ended_hours_are_settled_and_the_next_run_continues(tenant, operator):
    fund(operator, tenant.account, 500)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 08:30"), until=at("2026-11-27 10:30"), vcpu=2)
    services.settle(now=at("2026-11-27 10:00:01"))
    assert list(Settlement.objects.values_list("hour_start", flat=True).order_by("hour_start")) == [
        at("2026-11-27 08:00"), at("2026-11-27 09:00")]
    beats(cluster, at("2026-11-27 10:31"), at("2026-11-27 11:10"), 2)
    services.settle(now=at("2026-11-27 12:00"))
    assert [s.hour_start for s in Settlement.objects.order_by("hour_start")][2:] == [
        at("2026-11-27 10:00"), at("2026-11-27 11:00")]
    assert Settlement.objects.filter(billable=True).count() == 4


def test_hour_boundary_at_local_midnight_and_month_end(tenant, operator):
    """A cluster running from 23:59 to 00:01 (UTC+8) on 30 November is billed two hours,
    one in each month's bill."""
    fund(operator, tenant.account, 100)
    cluster = running_cluster(tenant.account, since=at("2026-11-30 23:59"), until=at("2026-12-01 00:01"),
                              vcpu=8, unsubscribed=True)
    services.settle(now=at("2026-12-01 01:00"))
    records = Settlement.objects.filter(instance_id=cluster.pk).order_by("hour_start")
    assert [r.hour_start for r in records] == [at("2026-11-30 23:00"), at("2026-12-01 00:00")]
    # 23:00 UTC+8 is 15:00 UTC: the hour is UTC+8's, not the server's.
    assert records[0].hour_start.utctimetuple().tm_hour == 15
    qs = Settlement.objects.filter(account=tenant.account)
    assert services.monthly_bill(qs, "2026-11").total == Decimal("1.3344")
    assert services.monthly_bill(qs, "2026-12").total == Decimal("1.3344")


def test_catch_up_after_five_missed_hours(tenant, operator):
    """The worker was down from 10:00 to 15:00: the 15:00 run settles all five hours."""
    fund(operator, tenant.account, 500)
    running_cluster(tenant.account, since=at("2026-11-27 09:10"), until=at("2026-11-27 15:00"), vcpu=8)
    services.settle(now=at("2026-11-27 10:00"))
    assert Settlement.objects.count() == 1
    run = services.settle(now=at("2026-11-27 15:00"))
    assert run.billed == 5
    assert hours_of(Settlement.objects.all()) == [9, 10, 11, 12, 13, 14]
    assert len(charges(tenant.account)) == 6


def test_billing_ends_with_the_hour_of_unsubscribing(tenant, operator):
    fund(operator, tenant.account, 500)
    cluster = running_cluster(tenant.account, since=at("2026-11-27 09:10"), until=at("2026-11-27 11:20"), vcpu=4,
                              unsubscribed=True)
    services.settle(now=at("2026-11-28 00:00"))
    assert hours_of(Settlement.objects.filter(instance_id=cluster.pk)) == [9, 10, 11]
    assert services.settle(now=at("2026-11-29 00:00")).hours == 0


def test_the_price_in_force_at_the_hour_applies(tenant, operator):
    fund(operator, tenant.account, 500)
    Price.objects.create(instance_type="local", unit_price=Decimal("0.2000"), effective_from=at("2026-11-27 11:00"))
    running_cluster(tenant.account, since=at("2026-11-27 10:30"), until=at("2026-11-27 11:30"), vcpu=10)
    services.settle(now=at("2026-11-27 12:00"))
    assert list(Settlement.objects.order_by("hour_start").values_list("unit_price", "amount")) == [
        (Decimal("0.1668"), Decimal("1.6680")), (Decimal("0.2000"), Decimal("2.0000"))]


def test_prices_differ_by_cluster_type(tenant, operator):
    fund(operator, tenant.account, 500)
    for cluster_type in ("cloud", "third_party", "local"):
        running_cluster(tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"), vcpu=10,
                        cluster_type=cluster_type, connection_mode="agent")
    services.settle(now=at("2026-11-27 11:00"))
    assert dict(Settlement.objects.values_list("instance_type", "amount")) == {
        "cloud": Decimal("0.5560"), "third_party": Decimal("0.5560"), "local": Decimal("1.6680")}


def test_the_ledger_balance_is_the_sum_of_its_entries(tenant, operator):
    fund(operator, tenant.account, 50)
    running_cluster(tenant.account, since=at("2026-11-27 00:00"), until=at("2026-11-27 23:59"), vcpu=3)
    fund(operator, tenant.account, Decimal("20.5"))
    services.settle(now=at("2026-11-28 00:00"))
    total = LedgerEntry.objects.filter(account=tenant.account).aggregate(s=Sum("amount"))["s"]
    assert services.balance(tenant.account) == total == Decimal("70.5") - 24 * Decimal("0.5004")
    running = Decimal("0")
    for entry in LedgerEntry.objects.filter(account=tenant.account).order_by("id"):
        running += entry.amount
        assert entry.balance_after == running


def test_accounts_are_settled_separately(tenant, other_tenant, operator):
    fund(operator, tenant.account, 100)
    fund(operator, other_tenant.account, 100)
    running_cluster(tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"), vcpu=1)
    running_cluster(other_tenant.account, since=at("2026-11-27 10:00"), until=at("2026-11-27 10:30"), vcpu=2)
    services.settle(now=at("2026-11-27 11:00"))
    assert services.balance(tenant.account) == Decimal("100") - Decimal("0.1668")
    assert services.balance(other_tenant.account) == Decimal("100") - Decimal("0.3336")


def test_a_cluster_that_never_ran_is_not_billed(tenant, operator):
    fund(operator, tenant.account, 100)
    from tests.factories import ClusterFactory

    ClusterFactory(account=tenant.account, status=RegisteredCluster.Status.PENDING_ACCESS)
    assert services.settle(now=at("2026-11-27 11:00")).hours == 0


def test_concurrent_runs_charge_each_hour_once(transactional_db, tenant, operator):
    """Four runs at once (threads with their own database connections)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    fund(operator, tenant.account, 1000)
    for _ in range(5):
        running_cluster(tenant.account, since=at("2026-11-27 00:10"), until=at("2026-11-27 09:50"), vcpu=2)

    def run(_):
        try:
            return services.settle(now=at("2026-11-27 10:00")).hours
        finally:
            connection.close()

    with ThreadPoolExecutor(4) as pool:
        settled = list(pool.map(run, range(4)))
    assert sum(settled) == 50 and Settlement.objects.count() == 50
    assert len(charges(tenant.account)) == 50
    assert services.balance(tenant.account) == Decimal("1000") - 50 * Decimal("0.3336")


def test_the_hourly_schedule_runs_on_the_hour_in_utc_plus_8(settings):
    from celery.schedules import crontab

    from cceone.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["billing-settle-hours"]
    assert entry["task"] == "billing.tasks.settle_hours" and entry["task"] in app.tasks
    assert isinstance(entry["schedule"], crontab) and entry["schedule"].minute == {0}
    assert entry["schedule"].hour == set(range(24))
    assert app.conf.timezone == "Asia/Shanghai"
    assert app.tasks["billing.tasks.settle_hours"].acks_late
    assert app.tasks["billing.tasks.settle_hours"].reject_on_worker_lost
    # 23:59:30 UTC+8: due in 30 seconds, at local midnight.
    schedule = crontab(minute=0, app=app)
    schedule.nowfun = lambda: at("2026-11-30 23:59:30")
    due, wait = schedule.is_due(at("2026-11-30 23:00:00"))
    assert not due and round(wait) == 30


def test_the_task_settles_and_reports(tenant, operator):
    from billing.tasks import settle_hours

    from datetime import timedelta

    from django.utils import timezone

    fund(operator, tenant.account, 100)
    since = timezone.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    running_cluster(tenant.account, since=since, until=since + timedelta(minutes=30), vcpu=1)
    result = settle_hours.apply().get()
    assert result["hours"] >= 1 and result["billed"] == 1 and result["amount"] == "0.1668"
    assert settle_hours.apply().get()["hours"] == 0



def test_beat_stores_the_hourly_settlement_in_its_database_schedule(transactional_db):
    """`celery beat` runs django-celery-beat's DatabaseScheduler; the entry lands there."""
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from cceone.celery import app

    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.get(name="billing-settle-hours")
    assert task.task == "billing.tasks.settle_hours" and task.enabled
    assert (task.crontab.minute, task.crontab.hour, str(task.crontab.timezone)) == ("0", "*", "Asia/Shanghai")
    assert PeriodicTask.objects.get(name="billing-deliver-notices").interval.every == 60
