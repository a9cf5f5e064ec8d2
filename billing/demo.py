"""Billing's part of the demo tenant (`manage.py seed_demo`, on `demo_seeded`)."""
from . import services
from .models import LedgerEntry


def credit(sender, account, operator, **kwargs) -> None:
    """A starting balance, so the demo's sandbox clusters are not frozen at the first hour."""
    if not LedgerEntry.objects.filter(account=account, reference="demo-credit").exists():
        services.top_up(operator, account, 10000, "demo-credit", note="Demo starting balance")
