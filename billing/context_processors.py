"""The arrears banner on every console page (R7.5): a frozen account sees why, and where
to top up, whatever page it is on."""
from .models import BillingAccount


def arrears(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not getattr(user, "account_id", None):
        return {}
    # Once per request: tables render each templated cell in a context of its own.
    if not hasattr(request, "_arrears_since"):
        request._arrears_since = (BillingAccount.objects.filter(account_id=user.account_id, frozen_at__isnull=False)
                                  .values_list("frozen_at", flat=True).first())
    return {"arrears_since": request._arrears_since} if request._arrears_since else {}
