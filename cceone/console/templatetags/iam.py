"""`{% can "fleets:update" fleet as allowed %}`: the server's own IAM check, for templates that
show a button only to whoever may use it."""
from django import template

from cceone.iam.access import can as iam_can

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, action: str, obj=None) -> bool:
    return iam_can(context["request"].user, action, obj)
