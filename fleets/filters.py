from cceone.console.filters import SearchFilterSet

from .models import Fleet


class FleetFilterSet(SearchFilterSet):
    class Meta:
        model = Fleet
        fields = []
