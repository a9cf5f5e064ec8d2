"""The unit price an order confirmation shows (R3.2). Prices are billing's: billing registers
where they come from (`register(fn)` from its AppConfig.ready()), so this app imports no
billing code. Without one, a price is 0, as billing answers for a type without a price."""
from collections.abc import Callable
from decimal import Decimal

_price_in_force: Callable | None = None


def register(price_in_force: Callable) -> None:
    """price_in_force(instance_type) -> Decimal, the unit price (¥ per vCPU-hour) now."""
    global _price_in_force
    _price_in_force = price_in_force


def unit_price(instance_type: str) -> Decimal:
    return _price_in_force(instance_type) if _price_in_force else Decimal("0")
