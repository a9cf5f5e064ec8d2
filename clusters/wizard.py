"""The order wizard shared by every billed instance (registered clusters R3.2, federations R5.1).

Step 1 (configure) → step 2 (confirm: configuration, price in force, dependency checks from
`checks` with a re-check each, agreement) → submit, then a redirect. The server validates at
every step through the instance's service; HTMX swaps the step, and without HTMX each step is
a whole page. A subclass names its form, its service calls and its templates.
"""
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from cceone.console.views import add_validation_error
from cceone.iam.access import require

from . import checks, pricing, services

CONFIGURE = "components/order/configure.html"
CONFIRM = "components/order/confirm.html"
CHECK_ROW = "components/order/check_row.html"


class OrderWizard:
    kind = ""  # the dependency checks' kind: "cluster", "federation"
    create_action = ""  # the IAM action an order needs
    page_template = ""  # the page around the steps (its header, the gates)
    summary_template = ""  # the instance's rows in the confirmation's configuration
    list_url_name = ""  # where a placed order goes, and Cancel

    def __init__(self, request, **kwargs):
        self.request, self.kwargs = request, kwargs

    # --- what a subclass defines ---------------------------------------------------------

    def form(self, data):
        raise NotImplementedError

    def order_url(self) -> str:
        raise NotImplementedError

    def product_label(self, order) -> str:
        raise NotImplementedError

    def validate(self, order) -> None:
        raise NotImplementedError

    def place(self, order, agreed: bool):
        raise NotImplementedError

    def placed_message(self, instance) -> str:
        raise NotImplementedError

    def context(self) -> dict:
        return {}

    # --- the steps -------------------------------------------------------------------------

    @classmethod
    def view(cls, request, **kwargs):
        return cls(request, **kwargs).dispatch()

    def dispatch(self):
        request = self.request
        require(request.user, self.create_action)
        account = request.user.account
        context = {"region": request.region, "gates": services.gates(account), "order_url": self.order_url(),
                   "cancel_url": reverse(self.list_url_name), "summary_template": self.summary_template,
                   **self.context()}
        if context["gates"]:
            return render(request, self.page_template, context)
        step = request.POST.get("step", "configure")
        form = self.form(request.POST if request.method == "POST" else None)
        context["form"] = form
        if request.method != "POST" or step == "reload" or not form.is_valid():
            return self._step(CONFIGURE, context)
        order = form.order()
        try:
            self.validate(order)
        except ValidationError as error:
            add_validation_error(form, error)
            return self._step(CONFIGURE, context)
        context.update({"order": order, "product_label": self.product_label(order),
                        "price": pricing.unit_price(order.instance_type),
                        "checks": checks.run_all(self.kind, account, order)})
        if step == "submit":
            try:
                instance = self.place(order, agreed=request.POST.get("agreed") == "on")
            except ValidationError as error:
                context["errors"] = error.messages
                return self._step(CONFIRM, context)
            messages.success(request, self.placed_message(instance))
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = reverse(self.list_url_name)
                return response
            return redirect(self.list_url_name)
        if step == "recheck":
            key = request.POST.get("check", "")
            if key not in {c.key for c in checks.checks_for(self.kind)}:
                raise Http404
            return render(request, CHECK_ROW, {"check": checks.run_one(key, account, order)})
        return self._step(CONFIRM, context)

    def _step(self, partial, context):
        if self.request.htmx:
            return render(self.request, partial, context)
        context["step_template"] = partial
        return render(self.request, self.page_template, context)
