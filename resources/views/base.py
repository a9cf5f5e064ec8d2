"""The base of every resource page: resolves the target (IAM, status), the kind and the
object named in the URL, then talks to the target as the user through the gateway. A
Kubernetes refusal is shown with the gateway's explanation, never as a stack trace."""
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from cceone.kube.gateway import KubeError

from .. import registry
from ..kube import Api
from ..links import list_url, object_url
from ..permissions import Permissions
from ..targets import Unavailable, all_types, resolve


class ResourceView(LoginRequiredMixin, View):
    """Resolves the target, the kind and the object named in the URL for every page."""

    # The kind's own page this view is (a URL name in Kind.actions); a kind without it: 404.
    kind_action: str = ""
    # A page that writes the object: a kind the console only reads (`Kind.writable`) has none.
    writes: bool = False

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
            if not self.target.serves(self.kind) or (self.kind_action and self.kind_action not in self.kind.actions):
                raise Http404
            if self.writes and not self.kind.writable:
                raise Http404
            if "name" in kwargs and self.kind.namespaced != ("namespace" in kwargs):
                raise Http404
        self.namespace, self.name = kwargs.get("namespace"), kwargs.get("name")
        self.api = Api(self.target.obj, request.user)
        self.permissions = Permissions(self.api)
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
