"""Generic resource pages: one list, detail, create, edit, delete view (and the actions
of workloads, pods, secrets and nodes) serve every kind of the registry on every
target type. Each request resolves the target (IAM, status), then talks to it as the
user through the gateway; writes go through `services`. A Kubernetes refusal is shown
with the gateway's explanation, never as a stack trace."""
import copy
import queue
import re
import threading
import time
from urllib.parse import urlencode

import yaml
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from cceone.kube.gateway import KubeError

from . import registry, related, services
from .forms import CREATE_FORMS, LabelsForm, LogOptionsForm, TaintForm, YamlForm
from .formatting import meta, spec, status
from .kube import Api
from .models import NodeDrain
from .tables import build_table, status_badge
from .targets import Unavailable, all_types, resolve

DEFAULT_LIMIT = 100
LIMITS = (20, 50, 100, 200, 500)
ALL = ""  # the namespace filter's "all namespaces"


def object_url(target, kind, namespace, name, action="detail", **query) -> str:
    kwargs = {"target_type": target.type.name, "target_id": target.id, "kind": kind.plural, "name": name}
    if kind.namespaced:
        kwargs["namespace"] = namespace
    url = reverse(f"resources:{action}", kwargs=kwargs)
    return f"{url}?{urlencode(query)}" if query else url


def list_url(target, kind, **query) -> str:
    url = reverse("resources:list", kwargs={"target_type": target.type.name, "target_id": target.id,
                                            "kind": kind.plural})
    query = {k: v for k, v in query.items() if v is not None}
    return f"{url}?{urlencode(query)}" if query else url


def editable_yaml(obj: dict) -> str:
    """The object as the editor shows it: no managedFields, no status (not writable here)."""
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("managedFields", None)
    obj.pop("status", None)
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True)


def viewable_yaml(obj: dict, kind) -> str:
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("managedFields", None)
    if kind.plural == "secrets":  # values only through the audited reveal
        obj["data"] = {key: "<hidden>" for key in obj.get("data") or {}}
        obj.pop("stringData", None)
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True)


class ResourceView(LoginRequiredMixin, View):
    """Resolves the target, the kind and the object named in the URL for every page."""

    only_kinds: tuple[str, ...] = ()  # the kinds a kind-specific page (logs, drain …) exists for

    @classmethod
    def iam_declared_actions(cls) -> tuple[str, ...]:
        """cceone.iam.routes: opening a target's console (`resolve`) checks its type's action;
        what the user may then do in it is Kubernetes RBAC, through their own identity."""
        return tuple(sorted({target_type.iam_action for target_type in all_types()}))

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        try:
            self.target = resolve(kwargs["target_type"], request.user, kwargs["target_id"])
        except Unavailable as error:
            return self.unavailable(error)
        self.kind = registry.get(kwargs["kind"]) if kwargs.get("kind") else None
        if self.kind is not None:
            if not self.target.serves(self.kind) or (self.only_kinds and self.kind.plural not in self.only_kinds):
                raise Http404
            if "name" in kwargs and self.kind.namespaced != ("namespace" in kwargs):
                raise Http404
        self.namespace, self.name = kwargs.get("namespace"), kwargs.get("name")
        self.api = Api(self.target.obj, request.user)
        try:
            return super().dispatch(request, *args, **kwargs)
        except KubeError as error:
            return self.kube_error(error)

    # --- rendering --------------------------------------------------------------------------

    def base_context(self) -> dict:
        target, kind = self.target, self.kind
        section = kind.nav_section if kind else "overview"
        kinds = [k for k in registry.in_section(section) if target.serves(k)] if kind else []
        return {
            target.type.context_name: target.obj, "target": target, "header_template": target.type.header_template,
            "page": section, "kind": kind, "section_kinds": [(k, list_url(target, k)) for k in kinds],
            "namespace": self.namespace, "name": self.name,
            "list_url": list_url(target, kind) if kind else None,
        }

    def render(self, template, context=None, status=200):
        return render(self.request, template, {**self.base_context(), **(context or {})}, status=status)

    def unavailable(self, error: Unavailable):
        target = resolve(self.kwargs["target_type"], self.request.user, self.kwargs["target_id"], check_status=False)
        kind = registry.get(self.kwargs["kind"]) if self.kwargs.get("kind") else None
        context = {target.type.context_name: target.obj, "target": target, "page": kind.nav_section if kind else "",
                   "header_template": target.type.header_template, "error": error}
        return render(self.request, "resources/unavailable.html", context, status=error.status)

    def kube_error(self, error: KubeError):
        code = error.status if error.status in (400, 403, 404, 409, 410, 422) else 502
        return self.render("resources/error.html", {"error": error}, status=code)

    def object_context(self) -> dict:
        return {"detail_url": object_url(self.target, self.kind, self.namespace, self.name)}

    def redirect_detail(self, **query):
        return redirect(object_url(self.target, self.kind, self.namespace, self.name, **query))


