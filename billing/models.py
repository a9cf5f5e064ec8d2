"""Billing (R7): effective-dated prices, the ledger whose sum is the balance, hourly
settlement rows (usage records, 话单), the freeze of instances in arrears and the
notices outbox."""
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MONEY = {"max_digits": 18, "decimal_places": 4}


class InstanceType(models.TextChoices):
    CLOUD = "cloud", _("Cloud cluster")
    LOCAL = "local", _("Local cluster")
    THIRD_PARTY = "third_party", _("Third-party cluster")
    FEDERATION = "federation", _("Federation")


class Price(models.Model):
    """¥ per vCPU per hour for an instance type, in force from `effective_from` until the
    next price of the same type."""

    instance_type = models.CharField(_("instance type"), max_length=16, choices=InstanceType.choices)
    unit_price = models.DecimalField(_("¥ per vCPU per hour"), max_digits=10, decimal_places=4)
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)

    class Meta:
        ordering = ["instance_type", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["instance_type", "effective_from"], name="uniq_price_time")]
        verbose_name = _("price")
        verbose_name_plural = _("prices")

    def __str__(self):
        return f"{self.get_instance_type_display()}: ¥{self.unit_price}/vCPU/h from {self.effective_from:%Y-%m-%d %H:%M}"

    def clean(self):
        if self.unit_price is not None and self.unit_price < 0:
            raise ValidationError({"unit_price": _("A price cannot be negative.")})


def price_in_force(instance_type: str, at=None) -> Decimal:
    """The unit price of `instance_type` at `at` (now by default); 0 when none is set."""
    at = at or timezone.now()
    price = (Price.objects.filter(instance_type=instance_type, effective_from__lte=at)
             .order_by("-effective_from").values_list("unit_price", flat=True).first())
    return price if price is not None else Decimal("0")


class RegionBillingSettings(models.Model):
    """Per region (resource pool): whether orders need the balance check (R7.5: "in force
    only in some resource pools"). A region without a row has the check enabled."""

    region = models.OneToOneField("iam.Region", on_delete=models.CASCADE, related_name="billing_settings",
                                  verbose_name=_("region"))
    balance_check_enabled = models.BooleanField(_("balance check on orders"), default=True)

    class Meta:
        verbose_name = _("region billing settings")
        verbose_name_plural = _("region billing settings")

    def __str__(self):
        return str(self.region)


def default_notice_language() -> str:
    return settings.CCEONE_BILLING_NOTICE_LANGUAGE


class BillingAccount(models.Model):
    """An account's billing state. Its row is the lock every ledger write takes, so the
    entries of one account are written one transaction at a time."""

    account = models.OneToOneField("iam.Account", on_delete=models.CASCADE, related_name="billing",
                                   verbose_name=_("account"))
    # Set while the account is in arrears (its on-demand instances are frozen).
    frozen_at = models.DateTimeField(_("frozen since"), null=True, blank=True)
    # Set when the low-balance warning of the current episode was sent.
    low_balance_warned_at = models.DateTimeField(_("low-balance warning sent at"), null=True, blank=True)
    notice_language = models.CharField(
        _("language of notices"), max_length=10, choices=settings.LANGUAGES,
        default=default_notice_language,
        help_text=_("Email and SMS notices are written in this language."))

    class Meta:
        verbose_name = _("billing account")
        verbose_name_plural = _("billing accounts")

    def __str__(self):
        return str(self.account)


class LedgerEntry(models.Model):
    """One append-only movement of an account's money. The balance is the sum of the
    amounts; `balance_after` is that sum up to and including this entry."""

    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        CHARGE = "charge", _("Charge")
        ADJUSTMENT = "adjustment", _("Adjustment")
        REFUND = "refund", _("Refund")

    account = models.ForeignKey("iam.Account", on_delete=models.PROTECT, related_name="ledger_entries",
                                verbose_name=_("account"))
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices)
    amount = models.DecimalField(_("amount (¥)"), **MONEY)
    balance_after = models.DecimalField(_("balance after (¥)"), **MONEY)
    reference = models.CharField(_("reference"), max_length=100)
    note = models.CharField(_("note"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+", verbose_name=_("actor"))
    # Kept as text so the entry names its author after the user is gone; "system" for charges.
    actor_name = models.CharField(_("actor"), max_length=150)
    settlement = models.OneToOneField("Settlement", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="charge", verbose_name=_("usage record"))
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "reference"], name="uniq_ledger_reference"),
            models.CheckConstraint(
                condition=~models.Q(amount=0)
                & (models.Q(kind__in=["top_up", "refund"], amount__gt=0)
                   | models.Q(kind="charge", amount__lt=0)
                   | models.Q(kind="adjustment")),
                name="ledger_amount_sign"),
        ]
        indexes = [models.Index(fields=["account", "-id"], name="ledger_account_latest")]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} ({self.reference})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("Ledger entries are append-only: record an adjustment instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are append-only: record an adjustment instead.")


