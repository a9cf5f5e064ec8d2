"""Operators' billing admin (R8.1): effective-dated prices, per-region balance check,
accounts with their balances, top-ups (and adjustments, refunds) through the billing
service, usage records, frozen instances and the notices outbox. The ledger and the
usage records are read-only here: entries are only ever added."""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import notices, services, tasks
from .metering import BILLING_TZ
from .models import BillingAccount, FrozenInstance, LedgerEntry, Notice, Price, RegionBillingSettings, Settlement


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    """A price change is a new row effective from a given time; past hours keep the price
    they were settled at (it is copied onto each usage record)."""

    list_display = ("instance_type", "unit_price", "effective_from", "in_force")
    list_filter = ("instance_type",)

    @admin.display(description=_("in force now"), boolean=True)
    def in_force(self, price):
        current = (Price.objects.filter(instance_type=price.instance_type, effective_from__lte=timezone.now())
                   .order_by("-effective_from").values_list("pk", flat=True).first())
        return current == price.pk


@admin.register(RegionBillingSettings)
class RegionBillingSettingsAdmin(admin.ModelAdmin):
    list_display = ("region", "balance_check_enabled")
    list_editable = ("balance_check_enabled",)


class LedgerEntryForm(forms.ModelForm):
    kind = forms.ChoiceField(label=_("Type"), choices=[(k.value, k.label) for k in services.OPERATOR_KINDS])

    class Meta:
        model = LedgerEntry
        fields = ("account", "kind", "amount", "reference", "note")
        help_texts = {"amount": _("¥. Top-ups and refunds add to the balance; an adjustment may be negative."),
                      "reference": _("Unique per account, e.g. the payment's receipt number.")}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["amount"] = services.validate_entry(data["account"], data["kind"], data["amount"], data["reference"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Top up here: "Add ledger entry". Entries cannot be changed or deleted."""

    form = LedgerEntryForm
    list_display = ("created_at", "account", "kind", "amount", "balance_after", "reference", "actor_name")
    list_filter = ("kind", "account")
    search_fields = ("reference", "account__name", "note")
    date_hierarchy = "created_at"
    list_select_related = ("account",)

    def get_changeform_initial_data(self, request):
        return {"kind": LedgerEntry.Kind.TOP_UP, **super().get_changeform_initial_data(request)}

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """The billing service writes the entry (it locks the account, keeps the running
        balance and unfreezes an account that is paid up)."""
        data = form.cleaned_data
        entry = services.record_entry(request.user, data["account"], data["kind"], data["amount"],
                                      data["reference"], data.get("note", ""))
        obj.pk, obj.balance_after, obj.created_at = entry.pk, entry.balance_after, entry.created_at


class BalanceFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("arrears", _("In arrears (frozen)")), ("low", _("Low-balance warning sent"))]

    def queryset(self, request, queryset):
        if self.value() == "arrears":
            return queryset.filter(frozen_at__isnull=False)
        if self.value() == "low":
            return queryset.filter(low_balance_warned_at__isnull=False)
        return queryset


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("account", "balance", "frozen_at", "low_balance_warned_at", "notice_language", "top_up")
    list_filter = (BalanceFilter, "notice_language")
    search_fields = ("account__name",)
    fields = ("account", "balance", "frozen_at", "low_balance_warned_at", "notice_language")
    readonly_fields = ("account", "balance", "frozen_at", "low_balance_warned_at")

    def get_queryset(self, request):
        latest = LedgerEntry.objects.filter(account=OuterRef("account")).order_by("-id").values("balance_after")[:1]
        return super().get_queryset(request).select_related("account").annotate(current_balance=Subquery(latest))

    def has_add_permission(self, request):
        return False  # created with the account's first ledger entry

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("balance (¥)"), ordering="current_balance")
    def balance(self, state):
        value = getattr(state, "current_balance", None)
        value = value if value is not None else services.balance(state.account_id)
        return f"{value:.4f}"

    @admin.display(description=_("top up"))
    def top_up(self, state):
        url = reverse("admin:billing_ledgerentry_add") + f"?account={state.account_id}&kind=top_up"
        return format_html('<a href="{}">{}</a>', url, _("Top up"))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ("hour", "account", "instance_name", "instance_type", "billable", "vcpu", "unit_price", "amount")
    list_filter = ("instance_type", "billable", "account")
    search_fields = ("instance_name", "account__name")
    list_select_related = ("account",)

    @admin.display(description=_("hour (UTC+8)"), ordering="hour_start")
    def hour(self, settlement):
        return settlement.hour_start.astimezone(BILLING_TZ).strftime("%Y-%m-%d %H:00")


@admin.register(FrozenInstance)
class FrozenInstanceAdmin(ReadOnlyAdmin):
    list_display = ("account", "instance_kind", "instance_name", "previous_status", "frozen_at")
    list_filter = ("instance_kind",)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    """The notices outbox: what was sent to whom, and what is still being retried."""

    list_display = ("created_at", "account", "kind", "channel", "recipient", "language", "status", "attempts",
                    "sent_at")
    list_filter = ("status", "channel", "kind", "language")
    search_fields = ("account__name", "recipient")
    list_select_related = ("account",)
    actions = ["retry_now"]

    @admin.action(description=_("Send the selected failed notices again"))
    def retry_now(self, request, queryset):
        count = notices.retry(queryset)
        tasks.send_notices()
        messages.success(request, _("%(count)d notice(s) queued again.") % {"count": count})
