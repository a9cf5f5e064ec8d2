from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from cceone.api import RestrictedViewSet

from . import filters, services
from .models import EnterpriseProject, Policy, Region, ServiceDelegation, User, UserGroup

IAM_ACTIONS = {"list": "iam:list", "retrieve": "iam:list", "create": "iam:create", "update": "iam:update",
               "partial_update": "iam:update", "destroy": "iam:delete"}


class AccountRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object of the caller's own account (others do not exist for them)."""

    def get_queryset(self):
        request = self.context["request"]
        return self.queryset.filter(account_id=request.user.account_id)


class PolicyRelatedField(AccountRelatedField):
    """The caller's custom policies and the system ones: another tenant's policy id answers
    exactly like one that does not exist."""

    def get_queryset(self):
        return super().get_queryset() | self.queryset.filter(account__isnull=True)


class SubAccountSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, required=False)
    groups = AccountRelatedField(source="iam_groups", many=True, queryset=UserGroup.objects.all(), required=False)

    class Meta:
        model = User
        fields = ["id", "username", "email", "phone", "is_active", "groups", "password", "last_login", "date_joined"]
        read_only_fields = ["last_login", "date_joined"]
        # The name's rules (format, taken) are the service's: its message, in the caller's language.
        extra_kwargs = {"username": {"validators": []}}


class SubAccountCreateSerializer(SubAccountSerializer):
    password = serializers.CharField(write_only=True)  # a new sub-account signs in with it


class GroupSerializer(serializers.ModelSerializer):
    members = AccountRelatedField(many=True, queryset=User.objects.all(), required=False)
    policies = PolicyRelatedField(many=True, queryset=Policy.objects.all(), required=False)

    class Meta:
        model = UserGroup
        fields = ["id", "name", "description", "members", "policies", "created_at"]


class PolicySerializer(serializers.ModelSerializer):
    actions = serializers.ListField(child=serializers.CharField(), help_text="action patterns, e.g. clusters:*")
    instances = serializers.ListField(child=serializers.CharField(), required=False,
                                      help_text="with scope `instances`: references such as cluster:12")
    projects = AccountRelatedField(many=True, queryset=EnterpriseProject.objects.all(), required=False)
    iam_projects = serializers.SlugRelatedField(
        many=True, slug_field="code", queryset=Region.objects.all(), required=False,
        help_text="with scope `iam_projects`: region codes; the policy reaches those regions' instances")
    is_system = serializers.BooleanField(read_only=True)
    granted_actions = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = ["id", "name", "description", "is_system", "actions", "granted_actions", "scope", "instances",
                  "projects", "iam_projects", "created_at"]

    def get_granted_actions(self, policy) -> list[str]:
        return sorted(policy.granted_actions())


class ProjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = EnterpriseProject
        fields = ["id", "name", "description", "created_at"]


class ServiceWriteMixin:
    """create/update/destroy through the service functions; their ValidationErrors become
    400s in the one exception handler (cceone.api.exception_handler)."""

    def respond(self, obj, code=status.HTTP_200_OK):
        return Response(self.get_serializer(obj).data, status=code)