# --- list ---------------------------------------------------------------------------------

def _namespaces(request, api, target) -> list[str] | None:
    """The namespaces the user may list (None: not allowed), cached briefly per user."""
    key = f"k8s-namespaces:{target.type.name}:{target.id}:{request.user.pk}"
    names = cache.get(key)
    if names is None:
        try:
            names = sorted(meta(n)["name"] for n in api.list_all(registry.get("namespaces"), cap=5000))
        except KubeError:
            names = False
        cache.set(key, names, 30)
    return names or None


def forget_namespaces(request, target) -> None:
    cache.delete(f"k8s-namespaces:{target.type.name}:{target.id}:{request.user.pk}")


def _event_page(api, kind, namespace, selector, limit, token, event_type):
    """Events, warnings first: the Warning list is paged through before the others. The
    page token says which of the two lists the Kubernetes continue token belongs to."""
    phases = {"Warning": ["w"], "Normal": ["n"]}.get(event_type, ["w", "n"])
    fields = {"w": "type=Warning", "n": "type!=Warning"}
    phase, _sep, cont = (token or f"{phases[0]}:").partition(":")
    if phase not in phases:
        phase, cont = phases[0], ""
    items, next_token = [], None
    while True:
        page = api.list(kind, namespace, label_selector=selector, field_selector=fields[phase],
                        limit=limit - len(items), cont=cont or None)
        items += related.sort_events(page.get("items") or [])
        cont = (page.get("metadata") or {}).get("continue")
        later = phases[phases.index(phase) + 1:]
        if cont:
            next_token = f"{phase}:{cont}"
            break
        if not later:
            break
        phase, cont = later[0], ""
        if len(items) >= limit:
            next_token = f"{phase}:"
            break
    return items, next_token, None


class ResourceList(ResourceView):
    def get(self, request, **kwargs):
        kind, target = self.kind, self.target
        query = request.GET
        session_key = f"k8s-namespace:{target.type.name}:{target.id}"
        if kind.namespaced:
            if "namespace" in query:
                namespace = query.get("namespace", ALL).strip()
                if request.session.get(session_key) != namespace:  # remembered for the target's other lists
                    request.session[session_key] = namespace
            else:
                namespace = request.session.get(session_key, ALL)
        else:
            namespace = ALL
        selector = query.get("labelSelector", "").strip()
        event_type = query.get("type", "") if kind.plural == "events" else ""
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError:
            limit = DEFAULT_LIMIT
        limit = limit if limit in LIMITS else DEFAULT_LIMIT
        token = query.get("continue") or None
        try:
            page_number = max(1, int(query.get("page", 1)))
        except ValueError:
            page_number = 1
        context = {"selector": selector, "limit": limit, "limits": LIMITS, "selected_namespace": namespace,
                   "event_type": event_type, "page_number": page_number,
                   "create_url": reverse("resources:create", kwargs={"target_type": target.type.name,
                                                                      "target_id": target.id, "kind": kind.plural}),
                   "can_create": kind.creatable}
        if kind.namespaced:
            context["namespaces"] = _namespaces(request, self.api, target)
        error = None
        items, next_token, remaining = [], None, None
        try:
            if kind.plural == "events":
                items, next_token, remaining = _event_page(self.api, kind, namespace or None, selector, limit, token,
                                                           event_type)
            else:
                page = self.api.list(kind, namespace or None, label_selector=selector or None, limit=limit,
                                     cont=token)
                items = page.get("items") or []
                next_token = (page.get("metadata") or {}).get("continue")
                remaining = (page.get("metadata") or {}).get("remainingItemCount")
        except KubeError as failure:
            error = failure
            if failure.status == 410:
                error.message = _("The list changed too much since the first page was read; start again from "
                                  "the first page.")
        list_context = kind.list_context(self.api, items) if kind.list_context and items else {}
        table = build_table(target, kind, items, list_context, show_namespace=not namespace, html_id="resource-table")
        params = {"namespace": namespace, "labelSelector": selector, "limit": limit}
        if event_type:
            params["type"] = event_type
        context.update({
            "table": table, "error": error, "count": len(items), "remaining": remaining,
            "next_url": list_url(target, kind, **params, page=page_number + 1, **{"continue": next_token})
            if next_token else None,
            "first_url": list_url(target, kind, **params) if token else None,
            "refresh_url": request.get_full_path(),
        })
        code = (error.status if error.status in (400, 403, 404, 410) else 502) if error else 200
        if request.htmx and request.htmx.target == "resource-list":
            # HTMX swaps only 2xx answers: the partial carries the error message itself.
            return self.render("resources/partials/list_body.html", context)
        return self.render("resources/list.html", context, status=code)


