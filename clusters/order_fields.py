"""Fields other apps add to a cluster order (R3.2: the fleet a new cluster joins), on the order
page, in the API and on the confirmation page. Registered from their AppConfig.ready(), so
this app imports none of them; the order carries their parsed values in `Order.extras`.

Each field is judged by the app that owns it, as a rule of the order (`validate_order`
calls `validate`), and acts once the cluster exists, inside the order's transaction
(`place_order` calls `after_order`): a refusal there orders nothing.
"""
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class OrderField:
    name: str  # the form field's and the API's name, and the key in Order.extras
    label: object  # lazy translated: the confirmation page's label
    form_field: Callable  # (user) -> a django.forms.Field offering what this user may choose
    api_field: Callable  # () -> a DRF field parsing the raw value (an id) into an object, or None
    validate: Callable  # (actor, order, value) -> None; raises ValidationError keyed by `name`
    display: Callable  # (value) -> str: the confirmation page's line ("" when nothing is chosen)
    after_order: Callable  # (actor, cluster, value, operation): the new cluster, in the order's transaction
    follows: str = "name"  # the order page shows it after this field (first where that is absent)


_fields: dict[str, OrderField] = {}


def register(field: OrderField) -> None:
    _fields[field.name] = field


def all_fields() -> list[OrderField]:
    return list(_fields.values())