class Settlement(models.Model):
    """One instance-hour (a usage record): settled exactly once, whether it was billed
    (running or changing during the hour) or not (disconnected, frozen …)."""

    account = models.ForeignKey("iam.Account", on_delete=models.PROTECT, related_name="settlements",
                                verbose_name=_("account"))
    instance_kind = models.CharField(_("instance kind"), max_length=16)  # "cluster", "federation"
    instance_id = models.BigIntegerField(_("instance id"))
    instance_name = models.CharField(_("instance"), max_length=64)
    instance_type = models.CharField(_("instance type"), max_length=16, choices=InstanceType.choices)
    hour_start = models.DateTimeField(_("hour"))
    billable = models.BooleanField(_("billed"), default=True)
    vcpu = models.DecimalField(_("vCPU"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price (¥/vCPU/hour)"), max_digits=10, decimal_places=4)
    amount = models.DecimalField(_("amount (¥)"), **MONEY)
    created_at = models.DateTimeField(_("settled at"), default=timezone.now)
    # Where the instance was when the hour was settled, for showback (kept as written: a
    # fleet or a project deleted later still names last month's costs).
    fleet_id = models.BigIntegerField(_("fleet id"), null=True, blank=True)
    fleet_name = models.CharField(_("fleet"), max_length=64, blank=True)
    project_id = models.BigIntegerField(_("enterprise project id"), null=True, blank=True)
    project_name = models.CharField(_("enterprise project"), max_length=64, blank=True)

    class Meta:
        ordering = ["-hour_start", "instance_name", "-id"]
        constraints = [models.UniqueConstraint(fields=["instance_kind", "instance_id", "hour_start"],
                                               name="uniq_settlement_hour")]
        indexes = [models.Index(fields=["account", "-hour_start"], name="settlement_account_hour")]
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")

    def __str__(self):
        return f"{self.instance_kind}:{self.instance_id} @ {timezone.localtime(self.hour_start):%Y-%m-%d %H:00}"

    @property
    def instance_ref(self) -> str:
        return f"{self.instance_kind}:{self.instance_id}"


class SettlementShare(models.Model):
    """A namespace's part of a billed hour's charge (showback): the charge split by the CPU
    requests of the namespaces in the hour, to the ten-thousandth of a yuan, so the parts add
    up to the charge exactly. An hour without reported requests is one part, namespace ""."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="shares")
    namespace = models.CharField(_("namespace"), max_length=253, blank=True)
    cpu_millicores = models.BigIntegerField(_("CPU requests (millicores)"), default=0)
    amount = models.DecimalField(_("amount (¥)"), **MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["settlement", "namespace"], name="uniq_share_namespace")]
        verbose_name = _("namespace share")
        verbose_name_plural = _("namespace shares")

    def __str__(self):
        return f"{self.settlement} {self.namespace or '-'}"


class FrozenInstance(models.Model):
    """An instance frozen for arrears, with the status it had, restored on unfreezing."""

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="frozen_instances")
    instance_kind = models.CharField(max_length=16)
    instance_id = models.BigIntegerField()
    instance_name = models.CharField(max_length=64)
    previous_status = models.CharField(max_length=32)
    frozen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["instance_kind", "instance_id"], name="uniq_frozen_instance")]
        verbose_name = _("frozen instance")
        verbose_name_plural = _("frozen instances")

    def __str__(self):
        return f"{self.instance_kind}:{self.instance_id} ({self.previous_status})"


class Notice(models.Model):
    """An email or SMS to an account, written to this outbox in the transaction that
    decided it and delivered by a task that marks it sent exactly once."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Kind(models.TextChoices):
        ARREARS = "arrears", _("Arrears: instances frozen")
        RESTORED = "restored", _("Balance restored: instances unfrozen")
        LOW_BALANCE = "low_balance", _("Low balance")
        INSPECTION = "inspection", _("Inspection: score dropped or new critical findings")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("No recipient")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="notices",
                                verbose_name=_("account"))
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    kind = models.CharField(_("notice"), max_length=16, choices=Kind.choices)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    language = models.CharField(_("language"), max_length=10)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notice_due")]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")

    def __str__(self):
        return f"{self.get_kind_display()} ({self.get_channel_display()}) → {self.recipient or '-'}"