# --- detail -------------------------------------------------------------------------------

class ResourceDetail(ResourceView):
    def get(self, request, **kwargs):
        obj = self.api.get(self.kind, self.name, self.namespace)
        return self.render("resources/detail.html", self.detail_context(obj, request.GET.get("tab", "overview")))

    def detail_context(self, obj, tab="overview", **extra) -> dict:
        kind = self.kind
        context = {
            **self.object_context(), "obj": obj, "tab": tab, "meta": meta(obj),
            "status_badge": status_badge(*kind.status(obj)) if kind.show_status else "",
            "owners": [(ref, self.owner_kind(ref)) for ref in meta(obj).get("ownerReferences") or []],
            "replicas": spec(obj).get("replicas", 1), **extra,
        }
        if tab == "yaml":
            context["yaml"] = viewable_yaml(obj, kind)
            return context
        context["summary"] = kind.summary(obj)
        context["conditions"] = related.conditions(obj) if kind.conditions else []
        blocks = related.related(self.api, kind, obj)
        if kind.plural != "events":
            blocks.append(related.object_events(self.api, kind, obj))
        context["related"] = [(block, self.related_table(block)) for block in blocks]
        if kind.plural == "secrets":
            context["secret_keys"] = sorted((obj.get("data") or {}).keys())
        if kind.plural == "configmaps":
            context["config_data"] = sorted((obj.get("data") or {}).items())
        if kind.plural == "pods":
            context["containers"] = self.containers(obj)
        if kind.plural == "nodes":
            context.update(self.node_context(obj))
        return context

    def owner_kind(self, ref) -> registry.Kind | None:
        """The owner's kind when its page is reachable from here (same namespace, or both cluster-wide)."""
        kind = registry.by_kind_name(ref.get("kind", ""))
        return kind if kind and kind.namespaced == self.kind.namespaced else None

    def related_table(self, block):
        if block.kind is None or block.error:
            return None
        show_namespace = not self.kind.namespaced or block.kind.plural == "events" and not self.namespace
        table = build_table(self.target, block.kind, block.items, show_namespace=show_namespace, actions=False)
        if block.list_query:
            block.more_url = list_url(self.target, block.kind, **block.list_query)
        return table

    def containers(self, pod) -> list[dict]:
        statuses = {c.get("name"): c for c in status(pod).get("containerStatuses") or []}
        result = []
        for container in spec(pod).get("containers") or []:
            st = statuses.get(container.get("name"), {})
            state = next(iter(st.get("state") or {}), "waiting")
            result.append({"name": container.get("name"), "image": container.get("image"),
                           "ready": st.get("ready", False), "restarts": st.get("restartCount", 0), "state": state,
                           "logs_url": object_url(self.target, self.kind, self.namespace, self.name, "logs",
                                                  container=container.get("name"))})
        return result

    def node_context(self, node) -> dict:
        drain = NodeDrain.objects.filter(account_id=self.request.user.account_id, target_type=self.target.type.name,
                                         target_id=self.target.id, node=self.name).first()
        return {
            "labels_form": LabelsForm(initial={"labels": "\n".join(f"{k}={v}" for k, v in sorted(
                (meta(node).get("labels") or {}).items())), "resource_version": meta(node).get("resourceVersion")}),
            "taints": spec(node).get("taints") or [], "taint_form": TaintForm(),
            "unschedulable": bool(spec(node).get("unschedulable")), "drain": drain,
        }


