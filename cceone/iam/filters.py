import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import EnterpriseProject, Policy, User, UserGroup


class SearchFilterSet(django_filters.FilterSet):
    """A single search box over `search_fields`, shared by the list page and the API."""

    search_fields: tuple[str, ...] = ("name",)
    q = django_filters.CharFilter(method="search", label=_("Search"))

    def search(self, queryset, name, value):
        query = Q()
        for field in self.search_fields:
            query |= Q(**{f"{field}__icontains": value})
        return queryset.filter(query)


class SubAccountFilterSet(SearchFilterSet):
    search_fields = ("username", "email")

    class Meta:
        model = User
        fields = ["is_active"]


class GroupFilterSet(SearchFilterSet):
    class Meta:
        model = UserGroup
        fields = []


class PolicyFilterSet(SearchFilterSet):
    class Meta:
        model = Policy
        fields = ["scope"]


class ProjectFilterSet(SearchFilterSet):
    class Meta:
        model = EnterpriseProject
        fields = []
