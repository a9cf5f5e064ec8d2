"""The fleet of a cluster order (R3.2, the manual's 舰队): the new cluster joins the chosen
fleet — and so the fleet's federation, once fleets have one — as soon as it exists. Optional:
a cluster can join a fleet later. Registered with `clusters.order_fields` from ready()."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from cceone.iam.access import require, restrict
from clusters.order_fields import OrderField

from . import services
from .models import Fleet

# The fleet pages' action for adding a cluster to a fleet.
ADD_CLUSTER_ACTION = "fleets:update"


def fleets_to_join(user):
    """The fleets of the user's account the user may add clusters to."""
    return restrict(Fleet.objects.all(), user, ADD_CLUSTER_ACTION).order_by("name")


def _form_field(user) -> forms.Field:
    choices = fleets_to_join(user)
    if choices.exists():
        help_text = _("The cluster joins this fleet once it is created and takes the fleet's permissions. "
                      "You can also add it to a fleet later.")
    else:
        help_text = _("There is no fleet you may add clusters to: the cluster can be added to a fleet later.")
    return forms.ModelChoiceField(choices, label=gettext_lazy("Fleet"), required=False, help_text=help_text,
                                  empty_label=gettext_lazy("None: add it to a fleet later"))


def _api_field() -> serializers.Field:
    return serializers.PrimaryKeyRelatedField(
        queryset=Fleet.objects.all(), required=False, allow_null=True,
        help_text="id of a fleet of the account the new cluster joins (fleets:update on it); omit for none")


def _validate(actor, order, fleet) -> None:
    if fleet is None:
        return
    if fleet.account_id != actor.account_id:  # another tenant's fleet does not exist for this one
        raise ValidationError({"fleet": _("Unknown fleet.")})
    require(actor, ADD_CLUSTER_ACTION, fleet)
    require(actor, "clusters:update", order.as_instance(actor.account))  # what joining a fleet asks of the cluster


def _display(fleet) -> str:
    if fleet is None:
        return ""
    federation = services.federation_of(fleet)
    if federation:
        return _("%(fleet)s (federation %(federation)s)") % {"fleet": fleet.name, "federation": federation}
    return fleet.name


FLEET = OrderField(name="fleet", label=gettext_lazy("Fleet"), form_field=_form_field, api_field=_api_field,
                   validate=_validate, display=_display, after_order=services.add_ordered_cluster)
