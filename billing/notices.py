"""Notices (R7.6) through an outbox: `write()` adds an email and an SMS row in the
caller's transaction; `deliver_due()` (the `deliver_notices` task, every minute and right
after a commit that wrote notices) sends what is due, retries failures with back-off and
marks each row sent exactly once.

Texts come from per-language templates, `templates/billing/notices/<kind>.<channel>.<language>.txt`
(zh-hans and en; an email's first line is its subject). The language is the account's
`BillingAccount.notice_language`, which operators set in the admin; it defaults to
CCEONE_BILLING_NOTICE_LANGUAGE (zh-hans: the product's home market and the manual's language),
because the platform keeps no language preference for users.
"""
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone, translation

from . import signals, sms
from .metering import BILLING_TZ
from .models import Notice

logger = logging.getLogger(__name__)

Kind = Notice.Kind
LANGUAGES = ("zh-hans", "en")
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)  # a claim older than this was left by a worker that died


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def recipients(account) -> tuple[str, str]:
    """(email, phone): the account's contacts, else its main account user's."""
    owner = account.owner
    return (account.contact_email or (owner.email if owner else ""),
            account.contact_phone or (owner.phone if owner else ""))


def render(kind: str, channel: str, language: str, context: dict) -> tuple[str, str]:
    language = language if language in LANGUAGES else LANGUAGES[0]
    template = get_template(f"billing/notices/{kind}.{channel}.{language}.txt")
    with translation.override(language):
        text = template.template.render(Context(context, autoescape=False)).strip()  # plain text: no escaping
    if channel == Notice.Channel.EMAIL:
        subject, _sep, body = text.partition("\n")
        return subject.strip(), body.strip() + "\n"
    return "", text


def write(state, kind: str, channels=(Notice.Channel.EMAIL, Notice.Channel.SMS), **context) -> list[Notice]:
    """An email and an SMS notice (or those of `channels`) to the account of `state` (a
    BillingAccount), in the current transaction; delivery starts once it commits."""
    account = state.account
    email, phone = recipients(account)
    context = {"account": account, "time": timezone.now().astimezone(BILLING_TZ), **context}
    rows = []
    for channel, recipient in ((Notice.Channel.EMAIL, email), (Notice.Channel.SMS, phone)):
        if channel not in channels:
            continue
        subject, body = render(kind, channel, state.notice_language, context)
        rows.append(Notice.objects.create(
            account=account, channel=channel, kind=kind, recipient=recipient, language=state.notice_language,
            subject=subject, body=body, status=Notice.Status.PENDING if recipient else Notice.Status.SKIPPED,
            last_error="" if recipient else "no contact for this channel"))
    signals.notices_written.send(Notice, notices=rows)
    return rows


def send(notice: Notice) -> None:
    if notice.channel == Notice.Channel.EMAIL:
        EmailMessage(notice.subject, notice.body, settings.DEFAULT_FROM_EMAIL, [notice.recipient]).send()
    else:
        sms.get_backend().send(notice.recipient, notice.body, reference=f"cceone-notice-{notice.pk}")


def deliver_due(now=None, limit: int = 200) -> dict:
    """Send the notices that are due. A row is claimed with a conditional update before
    sending, so concurrent deliverers never send the same row, and is marked sent once."""
    now = now or timezone.now()
    Notice.objects.filter(status=Notice.Status.SENDING, claimed_at__lt=now - LEASE).update(
        status=Notice.Status.PENDING, claim="")
    due = list(Notice.objects.filter(status=Notice.Status.PENDING, next_attempt_at__lte=now)
               .order_by("id").values_list("pk", flat=True)[:limit])
    result = {"sent": 0, "retry": 0, "failed": 0}
    for pk in due:
        claim = uuid.uuid4().hex
        claimed = Notice.objects.filter(pk=pk, status=Notice.Status.PENDING).update(
            status=Notice.Status.SENDING, claim=claim, claimed_at=now, attempts=F("attempts") + 1)
        if not claimed:
            continue  # another deliverer has it
        notice = Notice.objects.get(pk=pk)
        try:
            send(notice)
        except Exception as error:  # noqa: BLE001 - any failure is recorded and retried
            give_up = notice.attempts >= MAX_ATTEMPTS
            logger.warning("notice %s (%s) failed, attempt %s: %s", pk, notice.channel, notice.attempts, error)
            Notice.objects.filter(pk=pk, claim=claim).update(
                status=Notice.Status.FAILED if give_up else Notice.Status.PENDING, claim="",
                last_error=str(error)[:2000], next_attempt_at=now + backoff(notice.attempts))
            result["failed" if give_up else "retry"] += 1
        else:
            Notice.objects.filter(pk=pk, claim=claim, status=Notice.Status.SENDING).update(
                status=Notice.Status.SENT, claim="", sent_at=timezone.now(), last_error="")
            result["sent"] += 1
    return result


def retry(notices) -> int:
    """Operators: send failed notices again now."""
    return notices.filter(status=Notice.Status.FAILED).update(
        status=Notice.Status.PENDING, next_attempt_at=timezone.now(), attempts=0)