# --- create -------------------------------------------------------------------------------

class ResourceCreate(ResourceView):
    def modes(self):
        return (["form"] if self.kind.plural in CREATE_FORMS else []) + ["yaml"]

    def default_namespace(self) -> str:
        chosen = self.request.session.get(f"k8s-namespace:{self.target.type.name}:{self.target.id}")
        return chosen or "default"

    def page(self, mode, form=None, yaml_form=None, errors=(), status=200):
        form_class = CREATE_FORMS.get(self.kind.plural)
        if form is None and form_class is not None:
            form = form_class(initial={"namespace": self.default_namespace()})
        if yaml_form is None:
            yaml_form = YamlForm(initial={"yaml": self.kind.template})
        return self.render("resources/create.html", {
            "mode": mode, "modes": self.modes(), "form": form, "yaml_form": yaml_form, "errors": list(errors),
            "default_namespace": self.default_namespace(),
            "namespaces": _namespaces(self.request, self.api, self.target) if self.kind.namespaced else None,
        }, status=status)

    def get(self, request, **kwargs):
        mode = request.GET.get("mode", self.modes()[0])
        return self.page(mode if mode in self.modes() else "yaml")

    def post(self, request, **kwargs):
        mode = request.POST.get("mode", "yaml")
        if mode not in self.modes():
            mode = "yaml"
        form = yaml_form = None
        default_namespace = request.POST.get("default_namespace") or self.default_namespace()
        try:
            if mode == "form":
                form = CREATE_FORMS[self.kind.plural](request.POST)
                if not form.is_valid():
                    return self.page(mode, form=form, status=422)
                created = services.create_objects(request.user, self.target, manifests=[form.manifest()])
            else:
                yaml_form = YamlForm(request.POST)
                if not yaml_form.is_valid():
                    return self.page(mode, yaml_form=yaml_form, status=422)
                created = services.create_objects(request.user, self.target, yaml_form.cleaned_data["yaml"],
                                                  default_namespace=default_namespace)
        except ValidationError as error:
            return self.page(mode, form, yaml_form, errors=error.messages, status=422)
        except KubeError as error:
            return self.page(mode, form, yaml_form, errors=[error.message],
                             status=error.status if error.status in (400, 403, 404, 409, 422) else 502)
        if any(kind.plural == "namespaces" for kind, _ns, _n in created):
            forget_namespaces(request, self.target)
        messages.success(request, _("Created %(objects)s.") % {
            "objects": ", ".join(f"{kind.kind} {name}" for kind, _ns, name in created)})
        kind, namespace, name = next(((k, ns, n) for k, ns, n in created if k == self.kind), created[0])
        return redirect(object_url(self.target, kind, namespace, name))


# --- edit ---------------------------------------------------------------------------------

