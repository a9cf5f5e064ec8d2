"""Operations pages: diagnoses (R3.10) and inspections (R3.11), their schedules, waivers and
trends. Thin: every write calls operations.services; lookups go through iam.access."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cceone.console import views as generic
from cceone.console.views import add_validation_error
from cceone.iam.access import can, get_or_deny, require, restrict
from cceone.iam.routes import iam_page
from clusters.models import RegisteredCluster
from resources import registry

from . import forms, schedules, services, trends
from .filters import DiagnosisFilterSet, InspectionFilterSet
from .findings import ABNORMAL, translate
from .inspection import CHECKS
from .models import Diagnosis, Inspection, InspectionSchedule, Waiver
from .tables import DiagnosisTable, InspectionTable, WaiverTable

VIEW = "clusters:get"


# --- the object page's button (registered in apps.py) --------------------------------------------

def diagnose_button_url(target, kind, obj):
    meta = obj.get("metadata") or {}
    query = {"cluster": target.id, "kind": kind.plural, "name": meta.get("name", "")}
    if meta.get("namespace"):
        query["namespace"] = meta["namespace"]
    return f"{reverse('operations:diagnosis-new')}?{urlencode(query)}"


def diagnose_button_allowed(user, target) -> bool:
    return target.type.name == "cluster" and can(user, services.DIAGNOSE, target.obj)


# --- diagnoses ----------------------------------------------------------------------------------

LIST = "clusters:list"


class RunListMixin:
    view_action = LIST
    per_page = 20
    template_name = "operations/list.html"

    def get_queryset(self):
        return super().get_queryset().select_related("cluster", "requested_by")


class DiagnosisList(RunListMixin, generic.ObjectListView):
    queryset = Diagnosis.objects.all()
    table_class = DiagnosisTable
    filterset_class = DiagnosisFilterSet
    title = gettext_lazy("Fault diagnosis")
    create_url_name = "operations:diagnosis-new"
    create_action = services.DIAGNOSE
    create_label = gettext_lazy("New diagnosis")

    def may_create(self) -> bool:
        # A grant on one cluster opens the form too (it offers only that cluster).
        return services.may_somewhere(self.request.user, services.DIAGNOSE)

    def get_context_extra(self):
        return {"tab": "diagnoses"}

    def empty_state(self, filterset, can_create):
        if can_create:
            return {"message": _("No diagnoses yet. Diagnose a Pod, Node, Service or Ingress from its page, or "
                                 "start one here."),
                    "links": [(_("New diagnosis"), reverse("operations:diagnosis-new"))]}
        return {"message": _("No diagnoses yet."), "links": []}


@iam_page(services.DIAGNOSE)
@login_required
def diagnosis_new(request):
    # Whoever may diagnose some cluster (account-wide, or by a policy scoped to clusters)
    # opens the form; it offers those clusters, and the chosen one is checked again.
    services.require_somewhere(request.user, services.DIAGNOSE)
    clusters = services.clusters_for(request.user, services.DIAGNOSE)
    if request.method == "POST":
        # The object page's button posts its query; the form posts its fields.
        data = request.GET.copy()
        data.update(request.POST)
        form = forms.DiagnosisForm(data, clusters=clusters)
        if form.is_valid():
            cluster = get_or_deny(RegisteredCluster.objects.all(), request.user, form.cleaned_data["cluster"].pk,
                                  services.DIAGNOSE)
            try:
                diagnosis = services.start_diagnosis(request.user, cluster, form.cleaned_data["kind"],
                                                     form.cleaned_data["namespace"], form.cleaned_data["name"])
            except ValidationError as error:
                add_validation_error(form, error)
            else:
                return redirect("operations:diagnosis", pk=diagnosis.pk)
        status = 400
    else:
        form = forms.DiagnosisForm(initial=request.GET.dict(), clusters=clusters)
        status = 200
    return render(request, "operations/diagnosis_new.html", {"form": form, "tab": "diagnoses"}, status=status)


def _log_url(diagnosis, params: dict | None) -> str | None:
    """The log viewer at the container (and instance) a finding about logs quotes."""
    if diagnosis.kind != Diagnosis.Kind.POD or not (params or {}).get("container") or "previous" not in params:
        return None
    url = reverse("resources:logs", kwargs={"target_type": "cluster", "target_id": diagnosis.cluster_id,
                                            "kind": "pods", "namespace": diagnosis.namespace, "name": diagnosis.name})
    query = {"container": params["container"], "tail": 100, **({"previous": "on"} if params["previous"] else {})}
    return f"{url}?{urlencode(query)}"


def _results(diagnosis):
    confirmations = {c.check_id: c for c in diagnosis.confirmations.all()}
    rows = []
    for entry in diagnosis.results:
        rows.append({**entry, "title_text": translate(entry["title"], None),
                     "remedy_text": translate(entry["remedy"], None),
                     "messages": [{"text": translate(f["message"], f.get("params")), "evidence": f.get("evidence", []),
                                   "log_url": _log_url(diagnosis, f.get("params"))}
                                  for f in entry.get("findings", [])],
                     "confirmation": confirmations.get(entry["check"])})
    order = {ABNORMAL: 0, "unknown": 1, "normal": 2}
    return sorted(rows, key=lambda r: order.get(r["status"], 3))


def _console_url(cluster, plural, namespace, name):
    kwargs = {"target_type": "cluster", "target_id": cluster.pk, "kind": plural, "name": name}
    if namespace:
        kwargs["namespace"] = namespace
    return reverse("resources:detail", kwargs=kwargs)


@iam_page(VIEW)
@login_required
def diagnosis_detail(request, pk):
    diagnosis = get_or_deny(Diagnosis.objects.select_related("cluster", "requested_by"), request.user, pk, VIEW)
    context = {"run": diagnosis, "diagnosis": diagnosis, "tab": "diagnoses",
               "can_confirm": can(request.user, services.DIAGNOSE, diagnosis.cluster)}
    if request.htmx and request.GET.get("progress"):
        if not diagnosis.is_active:
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        return render(request, "operations/partials/progress.html", context)
    context["results"] = _results(diagnosis)
    context["object_url"] = _console_url(diagnosis.cluster, diagnosis.kind, diagnosis.namespace, diagnosis.name)
    return render(request, "operations/diagnosis_detail.html", context)


@iam_page(services.DIAGNOSE)
@login_required
@require_POST
def diagnosis_confirm(request, pk):
    diagnosis = get_or_deny(Diagnosis.objects.select_related("cluster"), request.user, pk, VIEW, services.DIAGNOSE)
    form = forms.ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the item to confirm."))
        return redirect("operations:diagnosis", pk=diagnosis.pk)
    try:
        services.confirm_item(request.user, diagnosis, form.cleaned_data["check"], form.cleaned_data["note"])
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Item confirmed."))
    return redirect("operations:diagnosis", pk=diagnosis.pk)


# --- inspections --------------------------------------------------------------------------------

class InspectionList(RunListMixin, generic.ObjectListView):
    queryset = Inspection.objects.all()
    table_class = InspectionTable
    filterset_class = InspectionFilterSet
    title = gettext_lazy("Cluster inspection")

    def get_context_extra(self):
        clusters = restrict(RegisteredCluster.objects.exclude(status="unsubscribed"), self.request.user, LIST)
        return {"tab": "inspections", "clusters": clusters.order_by("name")[:50]}

    def empty_state(self, filterset, can_create):
        return {"message": _("No inspections yet. Open a cluster below to run one now or to schedule it."),
                "links": []}


def _finding_rows(inspection, user):
    rows = []
    may_waive = can(user, services.CONFIGURE, inspection.cluster)
    new = set((inspection.diff or {}).get("new", []))
    from .inspection.runner import key

    for finding in inspection.findings:
        check = CHECKS.get(finding["check"])
        kind = registry.by_kind_name(finding.get("kind", ""))
        url = None
        if kind is not None and finding.get("name") and kind.namespaced == bool(finding.get("namespace")):
            url = _console_url(inspection.cluster, kind.plural, finding.get("namespace"), finding["name"])
        waive_url = None
        if may_waive and not finding.get("waived"):
            waive_url = reverse("operations:waiver-new", args=[inspection.cluster_id]) + "?" + urlencode({
                "check_id": finding["check"], "namespace": finding.get("namespace", ""),
                "kind": finding.get("kind", ""), "name": finding.get("name", "")})
        rows.append({**finding, "title": translate(check.title, None) if check else finding["check"],
                     "remedy": translate(check.remedy, None) if check else "",
                     "text": translate(finding["message"], finding.get("params")), "url": url,
                     "waive_url": waive_url, "is_new": key(finding) in new})
    rank = {"critical": 0, "warning": 1, "info": 2}
    return sorted(rows, key=lambda r: (bool(r.get("waived")), rank.get(r["severity"], 3), r["namespace"], r["name"]))


@iam_page(VIEW)
@login_required
def inspection_detail(request, pk):
    inspection = get_or_deny(Inspection.objects.select_related("cluster", "requested_by"), request.user, pk, VIEW)
    context = {"run": inspection, "inspection": inspection, "tab": "inspections"}
    if request.htmx and request.GET.get("progress"):
        if not inspection.is_active:
            response = HttpResponse()
            response["HX-Refresh"] = "true"
            return response
        return render(request, "operations/partials/progress.html", context)
    context["findings"] = _finding_rows(inspection, request.user)
    context["notes"] = [{"check": n["check"], "text": translate(n["message"], n.get("params"))}
                        for n in inspection.notes]
    context["fixed"] = [k.split("|") for k in (inspection.diff or {}).get("fixed", [])]
    return render(request, "operations/inspection_detail.html", context)


def _cluster(request, pk, *actions):
    return get_or_deny(RegisteredCluster.objects.select_related("account"), request.user, pk, VIEW, *actions)


@iam_page(VIEW)
@login_required
def cluster_operations(request, pk):
    cluster = _cluster(request, pk)
    schedule = InspectionSchedule.objects.filter(cluster=cluster).first()
    now = timezone.now()
    return render(request, "operations/cluster.html", {
        "cluster": cluster, "tab": "inspections", "schedule": schedule,
        "schedule_words": schedules.describe(schedule) if schedule else "",
        "inspections": Inspection.objects.filter(cluster=cluster).select_related("requested_by")[:10],
        "waivers": Waiver.objects.filter(cluster=cluster).select_related("created_by")[:50], "now": now,
        "chart": trends.chart(trends.cluster_series([cluster]), _("No completed inspections yet.")),
        "can_inspect": can(request.user, services.INSPECT, cluster),
        "can_configure": can(request.user, services.CONFIGURE, cluster)})


@iam_page(services.INSPECT)
@login_required
@require_POST
def inspection_run(request, pk):
    cluster = _cluster(request, pk, services.INSPECT)
    try:
        inspection = services.start_inspection(request.user, cluster)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("operations:cluster", pk=cluster.pk)
    return redirect("operations:inspection", pk=inspection.pk)


@iam_page(services.CONFIGURE)
@login_required
def schedule_edit(request, pk):
    cluster = _cluster(request, pk, services.CONFIGURE)
    schedule = InspectionSchedule.objects.filter(cluster=cluster).first()
    status = 200
    if request.method == "POST":
        form = forms.ScheduleForm(request.POST)
        if form.is_valid():
            values = {k: v for k, v in form.cleaned_data.items() if k not in ("enabled", "acknowledged")}
            try:
                saved = services.save_schedule(request.user, cluster, values, form.cleaned_data["enabled"])
            except ValidationError as error:
                add_validation_error(form, error)
            else:
                messages.success(request, _("Inspections run %(words)s.") % {"words": schedules.describe(saved)})
                return redirect("operations:cluster", pk=cluster.pk)
        status = 400
    else:
        initial = {f: getattr(schedule, f) for f in (*schedules.FIELDS, "timezone", "enabled")} if schedule else None
        form = forms.ScheduleForm(initial=initial)
    return render(request, "operations/schedule_form.html",
                  {"cluster": cluster, "form": form, "schedule": schedule, "tab": "inspections"}, status=status)


@iam_page(services.CONFIGURE)
@login_required
@require_POST
def schedule_delete(request, pk):
    cluster = _cluster(request, pk, services.CONFIGURE)
    schedule = InspectionSchedule.objects.filter(cluster=cluster).first()
    if schedule is not None:
        services.delete_schedule(request.user, schedule)
        messages.success(request, _("The inspection schedule was deleted."))
    return redirect("operations:cluster", pk=cluster.pk)


# --- waivers ------------------------------------------------------------------------------------

class WaiverList(generic.ObjectListView):
    queryset = Waiver.objects.select_related("cluster", "created_by")
    view_action = LIST
    table_class = WaiverTable
    title = gettext_lazy("Waivers")
    template_name = "operations/list.html"

    def get_context_extra(self):
        return {"tab": "waivers", "now": timezone.now()}

    def empty_state(self, filterset, can_create):
        return {"message": _("No waivers. Waive a finding from an inspection report."), "links": []}


@iam_page(services.CONFIGURE)
@login_required
def waiver_new(request, pk):
    cluster = _cluster(request, pk, services.CONFIGURE)
    status = 200
    if request.method == "POST":
        form = forms.WaiverForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.create_waiver(request.user, cluster, check_id=data["check_id"], namespace=data["namespace"],
                                       kind=data["kind"], name=data["name"], reason=data["reason"],
                                       expires_at=data["expires_at"])
            except ValidationError as error:
                add_validation_error(form, error)
            else:
                messages.success(request, _("The finding is waived until %(date)s.")
                                 % {"date": timezone.localtime(data["expires_at"]).strftime("%Y-%m-%d %H:%M")})
                return redirect("operations:cluster", pk=cluster.pk)
        status = 400
    else:
        initial = request.GET.dict()
        initial.setdefault("expires_at", (timezone.localtime() + timezone.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"))
        form = forms.WaiverForm(initial=initial)
    return render(request, "operations/waiver_form.html", {"cluster": cluster, "form": form, "tab": "waivers"},
                  status=status)


@iam_page(services.CONFIGURE)
@login_required
@require_POST
def waiver_revoke(request, pk):
    waiver = get_or_deny(Waiver.objects.select_related("cluster"), request.user, pk, VIEW, services.CONFIGURE)
    if waiver.revoked_at is None:
        services.revoke_waiver(request.user, waiver)
        messages.success(request, _("The waiver was revoked."))
    return redirect("operations:cluster", pk=waiver.cluster_id)


# --- trends -------------------------------------------------------------------------------------

@iam_page(LIST)
@login_required
def trend_chart(request):
    require(request.user, LIST)
    scores = trends.scores(request.user, request.GET.get("fleet", ""))
    cluster_series = {c["name"]: c["points"] for c in scores.clusters}
    fleet_series = {f["name"]: f["points"] for f in scores.fleets}
    fleet_rows = [{**next(f for f in scores.fleets if f["name"] == row["name"]), **row}
                  for row in trends.summary(fleet_series)]
    cluster_rows = [{**next(c for c in scores.clusters if c["name"] == row["name"]), **row}
                    for row in trends.summary(cluster_series)]
    return render(request, "operations/trends.html", {
        "tab": "trends", "chosen": scores.fleet,
        "fleet_chart": trends.chart(fleet_series, _("No fleet has a completed inspection yet."), "fleet-trend-chart",
                                    "fleet"),
        "fleet_rows": fleet_rows, "cluster_rows": cluster_rows,
        "chart": trends.chart(cluster_series, _("No completed inspections yet."))})
