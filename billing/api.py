"""Billing API (R7.4, R8.1): the tenant's balance, ledger, usage records and monthly bills
(IAM `billing:list`), and the operators' top-ups and account balances (staff outside every
tenant, with the `billing` model permissions; separate from tenant IAM)."""
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, permissions, serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from cceone import api_routes as routes
from cceone.api import RestrictedViewSet
from cceone.iam.access import require, restrict
from cceone.iam.models import Account

from . import services
from .filters import LedgerFilterSet, UsageFilterSet
from .models import LedgerEntry, Settlement

VIEW = "billing:list"
MONEY = {"max_digits": 18, "decimal_places": 4}


# --- tenants ----------------------------------------------------------------------------

@extend_schema_serializer(many=False)  # the `list` of a singleton: one object, not an array
class BalanceSerializer(serializers.Serializer):
    balance = serializers.DecimalField(**MONEY, help_text="¥, the sum of the ledger")
    hourly_charge = serializers.DecimalField(**MONEY, help_text="¥ the existing on-demand instances cost per hour")
    required_to_order = serializers.DecimalField(**MONEY, help_text="¥ an on-demand order needs (R7.5)")
    frozen_since = serializers.DateTimeField(allow_null=True, help_text="set while the account is in arrears")
    low_balance = serializers.BooleanField(help_text="the balance covers less than 24 hours of current charges")
    hours_covered = serializers.DecimalField(max_digits=18, decimal_places=1, allow_null=True)


class BalanceViewSet(GenericViewSet):
    """The account's balance and what it means for ordering."""

    iam_actions = {"list": VIEW}
    queryset = LedgerEntry.objects.none()  # one balance per account, the caller's
    serializer_class = BalanceSerializer
    pagination_class = None

    @extend_schema(responses=BalanceSerializer)
    def list(self, request):
        return Response(BalanceSerializer(services.summary(request.user.account)).data)


class LedgerEntrySerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="created_at")
    actor = serializers.CharField(source="actor_name")
    usage_record = serializers.PrimaryKeyRelatedField(source="settlement", read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "time", "kind", "amount", "balance_after", "reference", "note", "actor", "usage_record"]


class LedgerEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """The account's ledger, newest first: top-ups, charges, adjustments and refunds."""

    queryset = LedgerEntry.objects.all()
    serializer_class = LedgerEntrySerializer
    filterset_class = LedgerFilterSet
    iam_actions = {"list": VIEW, "retrieve": VIEW}
    read_action = VIEW


class UsageRecordSerializer(serializers.ModelSerializer):
    billed = serializers.BooleanField(source="billable")

    class Meta:
        model = Settlement
        fields = ["id", "hour_start", "instance_kind", "instance_id", "instance_name", "instance_type", "billed",
                  "vcpu", "unit_price", "amount"]


class UsageRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Hourly usage records (话单), newest first; billed hours unless `hours` says otherwise."""

    queryset = Settlement.objects.all()
    serializer_class = UsageRecordSerializer
    filterset_class = UsageFilterSet
    iam_actions = {"list": VIEW, "retrieve": VIEW}
    read_action = VIEW


class BillLineSerializer(serializers.Serializer):
    instance_type = serializers.CharField()
    label = serializers.CharField()
    hours = serializers.IntegerField()
    vcpu_hours = serializers.DecimalField(max_digits=18, decimal_places=3)
    amount = serializers.DecimalField(**MONEY)


class BillInstanceLineSerializer(BillLineSerializer):
    instance_kind = serializers.CharField()
    instance_id = serializers.IntegerField()
    instance_name = serializers.CharField()


class BillSerializer(serializers.Serializer):
    month = serializers.CharField()
    total = serializers.DecimalField(**MONEY)
    hours = serializers.IntegerField()
    vcpu_hours = serializers.DecimalField(max_digits=18, decimal_places=3)
    by_type = BillLineSerializer(many=True)
    by_instance = BillInstanceLineSerializer(many=True)


class BillMonthSerializer(serializers.Serializer):
    month = serializers.CharField()
    total = serializers.DecimalField(**MONEY)
    hours = serializers.IntegerField()


class BillViewSet(GenericViewSet):
    """Monthly bills (UTC+8 months): the months with charges, and one month's bill by
    instance type and by instance."""

    iam_actions = {"list": VIEW, "retrieve": VIEW}
    queryset = Settlement.objects.all()
    serializer_class = BillSerializer
    pagination_class = None
    lookup_field = "month"
    lookup_value_regex = r"\d{4}-\d{2}"

    def usage(self):
        return restrict(Settlement.objects.all(), self.request.user, VIEW)

    @extend_schema(responses=BillMonthSerializer(many=True))
    def list(self, request):
        return Response(BillMonthSerializer(services.bill_months(self.usage()), many=True).data)

    @extend_schema(responses=BillSerializer,
                   parameters=[OpenApiParameter("month", OpenApiTypes.STR, OpenApiParameter.PATH,
                                                description="YYYY-MM")])
    def retrieve(self, request, month=None):
        require(request.user, VIEW)  # a detail with no object to check: the action itself
        try:
            bill = services.monthly_bill(self.usage(), month)
        except ValidationError:
            raise Http404 from None
        return Response(BillSerializer(bill).data)


class ShowbackRowSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="YYYY-MM, or YYYY-MM-DD per day (UTC+8)")
    key = serializers.CharField(help_text="the group: kind|id|name, fleet id|name, project id|name, or kind|id|name|namespace")
    label = serializers.CharField()
    cluster = serializers.CharField(help_text="the instance's name (per cluster and per namespace)")
    namespace = serializers.CharField(help_text='per namespace; "" where no CPU requests were reported')
    amount = serializers.DecimalField(**MONEY)


@extend_schema_serializer(many=False)  # the `list` answers one showback, not an array
class ShowbackSerializer(serializers.Serializer):
    month = serializers.CharField()
    by = serializers.ChoiceField(choices=["namespace", "cluster", "fleet", "project"])
    period = serializers.ChoiceField(choices=["month", "day"])
    total = serializers.DecimalField(**MONEY, help_text="equals the month's bill (of the cluster, when one is named)")
    rows = ShowbackRowSerializer(many=True)


SHOWBACK_PARAMETERS = [
    OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM (UTC+8); the current month by default"),
    OpenApiParameter("by", OpenApiTypes.STR, enum=["namespace", "cluster", "fleet", "project"],
                     description="group by (namespace by default)"),
    OpenApiParameter("period", OpenApiTypes.STR, enum=["month", "day"], description="per month (default) or per day"),
]


class ShowbackViewSet(GenericViewSet):
    """Showback: the month's billed amounts per namespace, cluster, fleet or enterprise project,
    per day or per month; of the account, or of one registered cluster (its id)."""

    iam_actions = {"list": "billing:showback", "retrieve": "billing:showback"}
    queryset = Settlement.objects.all()
    serializer_class = ShowbackSerializer
    pagination_class = None
    filter_backends = []

    def _result(self, cluster=None):
        from . import showback

        usage = restrict(Settlement.objects.all(), self.request.user, "billing:showback")
        if cluster is not None:
            usage = usage.filter(instance_kind="cluster", instance_id=cluster.pk)
        params = self.request.query_params
        result = showback.showback(usage, params.get("month") or services.current_month(),
                                   params.get("by") or "namespace", params.get("period") or "month")
        for row in result.rows:
            row["period"] = str(row["period"])
        return Response(ShowbackSerializer(result).data)

    @extend_schema(responses=ShowbackSerializer, parameters=SHOWBACK_PARAMETERS)
    def list(self, request):
        require(request.user, "billing:showback")
        return self._result()

    @extend_schema(responses={200: ShowbackSerializer, 400: OpenApiTypes.OBJECT}, parameters=[
        OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="a registered cluster's id"),
        *SHOWBACK_PARAMETERS])
    def retrieve(self, request, pk=None):
        from cceone.iam.access import get_or_deny
        from clusters.models import RegisteredCluster

        return self._result(get_or_deny(RegisteredCluster.objects.all(), request.user, pk, "billing:showback"))


# --- operators --------------------------------------------------------------------------

class IsOperator(permissions.BasePermission):
    """Staff outside every tenant, with the model permission: view to read, add to write."""

    def has_permission(self, request, view):
        user = request.user
        perm = "billing.view_ledgerentry" if request.method in permissions.SAFE_METHODS else "billing.add_ledgerentry"
        return services.is_operator(user) and user.has_perm(perm)


class TopUpSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    amount = serializers.DecimalField(**MONEY, min_value=0)
    time = serializers.DateTimeField(source="created_at", read_only=True)
    actor = serializers.CharField(source="actor_name", read_only=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "account", "amount", "reference", "note", "balance_after", "time", "actor"]
        read_only_fields = ["balance_after"]
        validators = []  # the service checks the reference (per account) and says so clearly


class OperatorTopUpViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, GenericViewSet):
    """Operators: every account's top-ups; record a top-up (unfreezes an account whose
    balance is back at zero or above)."""

    permission_classes = [IsOperator]
    iam_exempt = "operators only: the platform's staff, outside tenant IAM"
    queryset = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOP_UP).select_related("account")
    serializer_class = TopUpSerializer
    filterset_fields = ["account"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = services.top_up(request.user, data["account"], data["amount"], data["reference"], data.get("note", ""))
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)


class OperatorAccountSerializer(serializers.ModelSerializer):
    balance = serializers.DecimalField(**MONEY, source="current_balance", allow_null=True)
    frozen_since = serializers.DateTimeField(source="billing.frozen_at", allow_null=True, default=None)

    class Meta:
        model = Account
        fields = ["id", "name", "contact_email", "contact_phone", "balance", "frozen_since"]


class OperatorAccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Operators: tenants with their balances and arrears state."""

    permission_classes = [IsOperator]
    iam_exempt = "operators only: the platform's staff, outside tenant IAM"
    serializer_class = OperatorAccountSerializer
    filterset_fields = ["name"]

    def get_queryset(self):
        latest = (LedgerEntry.objects.filter(account=OuterRef("pk")).order_by("-id").values("balance_after")[:1])
        return Account.objects.annotate(current_balance=Subquery(latest)).select_related("billing").order_by("name")


def register() -> None:
    """Serve this app's viewsets under /api/v1/ (called from AppConfig.ready())."""
    routes.register("billing/balance", BalanceViewSet, basename="billing-balance")
    routes.register("billing/ledger", LedgerEntryViewSet, basename="billing-ledger")
    routes.register("billing/usage", UsageRecordViewSet, basename="billing-usage")
    routes.register("billing/bills", BillViewSet, basename="billing-bill")
    routes.register("billing/showback", ShowbackViewSet, basename="billing-showback")
    routes.register("billing/operator/top-ups", OperatorTopUpViewSet, basename="billing-operator-topup")
    routes.register("billing/operator/accounts", OperatorAccountViewSet, basename="billing-operator-account")