class ResourceEdit(ResourceView):
    def page(self, text, errors=(), conflict=None, status=200):
        return self.render("resources/edit.html", {
            **self.object_context(), "yaml_form": YamlForm(initial={"yaml": text}), "errors": list(errors),
            "conflict": conflict, "is_secret": self.kind.plural == "secrets"}, status=status)

    def current(self) -> dict:
        obj = self.api.get(self.kind, self.name, self.namespace)
        if self.kind.plural == "secrets":  # the editor shows the values: that is a reveal
            services.reveal_secret(self.request.user, self.target, self.namespace, self.name)
        return obj

    def get(self, request, **kwargs):
        return self.page(editable_yaml(self.current()))

    def post(self, request, **kwargs):
        text = request.POST.get("yaml", "")
        try:
            services.replace_object(request.user, self.target, self.kind, self.namespace, self.name, text)
        except ValidationError as error:
            return self.page(text, error.messages, status=422)
        except KubeError as error:
            if error.status == 409:
                latest = self.current()
                return self.page(editable_yaml(latest), [_(
                    "Someone else changed this %(kind)s since you opened it. The editor now shows the new version "
                    "(resourceVersion %(version)s); apply your changes to it again.") % {
                    "kind": self.kind.kind, "version": meta(latest).get("resourceVersion")}],
                    conflict=text, status=409)
            return self.page(text, [error.message], status=error.status if error.status in (400, 403, 404, 422)
                             else 502)
        messages.success(request, _("Saved %(kind)s %(name)s.") % {"kind": self.kind.kind, "name": self.name})
        return self.redirect_detail()


# --- delete -------------------------------------------------------------------------------

class ResourceDelete(ResourceView):
    def page(self, errors=(), status=200):
        return self.render("resources/delete.html", {
            **self.object_context(), "errors": list(errors), "confirm_name": self.kind.plural == "namespaces"},
            status=status)

    def get(self, request, **kwargs):
        self.api.get(self.kind, self.name, self.namespace)  # it exists and the user may see it
        return self.page()

    def post(self, request, **kwargs):
        try:
            services.delete_object(request.user, self.target, self.kind, self.namespace, self.name,
                                   request.POST.get("confirmation", ""))
        except ValidationError as error:
            return self.page(error.messages, status=422)
        except KubeError as error:
            return self.page([error.message], status=error.status if error.status in (403, 404, 409, 422) else 502)
        if self.kind.plural == "namespaces":
            forget_namespaces(request, self.target)
            if request.session.get(f"k8s-namespace:{self.target.type.name}:{self.target.id}") == self.name:
                request.session[f"k8s-namespace:{self.target.type.name}:{self.target.id}"] = ALL
        messages.success(request, _("Deleted %(kind)s %(name)s.") % {"kind": self.kind.kind, "name": self.name})
        return redirect(list_url(self.target, self.kind))


# --- actions (POST, then back to the detail page) -----------------------------------------

class ObjectAction(ResourceView):
    """A POST that changes the object through a service, then shows its detail page."""

    def post(self, request, **kwargs):
        try:
            message = self.perform(request)
        except ValidationError as error:
            for text in error.messages:
                messages.error(request, text)
            return self.redirect_detail()
        messages.success(request, message)
        return self.redirect_detail()

    def get(self, request, **kwargs):
        return self.redirect_detail()


class Scale(ObjectAction):
    def perform(self, request):
        services.scale(request.user, self.target, self.kind, self.namespace, self.name, request.POST.get("replicas"))
        return _("Scaled %(kind)s %(name)s to %(replicas)s replicas.") % {
            "kind": self.kind.kind, "name": self.name, "replicas": request.POST.get("replicas")}


class Restart(ObjectAction):
    def perform(self, request):
        services.restart(request.user, self.target, self.kind, self.namespace, self.name)
        return _("Restarting %(kind)s %(name)s: its pods are being replaced.") % {"kind": self.kind.kind,
                                                                                  "name": self.name}


class Cordon(ObjectAction):
    only_kinds = ("nodes",)

    def perform(self, request):
        on = request.POST.get("unschedulable") != "false"
        services.cordon(request.user, self.target, self.name, on)
        return (_("Node %(name)s cordoned: no new pods are scheduled on it.") if on
                else _("Node %(name)s uncordoned.")) % {"name": self.name}


class Taints(ObjectAction):
    only_kinds = ("nodes",)

    def perform(self, request):
        if request.POST.get("remove"):
            key, _sep, effect = request.POST["remove"].rpartition(":")
            services.remove_taint(request.user, self.target, self.name, key, effect)
            return _("Taint %(taint)s removed.") % {"taint": request.POST["remove"]}
        form = TaintForm(request.POST)
        if not form.is_valid():
            raise ValidationError([f"{form.fields[f].label}: {e}" for f, errors in form.errors.items() for e in errors])
        data = form.cleaned_data
        services.add_taint(request.user, self.target, self.name, data["key"], data["value"], data["effect"])
        return _("Taint %(key)s:%(effect)s added.") % data