class StandardViewSet(ServiceWriteMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    iam_actions = IAM_ACTIONS
    read_action = "iam:list"

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.respond(self.write(None, serializer.validated_data), status.HTTP_201_CREATED)

    def update(self, request, pk=None, partial=False):
        obj = self.get_object()
        serializer = self.get_serializer(obj, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        merged = {**self.current(obj), **serializer.validated_data}
        return self.respond(self.write(obj, merged))

    def partial_update(self, request, pk=None):
        return self.update(request, pk, partial=True)

    def destroy(self, request, pk=None):
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubAccountViewSet(StandardViewSet):
    """Sub-accounts of the caller's account (the main account is not listed)."""

    queryset = User.objects.filter(owned_account__isnull=True).prefetch_related("iam_groups").order_by("username")
    serializer_class = SubAccountSerializer
    filterset_class = filters.SubAccountFilterSet

    def get_serializer_class(self):
        return SubAccountCreateSerializer if self.action == "create" else SubAccountSerializer

    def current(self, user):
        return {"email": user.email, "phone": user.phone, "is_active": user.is_active,
                "iam_groups": list(user.iam_groups.all())}

    def write(self, user, data):
        if user is None:
            return services.create_sub_account(self.request.user, username=data["username"],
                                               password=data["password"], email=data.get("email", ""),
                                               phone=data.get("phone", ""), groups=data.get("iam_groups", []))
        if data.get("password"):
            services.set_password(self.request.user, user, data["password"])
        return services.update_sub_account(self.request.user, user, email=data["email"], phone=data["phone"],
                                           is_active=data["is_active"], groups=data["iam_groups"])

    def remove(self, user):
        services.delete_sub_account(self.request.user, user)


class GroupViewSet(StandardViewSet):
    queryset = UserGroup.objects.prefetch_related("members", "policies")
    serializer_class = GroupSerializer
    filterset_class = filters.GroupFilterSet

    def current(self, group):
        return {"name": group.name, "description": group.description, "members": list(group.members.all()),
                "policies": list(group.policies.all())}

    def write(self, group, data):
        return services.save_group(self.request.user, group, name=data["name"],
                                   description=data.get("description", ""), members=data.get("members", []),
                                   policies=data.get("policies", []))

    def remove(self, group):
        services.delete_group(self.request.user, group)


class PolicyViewSet(StandardViewSet):
    """System policies and the account's custom policies; only custom ones can be written."""

    queryset = Policy.objects.prefetch_related("projects", "iam_projects")
    serializer_class = PolicySerializer
    filterset_class = filters.PolicyFilterSet

    def get_queryset(self):
        base = self.queryset.all()
        return super().get_queryset() | base.filter(account__isnull=True)

    def current(self, policy):
        return {"name": policy.name, "description": policy.description, "actions": policy.actions,
                "scope": policy.scope, "instances": policy.instances, "projects": list(policy.projects.all()),
                "iam_projects": list(policy.iam_projects.all())}

    def write(self, policy, data):
        return services.save_policy(self.request.user, policy, name=data["name"],
                                    description=data.get("description", ""), actions=data.get("actions", []),
                                    scope=data.get("scope", Policy.Scope.ACCOUNT),
                                    instances=data.get("instances", []), projects=data.get("projects", []),
                                    iam_projects=data.get("iam_projects", []))

    def remove(self, policy):
        services.delete_policy(self.request.user, policy)


class ProjectViewSet(StandardViewSet):
    queryset = EnterpriseProject.objects.all()
    serializer_class = ProjectSerializer
    filterset_class = filters.ProjectFilterSet

    def current(self, project):
        return {"name": project.name, "description": project.description}

    def write(self, project, data):
        return services.save_project(self.request.user, project, name=data["name"],
                                     description=data.get("description", ""))

    def remove(self, project):
        services.delete_project(self.request.user, project)


@extend_schema_serializer(many=False)  # the `list` of a singleton: one object, not an array
class DelegationSerializer(serializers.ModelSerializer):
    """The account's delegation; every field null while it is not authorised."""

    role_name = serializers.CharField(read_only=True, allow_null=True)
    authorized_by = serializers.CharField(source="authorized_by.username", read_only=True, allow_null=True,
                                          default=None)
    authorized_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = ServiceDelegation
        fields = ["role_name", "authorized_by", "authorized_at"]


class DelegationViewSet(GenericViewSet):
    """The account's service delegation: GET its state, POST to authorise it (once)."""

    iam_actions = {"list": "iam:list", "create": "iam:delegate"}
    queryset = ServiceDelegation.objects.none()  # one per account, looked up by the caller's account
    serializer_class = DelegationSerializer
    pagination_class = None

    @extend_schema(responses=DelegationSerializer)
    def list(self, request):
        current = ServiceDelegation.objects.filter(account=request.user.account).first()
        return Response(DelegationSerializer(current).data if current else dict.fromkeys(DelegationSerializer.Meta.fields))

    @extend_schema(request=None, responses=DelegationSerializer)
    def create(self, request):
        return Response(DelegationSerializer(services.authorize_delegation(request.user)).data,
                        status=status.HTTP_201_CREATED)
