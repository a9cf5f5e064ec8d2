from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import show_once
from cceone.console import views as generic
from cceone.console.redirects import redirect_next, safe_next

from . import filters, forms, services, tables
from .access import can, require
from .models import APIToken, EnterpriseProject, Policy, RealNameVerification, ServiceDelegation, User, UserGroup
from .routes import AUTHENTICATED_ONLY, iam_page


class SubAccountMixin:
    queryset = User.objects.select_related("account").prefetch_related("iam_groups")
    view_action = "iam:list"


class SubAccountList(SubAccountMixin, generic.ObjectListView):
    table_class = tables.SubAccountTable
    filterset_class = filters.SubAccountFilterSet
    title = gettext_lazy("Sub-accounts")
    create_url_name = "iam:user-add"
    create_action = "iam:create"

    def get_queryset(self):
        return super().get_queryset().filter(owned_account__isnull=True).order_by("username")


class SubAccountCreate(SubAccountMixin, generic.ObjectFormView):
    form_class = forms.SubAccountCreateForm
    create_action = "iam:create"
    success_url_name = "iam:user-list"
    title_create = gettext_lazy("Create sub-account")

    def save(self, form, obj):
        data = form.cleaned_data
        return services.create_sub_account(self.request.user, username=data["username"],
                                           password=data["password"], email=data["email"],
                                           phone=data["phone"], groups=data["groups"])


class SubAccountUpdate(SubAccountMixin, generic.ObjectFormView):
    form_class = forms.SubAccountUpdateForm
    update_action = "iam:update"
    success_url_name = "iam:user-list"
    title_update = gettext_lazy("Edit sub-account")

    def get_queryset(self):
        return super().get_queryset().filter(owned_account__isnull=True)

    def save(self, form, obj):
        data = form.cleaned_data
        return services.update_sub_account(self.request.user, obj, email=data["email"], phone=data["phone"],
                                           is_active=data["is_active"], groups=data["groups"])


class SubAccountPassword(SubAccountUpdate):
    form_class = forms.PasswordForm
    title_update = gettext_lazy("Reset password")

    def save(self, form, obj):
        services.set_password(self.request.user, obj, form.cleaned_data["password"])
        if obj.pk == self.request.user.pk:
            # A new password ends the user's other sessions; this one, which set it, stays.
            update_session_auth_hash(self.request, obj)
        return obj


class SubAccountDelete(SubAccountMixin, generic.ObjectDeleteView):
    delete_action = "iam:delete"
    success_url_name = "iam:user-list"
    warning = gettext_lazy("The user can no longer sign in; their API tokens and kubeconfigs are revoked.")

    def get_queryset(self):
        return super().get_queryset().filter(owned_account__isnull=True)

    def delete(self, obj):
        services.delete_sub_account(self.request.user, obj)


class GroupMixin:
    queryset = UserGroup.objects.prefetch_related("policies")
    view_action = "iam:list"
    success_url_name = "iam:group-list"


class GroupList(GroupMixin, generic.ObjectListView):
    table_class = tables.GroupTable
    filterset_class = filters.GroupFilterSet
    title = gettext_lazy("User groups")
    create_url_name = "iam:group-add"
    create_action = "iam:create"

    def get_queryset(self):
        return super().get_queryset().annotate(member_count=Count("members"))


class GroupEdit(GroupMixin, generic.ObjectFormView):
    form_class = forms.GroupForm
    create_action, update_action = "iam:create", "iam:update"
    title_create, title_update = gettext_lazy("Create user group"), gettext_lazy("Edit user group")

    def save(self, form, obj):
        data = form.cleaned_data
        return services.save_group(self.request.user, obj, name=data["name"], description=data["description"],
                                   members=data["members"], policies=data["policies"])


class GroupDelete(GroupMixin, generic.ObjectDeleteView):
    delete_action = "iam:delete"
    warning = gettext_lazy("Members lose the permissions this group's policies gave them.")

    def delete(self, obj):
        services.delete_group(self.request.user, obj)


class PolicyMixin:
    queryset = Policy.objects.prefetch_related("projects", "iam_projects")
    view_action = "iam:list"
    success_url_name = "iam:policy-list"



