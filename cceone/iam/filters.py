import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from cceone.console.filters import SearchFilterSet

from .models import EnterpriseProject, Policy, User, UserGroup


class SubAccountFilterSet(SearchFilterSet):
    search_fields = ("username", "email")
    is_active = django_filters.BooleanFilter(
        label=_("Enabled"),
        widget=forms.Select(choices=[("", _("All")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = User
        fields = ["is_active"]


class GroupFilterSet(SearchFilterSet):
    class Meta:
        model = UserGroup
        fields = []


class PolicyFilterSet(SearchFilterSet):
    scope = django_filters.ChoiceFilter(choices=Policy.Scope.choices, label=_("Scope"), empty_label=_("All"))

    class Meta:
        model = Policy
        fields = ["scope"]


class ProjectFilterSet(SearchFilterSet):
    class Meta:
        model = EnterpriseProject
        fields = []
