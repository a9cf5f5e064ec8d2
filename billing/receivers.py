"""Notices billing writes for other apps' events, through its outbox (billing/notices.py)."""
from django.conf import settings
from django.dispatch import receiver

from operations import signals as operations_signals

from . import notices
from .models import BillingAccount, Notice


@receiver(operations_signals.inspection_completed, dispatch_uid="billing.inspection_notice")
def inspection_notice(sender, inspection, previous, dropped, new_critical, **kwargs):
    """An inspection's score dropped or it found new critical findings: an email, and an SMS
    for new critical findings when CCEONE_INSPECTION_SMS_CRITICAL is on."""
    cluster = inspection.cluster
    state, _created = BillingAccount.objects.get_or_create(account=cluster.account)
    channels = [Notice.Channel.EMAIL]
    if new_critical and settings.CCEONE_INSPECTION_SMS_CRITICAL:
        channels.append(Notice.Channel.SMS)
    notices.write(state, Notice.Kind.INSPECTION, channels=channels, cluster=cluster.name, score=inspection.score,
                  previous=previous.score, dropped=dropped, critical=len(new_critical),
                  checks=", ".join(sorted({f["check"] for f in new_critical})))