class PolicyList(PolicyMixin, generic.ObjectListView):
    table_class = tables.PolicyTable
    filterset_class = filters.PolicyFilterSet
    title = gettext_lazy("Policies")
    create_url_name = "iam:policy-add"
    create_action = "iam:create"

    def visible(self, queryset):
        # System policies belong to no account and are listed for every account; only
        # custom policies can be opened for editing (the other views don't add these).
        return super().visible(queryset) | queryset.filter(account__isnull=True)


class PolicyEdit(PolicyMixin, generic.ObjectFormView):
    form_class = forms.PolicyForm
    create_action, update_action = "iam:create", "iam:update"
    title_create, title_update = gettext_lazy("Create custom policy"), gettext_lazy("Edit custom policy")
    template_name = "iam/policy_form.html"

    def save(self, form, obj):
        data = form.cleaned_data
        return services.save_policy(self.request.user, obj, name=data["name"], description=data["description"],
                                    actions=data["actions"], scope=data["scope"], instances=data["instances"],
                                    projects=data["projects"], iam_projects=data["iam_projects"])


class PolicyDelete(PolicyMixin, generic.ObjectDeleteView):
    delete_action = "iam:delete"
    warning = gettext_lazy("Groups with this policy lose the permissions it granted.")

    def delete(self, obj):
        services.delete_policy(self.request.user, obj)


class ProjectMixin:
    queryset = EnterpriseProject.objects.all()
    view_action = "iam:list"
    success_url_name = "iam:project-list"


class ProjectList(ProjectMixin, generic.ObjectListView):
    table_class = tables.ProjectTable
    filterset_class = filters.ProjectFilterSet
    title = gettext_lazy("Enterprise projects")
    create_url_name = "iam:project-add"
    create_action = "iam:create"


class ProjectEdit(ProjectMixin, generic.ObjectFormView):
    form_class = forms.ProjectForm
    create_action, update_action = "iam:create", "iam:update"
    title_create, title_update = gettext_lazy("Create enterprise project"), gettext_lazy("Edit enterprise project")

    def save(self, form, obj):
        return services.save_project(self.request.user, obj, **form.cleaned_data)


class ProjectDelete(ProjectMixin, generic.ObjectDeleteView):
    delete_action = "iam:delete"

    def delete(self, obj):
        services.delete_project(self.request.user, obj)


@iam_page("iam:list")
@login_required
def delegation(request):
    """R2.1: the one-time service delegation, authorised by the main account or an admin."""
    require(request.user, "iam:list")
    if request.method == "POST":
        services.authorize_delegation(request.user)
        messages.success(request, _("Service delegation authorised."))
        return redirect_next(request, "iam:delegation")
    current = ServiceDelegation.objects.filter(account=request.user.account).select_related("authorized_by").first()
    return render(request, "iam/delegation.html", {
        "delegation": current, "can_authorize": can(request.user, "iam:delegate"),
        "next": safe_next(request),
    })


@iam_page(AUTHENTICATED_ONLY)
@login_required
def verification(request):
    """Real-name verification: the main account submits, operators review in the admin."""
    if not request.user.is_main_account:
        raise PermissionDenied(_("Only the main account can submit real-name verification."))
    current = RealNameVerification.objects.filter(account=request.user.account).first()
    form = forms.VerificationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_verification(request.user, **form.cleaned_data)
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            messages.success(request, _("Submitted for review."))
            return redirect("iam:verification")
    return render(request, "iam/verification.html", {"verification": current, "form": form})


@iam_page(AUTHENTICATED_ONLY)
@login_required
def api_tokens(request):
    """The user's own API tokens; a new key is shown once."""
    form = forms.APITokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.issue_api_token(request.user, form.cleaned_data["name"],
                                                       form.cleaned_data["expires_at"])
        except ValidationError as error:
            generic.add_validation_error(form, error)
        else:
            # Shown once, after the redirect: a refresh neither issues another nor shows it again.
            show_once.keep(request, "api-token", new_key)
            return redirect("iam:api-tokens")
    return render(request, "iam/api_tokens.html",
                  {"form": form, "new_key": show_once.take(request, "api-token"),
                   "tokens": request.user.api_tokens.all()})


@iam_page(AUTHENTICATED_ONLY)
@login_required
@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(APIToken, pk=pk, user=request.user)
    services.revoke_api_token(request.user, token)
    messages.success(request, _("Token revoked."))
    return redirect("iam:api-tokens")
