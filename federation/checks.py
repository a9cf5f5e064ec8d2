"""The federation order's dependency checks, in the clusters' registry (R5.1, R7.5): the
product quota and whether a control plane can be provided; billing adds the balance check."""
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from clusters.checks import register

from . import provisioners
from .models import Federation, FederationQuota


def federation_quota(account) -> int:
    quota = FederationQuota.objects.filter(account=account).values_list("max_federations", flat=True).first()
    return quota if quota is not None else settings.CCEONE_DEFAULT_FEDERATION_QUOTA


@register("federation-quota", gettext_lazy("Product quota check"), applies_to=("federation",))
def quota_check(account, order):
    used = Federation.objects.filter(account=account).exclude(status=Federation.Status.UNSUBSCRIBED).count()
    limit = federation_quota(account)
    if used >= limit:
        return False, _("The account already holds %(used)d of at most %(limit)d federations.") % {
            "used": used, "limit": limit}
    return True, ""


@register("control-plane", gettext_lazy("Control plane capacity check"), applies_to=("federation",))
def control_plane_check(account, order):
    reason = provisioners.current().unavailable(order.region)
    return (False, reason) if reason else (True, "")