class Labels(ResourceView):
    def get(self, request, **kwargs):
        return self.redirect_detail()

    def post(self, request, **kwargs):
        form = LabelsForm(request.POST)
        if form.is_valid():
            try:
                services.set_labels(request.user, self.target, self.kind, self.namespace, self.name,
                                    form.cleaned_data["labels"], form.cleaned_data["resource_version"])
            except KubeError as error:
                if error.status not in (409, 422):
                    raise
                messages.error(request, error.message if error.status == 422 else _(
                    "Someone else changed this %(kind)s meanwhile; the labels were not saved. Here they are as they "
                    "are now.") % {"kind": self.kind.kind})
                return self.redirect_detail()
            messages.success(request, _("Labels of %(name)s saved.") % {"name": self.name})
            return self.redirect_detail()
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, error)
        return self.redirect_detail()


class RevealSecret(ResourceDetail):
    only_kinds = ("secrets",)

    def post(self, request, **kwargs):
        key = request.POST.get("key", "")
        values = services.reveal_secret(request.user, self.target, self.namespace, self.name, key)
        if request.htmx:
            return render(request, "resources/partials/secret_value.html", {"key": key, "value": values[key]})
        obj = self.api.get(self.kind, self.name, self.namespace)
        return self.render("resources/detail.html", self.detail_context(obj, revealed=values))


# --- drain --------------------------------------------------------------------------------

class Drain(ResourceView):
    only_kinds = ("nodes",)

    def get(self, request, **kwargs):
        return self.render("resources/drain_confirm.html", {**self.object_context()})

    def post(self, request, **kwargs):
        drain = services.start_drain(request.user, self.target, self.name)
        return redirect(reverse("resources:drain-status", kwargs={**self.kwargs, "drain_id": drain.pk}))


class DrainStatus(ResourceView):
    only_kinds = ("nodes",)

    def get(self, request, drain_id, **kwargs):
        drain = get_object_or_404(NodeDrain, pk=drain_id, account_id=request.user.account_id,
                                  target_type=self.target.type.name, target_id=self.target.id, node=self.name)
        context = {**self.object_context(), "drain": drain, "counts": drain.counts()}
        if request.htmx:
            return render(request, "resources/partials/drain_progress.html", {**self.base_context(), **context})
        return self.render("resources/drain.html", context)


# --- logs ---------------------------------------------------------------------------------

class Logs(ResourceView):
    """A pod's logs: container, tail length, previous container; follow streams into the
    page (LogStream); download returns the whole text as a file."""

    only_kinds = ("pods",)

    def options(self, pod):
        containers = [c.get("name") for c in spec(pod).get("containers") or []] + \
            [c.get("name") for c in spec(pod).get("initContainers") or []]
        form = LogOptionsForm(self.request.GET or None, containers)
        return form, form.options()

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        form, options = self.options(pod)
        follow = request.GET.get("follow") == "on"
        query = {k: v for k, v in (("container", options["container"]), ("tail", options["tail"] or 0),
                                   ("previous", "on" if options["previous"] else None)) if v is not None}
        context = {**self.object_context(), "form": form, "options": options, "follow": follow,
                   "stream_url": object_url(self.target, self.kind, self.namespace, self.name, "logs-stream", **query),
                   "download_url": object_url(self.target, self.kind, self.namespace, self.name, "logs-download",
                                              **{k: v for k, v in query.items() if k != "tail"})}
        if not follow:
            try:
                context["text"] = self.api.log(self.kind, self.namespace, self.name, **options)
            except KubeError as error:
                context["log_error"] = error.message
        return self.render("resources/logs.html", context)


class LogDownload(Logs):
    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        options = self.options(pod)[1]
        tail = request.GET.get("tail")
        options["tail"] = int(tail) if tail and tail.isdigit() and int(tail) else None
        text = self.api.log(self.kind, self.namespace, self.name, **options)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        suffix = "-previous" if options["previous"] else ""
        response["Content-Disposition"] = f'attachment; filename="{self.name}-{options["container"]}{suffix}.log"'
        return response


