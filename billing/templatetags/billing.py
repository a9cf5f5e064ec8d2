from django import template

from billing import money
from billing.metering import BILLING_TZ

register = template.Library()


@register.filter
def billing_hour(value) -> str:
    """An hour start as UTC+8 shows it: '2026-11-30 23:00'."""
    return value.astimezone(BILLING_TZ).strftime("%Y-%m-%d %H:00") if value else ""


@register.filter
def yuan(value, places=2) -> str:
    """Money as the console shows it everywhere: ¥10,000.00 (see billing.money)."""
    return money.yuan(value, int(places))
