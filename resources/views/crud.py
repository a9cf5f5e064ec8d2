"""The generic pages every kind has: list, detail, create, edit, delete. What differs
between kinds is asked of the kind (registry.Kind); writes go through `services`."""
import copy

import yaml
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from cceone.kube.gateway import KubeError

from .. import buttons, registry, related, services
from ..formatting import meta, spec
from ..forms import YamlForm
from ..links import list_url, object_url
from ..namespace_choice import ALL, namespaces, session_key
from ..tables import build_table, status_badge
from .base import ResourceView

DEFAULT_LIMIT = 100
LIMITS = (20, 50, 100, 200, 500)


def editable_yaml(obj: dict) -> str:
    """The object as the editor shows it: no managedFields, no status (not writable here)."""
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("managedFields", None)
    obj.pop("status", None)
    return yaml.safe_dump(obj, sort_keys=False, allow_unicode=True)


def viewable_yaml(obj: dict, kind) -> str:
    return yaml.safe_dump(kind.viewable(obj), sort_keys=False, allow_unicode=True)


class ResourceList(ResourceView):
    def get(self, request, **kwargs):
        kind, target = self.kind, self.target
        query = request.GET
        remembered = session_key(target)
        if kind.namespaced:
            if "namespace" in query:
                namespace = query.get("namespace", ALL).strip()
                if request.session.get(remembered) != namespace:  # remembered for the target's other lists
                    request.session[remembered] = namespace
            else:
                namespace = request.session.get(remembered, ALL)
        else:
            namespace = ALL
        selector = query.get("labelSelector", "").strip()
        self.permissions.prefetch(kind, namespace)
        filters = {name: query.get(name, "") for name in kind.list_filters}
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
                   **{f"{name}_filter": value for name, value in filters.items()}, "page_number": page_number,
                   "create_url": reverse("resources:create", kwargs={"target_type": target.type.name,
                                                                      "target_id": target.id, "kind": kind.plural}),
                   "can_create": kind.creatable and self.permissions.allows("create", kind, namespace or None)}
        if kind.namespaced:
            context["namespaces"] = namespaces(request, self.api, target)
        error = None
        items, next_token, remaining = [], None, None
        try:
            if kind.list_page:
                items, next_token, remaining = kind.list_page(self.api, kind, namespace or None, selector, limit,
                                                              token, **filters)
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
        table = build_table(target, kind, items, list_context, show_namespace=not namespace, html_id="resource-table",
                            may=lambda verb, ns: self.permissions.allows(verb, kind, ns))
        params = {"namespace": namespace, "labelSelector": selector, "limit": limit}
        params.update({name: value for name, value in filters.items() if value})
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


class ResourceDetail(ResourceView):
    def get(self, request, **kwargs):
        self.permissions.prefetch(self.kind, self.namespace, verbs=("update", "delete", "patch"))
        obj = self.api.get(self.kind, self.name, self.namespace)
        return self.render("resources/detail.html", self.detail_context(obj, request.GET.get("tab", "overview")))

    def owner_kind(self, ref) -> registry.Kind | None:
        """The owner's kind when its page is reachable from here (same namespace, or both cluster-wide)."""
        kind = registry.by_kind_name(ref.get("kind", ""))
        return kind if kind and kind.namespaced == self.kind.namespaced else None

    def detail_context(self, obj, tab="overview", **extra) -> dict:
        kind = self.kind
        context = {
            **self.object_context(), "obj": obj, "tab": tab, "meta": meta(obj),
            "status_badge": status_badge(*kind.status(obj)) if kind.show_status else "",
            "owners": [(ref, self.owner_kind(ref)) for ref in meta(obj).get("ownerReferences") or []],
            "replicas": spec(obj).get("replicas", 1), "may": self.permissions.for_object(kind, self.namespace),
            "extra_buttons": buttons.for_object(self.request.user, self.target, kind, obj),
            **extra,
        }
        if tab == "yaml":
            context["yaml"] = viewable_yaml(obj, kind)
            return context
        context["summary"] = kind.summary(obj)
        context["status_note"] = self.target.type.status_note(kind) if kind.show_status else ""
        context["conditions"] = related.conditions(obj) if kind.conditions else []
        blocks = related.related(self.api, kind, obj)
        if kind.events:
            blocks.append(related.object_events(self.api, kind, obj))
        context["related"] = [(block, self.related_table(block)) for block in blocks]
        if kind.detail_context:
            context.update(kind.detail_context(self, obj))
        return context

    def related_table(self, block):
        if block.kind is None or block.error:
            return None
        # A namespaced object's related objects share its namespace (events about it too).
        show_namespace = not self.kind.namespaced
        table = build_table(self.target, block.kind, block.items, show_namespace=show_namespace, actions=False)
        if block.list_query:
            block.more_url = list_url(self.target, block.kind, **block.list_query)
        return table


class ResourceCreate(ResourceView):
    writes = True

    def dispatch(self, request, *args, **kwargs):
        kind = registry.get(kwargs["kind"]) if kwargs.get("kind") else None
        if kind is not None and not kind.creatable:
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def modes(self):
        return (["form"] if self.kind.create_form else []) + ["yaml"]

    def default_namespace(self) -> str:
        chosen = self.request.session.get(session_key(self.target))
        return chosen or "default"

    def page(self, mode, form=None, yaml_form=None, errors=(), status=200):
        form_class = self.kind.create_form
        if form is None and form_class is not None:
            form = form_class(initial={"namespace": self.default_namespace()})
        if yaml_form is None:
            yaml_form = YamlForm(initial={"yaml": self.kind.template})
        return self.render("resources/create.html", {
            "mode": mode, "modes": self.modes(), "form": form, "yaml_form": yaml_form, "errors": list(errors),
            "default_namespace": self.default_namespace(),
            "namespaces": namespaces(self.request, self.api, self.target) if self.kind.namespaced else None,
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
                form = self.kind.create_form(request.POST)
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
        for kind, _ns, name in created:
            if kind.after_write:
                kind.after_write(request, self.target, name, deleted=False)
        messages.success(request, _("Created %(objects)s.") % {
            "objects": ", ".join(f"{kind.kind} {name}" for kind, _ns, name in created)})
        kind, namespace, name = next(((k, ns, n) for k, ns, n in created if k == self.kind), created[0])
        return redirect(object_url(self.target, kind, namespace, name))


class ResourceEdit(ResourceView):
    writes = True

    def page(self, text, errors=(), conflict=None, status=200):
        return self.render("resources/edit.html", {
            **self.object_context(), "yaml_form": YamlForm(initial={"yaml": text}), "errors": list(errors),
            "conflict": conflict}, status=status)

    def current(self) -> dict:
        if self.kind.sensitive:  # the editor shows what the kind hides elsewhere: that is a reveal
            return services.reveal(self.request.user, self.target, self.kind, self.namespace, self.name)
        return self.api.get(self.kind, self.name, self.namespace)

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


class ResourceDelete(ResourceView):
    writes = True

    def page(self, errors=(), status=200):
        return self.render("resources/delete.html", {
            **self.object_context(), "errors": list(errors)}, status=status)

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
        if self.kind.after_write:
            self.kind.after_write(request, self.target, self.name, deleted=True)
        messages.success(request, _("Deleted %(kind)s %(name)s.") % {"kind": self.kind.kind, "name": self.name})
        return redirect(list_url(self.target, self.kind))
