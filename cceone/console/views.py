"""Generic console views: one list, one form and one delete view serve every model.

A model's pages are a few attributes: the queryset, the IAM actions, the table, the
filterset, the form and the service function that performs the write. Lookups go
through `iam.restrict`, so another tenant's object is a 404 and a forbidden one a 403.
"""
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django_tables2 import RequestConfig

from cceone.iam.access import can, get_or_deny, require, restrict


def add_validation_error(form, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: field errors on fields, the rest on top."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class ObjectMixin(LoginRequiredMixin):
    queryset = None
    view_action: str = ""  # the action that makes an object visible at all
    iam_action_attributes = ("view_action",)

    @classmethod
    def iam_declared_actions(cls) -> tuple[str, ...]:
        """The IAM actions this page checks (cceone.iam.routes): its configured ones."""
        return tuple(getattr(cls, name) for name in cls.iam_action_attributes if getattr(cls, name))

    def get_queryset(self):
        return self.queryset.all()

    def visible(self, queryset):
        return restrict(queryset, self.request.user, self.view_action)

    def get_object(self) -> Model:
        """The object named in the URL: 404 unless it is in the user's account, 403 (audited)
        unless the user may see it."""
        return get_or_deny(self.get_queryset(), self.request.user, self.kwargs["pk"], self.view_action)


class ObjectListView(ObjectMixin, View):
    table_class = None
    filterset_class = None
    title = ""
    create_url_name: str | None = None
    create_action: str | None = None
    create_label = ""  # the create button's label ("Create" without one)
    per_page = 20
    template_name = "components/object_list.html"
    partial_template_name = "components/object_table.html"

    def get_context_extra(self) -> dict:
        return {}

    def empty_state(self, filterset, can_create: bool) -> dict | None:
        """What an empty list says to do next: {"message", "links": [(label, url)]}."""
        return None

    def may_create(self) -> bool:
        """Whether the create button shows: `create_action` granted (a view whose form picks
        the instance to act on may answer for grants on some instance)."""
        return bool(self.create_action) and can(self.request.user, self.create_action)

    def get(self, request, *args, **kwargs):
        require(request.user, self.view_action)
        queryset = self.visible(self.get_queryset())
        filterset = None
        if self.filterset_class is not None:
            filterset = self.filterset_class(request.GET or None, queryset=queryset, request=request)
            queryset = filterset.qs
        table = self.table_class(queryset, request=request)
        RequestConfig(request, paginate={"per_page": self.per_page}).configure(table)
        can_create = self.may_create()
        context = {
            "title": self.title,
            "table": table,
            "filter": filterset,
            "create_url": reverse(self.create_url_name) if self.create_url_name else None,
            "can_create": can_create,
            "create_label": self.create_label,
            "empty_state": self.empty_state(filterset, can_create) if not table.paginator.count else None,
            **self.get_context_extra(),
        }
        partial = request.htmx and request.htmx.target == "object-table"
        return render(request, self.partial_template_name if partial else self.template_name, context)


class ObjectFormView(ObjectMixin, View):
    """Add (no pk in the URL) or edit an object through a service function.

    Subclasses set `form_class`, `create_action`/`update_action`, `success_url_name` and
    define `save(form, obj) -> obj`, which calls the owning service.
    """

    form_class = None
    create_action = ""
    update_action = ""
    iam_action_attributes = ("create_action", "update_action")
    success_url_name = ""
    title_create = ""
    title_update = ""
    template_name = "components/object_form.html"

    def get_form(self, obj, data=None):
        return self.form_class(data, instance=obj, account=self.request.user.account)

    def _object(self):
        return self.get_object() if "pk" in self.kwargs else None

    def _render(self, form, obj, status=200):
        title = self.title_update if obj else self.title_create
        return render(self.request, self.template_name,
                      {"form": form, "object": obj, "title": title,
                       "cancel_url": reverse(self.success_url_name)}, status=status)

    def get(self, request, *args, **kwargs):
        obj = self._object()
        require(request.user, self.update_action if obj else self.create_action, obj)
        return self._render(self.get_form(obj), obj)

    def post(self, request, *args, **kwargs):
        obj = self._object()
        require(request.user, self.update_action if obj else self.create_action, obj)
        form = self.get_form(obj, request.POST)
        if form.is_valid():
            try:
                saved = self.save(form, obj)
            except ValidationError as error:
                add_validation_error(form, error)
            else:
                messages.success(request, _("Saved “%(name)s”.") % {"name": saved})
                return self.success(saved)
        return self._render(form, obj, status=422 if request.htmx else 200)

    def success(self, obj):
        return redirect(self.success_url_name)


class ObjectDeleteView(ObjectMixin, View):
    """Confirm, then delete through the service function the subclass defines as `delete(obj)`."""

    delete_action = ""
    success_url_name = ""
    template_name = "components/object_delete.html"
    iam_action_attributes = ("view_action", "delete_action")
    warning = ""

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        require(request.user, self.delete_action, obj)
        return render(request, self.template_name,
                      {"object": obj, "warning": self.warning, "cancel_url": reverse(self.success_url_name)})

    def post(self, request, *args, **kwargs):
        obj = self.get_object()
        require(request.user, self.delete_action, obj)
        name = str(obj)
        try:
            self.delete(obj)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return HttpResponseRedirect(request.path)
        messages.success(request, _("Deleted “%(name)s”.") % {"name": name})
        return redirect(self.success_url_name)
