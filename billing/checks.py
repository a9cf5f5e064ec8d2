"""The balance check on order confirmation pages (R7.5), in the clusters' dependency-check
registry for registered-cluster and federation orders."""
from decimal import ROUND_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clusters.checks import register

from . import services
from .models import RegionBillingSettings
from .money import yuan


def enabled_in(region) -> bool:
    if region is None:
        return True
    return RegionBillingSettings.objects.filter(region=region).values_list(
        "balance_check_enabled", flat=True).first() is not False


@register("balance", gettext_lazy("Account balance check"), applies_to=("cluster", "federation"))
def balance_check(account, order):
    """Balance ≥ ¥100 and ≥ the next hour's charge of the account's on-demand instances."""
    if not enabled_in(getattr(order, "region", None)):
        return True, _("No balance check in this region.")
    current = services.balance(account)
    required, hourly = services.required_balance(account)
    if current >= required:
        return True, ""
    if hourly > services.MINIMUM_BALANCE:
        reason = _("the next hour's charge of your on-demand resources (%(hourly)s) exceeds %(minimum)s") % {
            "hourly": yuan(hourly), "minimum": yuan(services.MINIMUM_BALANCE)}
    else:
        reason = _("on-demand orders need at least %(minimum)s") % {"minimum": yuan(services.MINIMUM_BALANCE)}
    return False, _("The balance is %(balance)s; at least %(required)s is required (%(reason)s). "
                    "Top up %(missing)s or more.") % {
        "balance": yuan(current), "required": yuan(required), "reason": reason,
        "missing": yuan((required - current).quantize(Decimal('0.01'), rounding=ROUND_UP))}
