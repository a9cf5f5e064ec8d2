"""Notice delivery: SMS through the pluggable backend (logging by default, a real HTTP
provider adapter), retries with back-off, giving up, and a worker that died mid-delivery."""
import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from billing import notices, sms
from billing.models import Notice


def notice(account, channel="sms", **fields) -> Notice:
    values = {"account": account, "channel": channel, "kind": "arrears", "language": "en",
              "recipient": "+8613800000001" if channel == "sms" else "ops@acme.example", "subject": "Arrears",
              "body": "[CCE One] Account acme is in arrears."}
    return Notice.objects.create(**{**values, **fields})


def test_the_http_provider_adapter_posts_json(tenant, sms_provider, settings):
    settings.CCEONE_SMS_SENDER = "CCEOne"
    row = notice(tenant.account)
    assert notices.deliver_due() == {"sent": 1, "retry": 0, "failed": 0}
    [request] = sms_provider.received
    assert request["body"] == {"to": "+8613800000001", "text": "[CCE One] Account acme is in arrears.",
                               "sender": "CCEOne", "reference": f"cceone-notice-{row.pk}"}
    assert request["authorization"] == "Bearer provider-secret"
    assert request["content_type"].startswith("application/json")


def test_the_http_adapter_reports_refusals_and_unreachable_providers(sms_provider):
    sms_provider.statuses = [500]
    with pytest.raises(sms.SmsError, match="answered 500"):
        sms.HttpBackend().send("+86138", "hello")
    with pytest.raises(sms.SmsError, match="unreachable"):
        sms.HttpBackend(url="http://127.0.0.1:9/nothing", timeout=2).send("+86138", "hello")


def test_sms_are_logged_by_default(tenant, caplog):
    notice(tenant.account)
    with caplog.at_level(logging.INFO, logger="billing.sms"):
        assert notices.deliver_due()["sent"] == 1
    assert "SMS to +8613800000001" in caplog.text and "is in arrears" in caplog.text


def test_a_notice_without_recipient_is_kept_as_skipped(tenant):
    """The account has no phone number: the SMS cannot go out, the email does."""
    from billing.models import BillingAccount

    state = BillingAccount.objects.create(account=tenant.account)
    email, text = notices.write(state, Notice.Kind.LOW_BALANCE, balance=5, hourly=1, hours=5)
    assert email.status == "pending" and email.recipient == "acme@example.com"
    assert text.status == "skipped" and text.last_error == "no contact for this channel"
    assert notices.deliver_due()["sent"] == 1


def test_delivery_backs_off_and_gives_up_after_the_last_attempt(tenant, sms_provider):
    sms_provider.statuses = [503] * notices.MAX_ATTEMPTS
    row = notice(tenant.account)
    now = timezone.now()
    for attempt in range(1, notices.MAX_ATTEMPTS + 1):
        notices.deliver_due(now=now)
        row.refresh_from_db()
        assert row.attempts == attempt
        now = row.next_attempt_at
    assert row.status == "failed" and "503" in row.last_error
    assert len(sms_provider.received) == notices.MAX_ATTEMPTS and sms_provider.delivered == []
    assert notices.backoff(1) == timedelta(seconds=30) and notices.backoff(20) == timedelta(hours=1)


def test_a_notice_left_sending_by_a_dead_worker_is_sent_after_the_lease(tenant):
    row = notice(tenant.account, channel="email", status="sending", claim="dead-worker", attempts=1,
                 claimed_at=timezone.now())
    assert notices.deliver_due()["sent"] == 0  # maybe still being sent
    assert notices.deliver_due(now=timezone.now() + notices.LEASE + timedelta(seconds=1))["sent"] == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2 and len(mail.outbox) == 1


def test_the_task_delivers_due_notices(tenant):
    from billing.tasks import deliver_notices

    notice(tenant.account, channel="email")
    assert deliver_notices.apply().get() == {"sent": 1, "retry": 0, "failed": 0}
    assert mail.outbox[0].subject == "Arrears" and mail.outbox[0].to == ["ops@acme.example"]
