from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Account, APIToken, EnterpriseProject, Policy, RealNameVerification, Region, ServiceDelegation, User, UserGroup


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "is_default", "sort_order")
    list_editable = ("is_default", "sort_order")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "contact_email", "contact_phone", "created_at")
    search_fields = ("name", "owner__username", "contact_email")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "account", "email", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "account")
    fieldsets = BaseUserAdmin.fieldsets + ((_("Tenancy"), {"fields": ("account", "phone", "current_region")}),)


@admin.register(EnterpriseProject)
class EnterpriseProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "description", "created_at")
    list_filter = ("account",)


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "scope", "created_at")
    list_filter = ("scope",)
    search_fields = ("name",)


@admin.register(UserGroup)
class UserGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "description")
    filter_horizontal = ("members", "policies")


@admin.register(ServiceDelegation)
class ServiceDelegationAdmin(admin.ModelAdmin):
    list_display = ("account", "role_name", "authorized_by", "authorized_at")
    readonly_fields = ("account", "role_name", "authorized_by", "authorized_at")


@admin.register(RealNameVerification)
class RealNameVerificationAdmin(admin.ModelAdmin):
    list_display = ("account", "real_name", "status", "submitted_at", "reviewed_by", "reviewed_at")
    list_filter = ("status",)
    readonly_fields = ("account", "submitted_by", "submitted_at", "reviewed_by", "reviewed_at")
    actions = ["approve", "reject"]

    @admin.action(description=_("Approve selected verifications"))
    def approve(self, request, queryset):
        for verification in queryset:
            services.review_verification(request.user, verification, approve=True)
        messages.success(request, _("Approved."))

    @admin.action(description=_("Reject selected verifications"))
    def reject(self, request, queryset):
        for verification in queryset:
            services.review_verification(request.user, verification, approve=False,
                                         reason=str(_("Rejected by an operator.")))
        messages.success(request, _("Rejected."))


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "hint", "created_at", "expires_at", "last_used_at")
    readonly_fields = ("user", "name", "hint", "key_hash", "created_at", "last_used_at")
