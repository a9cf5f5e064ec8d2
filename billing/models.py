"""Billing (R7): effective-dated prices. Metering, settlement and the ledger build on these."""
from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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


def price_in_force(instance_type: str, at=None) -> Decimal:
    """The unit price of `instance_type` at `at` (now by default); 0 when none is set."""
    at = at or timezone.now()
    price = (Price.objects.filter(instance_type=instance_type, effective_from__lte=at)
             .order_by("-effective_from").values_list("unit_price", flat=True).first())
    return price if price is not None else Decimal("0")