# An event stream ends a line at \r\n, \n or a bare \r: a log line's \r left inside a
# `data:` line would let the container write its own fields and events (an `end` for
# everyone following it). Each piece becomes its own `data:` line; the reader gets it back
# joined with \n.
_SSE_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _sse(data: str, event: str | None = None) -> str:
    lines = "".join(f"data: {line}\n" for line in _SSE_LINE_BREAK.split(data))
    return (f"event: {event}\n" if event else "") + lines + "\n"


class LogStream(Logs):
    """Server-sent events: one `data:` per log line as the container writes it.

    A reader thread pulls the upstream follow stream into a queue; the response sends
    a keep-alive comment when nothing arrived for a while, which is how a gone client is
    noticed (the write fails and the server closes the generator). The generator then
    closes the upstream stream, and it ends by itself after CCEONE_LOG_FOLLOW_MAX_SECONDS.
    """

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        options = self.options(pod)[1]
        try:
            upstream = self.api.log_stream(self.kind, self.namespace, self.name, **options)
        except KubeError as error:
            upstream, failure = None, error.message
        response = StreamingHttpResponse(self.events(upstream, failure if upstream is None else None),
                                         content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

    def events(self, upstream, failure):
        if upstream is None:
            yield _sse(failure, "failure")
            yield _sse("", "end")
            return
        keepalive = float(getattr(settings, "CCEONE_LOG_FOLLOW_KEEPALIVE", 15))
        deadline = time.monotonic() + float(getattr(settings, "CCEONE_LOG_FOLLOW_MAX_SECONDS", 1800))
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(upstream, lines), daemon=True)
        reader.start()
        try:
            yield ": connected\n\n"
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    yield _sse(_("The log stream reached its maximum duration; follow again to continue."), "end")
                    return
                try:
                    line = lines.get(timeout=min(keepalive, remaining))
                except queue.Empty:
                    yield ": keep-alive\n\n"
                    continue
                if line is None:
                    yield _sse(_("The container's log stream ended."), "end")
                    return
                yield _sse(line)
        finally:
            _close(upstream)


def _read_lines(upstream, lines: queue.Queue) -> None:
    buffer = b""
    try:
        for chunk in upstream.stream(4096, decode_content=True):
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                lines.put(line.decode(errors="replace").rstrip("\r"))
        if buffer:
            lines.put(buffer.decode(errors="replace"))
    except Exception:  # noqa: BLE001 - the stream was closed (client gone) or broke: end it
        pass
    lines.put(None)


def _close(upstream) -> None:
    """End the upstream follow: shut its socket down (waking the reader), then release it."""
    import socket

    try:
        connection = getattr(upstream, "connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        upstream.close()
    except Exception:  # noqa: BLE001
        pass


# --- the target's live summary (overview) -------------------------------------------------

class Summary(ResourceView):
    """Pods by phase and recent warning events, as the user sees them; loaded into the
    target's overview page by HTMX so the page itself renders from stored facts."""

    def get(self, request, **kwargs):
        pods_kind, events_kind = registry.get("pods"), registry.get("events")
        context = {}
        try:
            phases: dict[str, int] = {}
            for pod in self.api.list_all(pods_kind):
                phase = status(pod).get("phase") or "Pending"
                phases[phase] = phases.get(phase, 0) + 1
            order = ["Running", "Pending", "Succeeded", "Failed", "Unknown"]
            context["phases"] = sorted(phases.items(), key=lambda p: order.index(p[0]) if p[0] in order else 9)
            context["pods_total"] = sum(phases.values())
        except KubeError as error:
            context["pods_error"] = error.message
        try:
            warnings = self.api.list(events_kind, field_selector="type=Warning", limit=200).get("items") or []
            context["warnings"] = related.sort_events(warnings)[:10]
            context["events_url"] = list_url(self.target, events_kind, namespace="", type="Warning")
        except KubeError as error:
            context["events_error"] = error.message
        return render(request, "resources/partials/summary.html", {**self.base_context(), **context})

    def kube_error(self, error):
        return render(self.request, "resources/partials/summary.html", {"pods_error": error.message})
