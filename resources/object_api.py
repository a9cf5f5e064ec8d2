"""The single-cluster console's actions over the API (R8.2).

Every page that reads or changes a Kubernetes object has an endpoint here calling the same
service (`services`), as the same user (impersonated by the gateway), behind the same IAM
gate (opening the cluster's console: `targets.resolve`); the cluster's own RBAC decides the
rest. Routes follow the Kubernetes API's own paths, under the cluster:

    /api/v1/kubernetes/clusters/<id>/manifests/                      create from YAML or objects
    /api/v1/kubernetes/clusters/<id>/[namespaces/<ns>/]<plural>/     list; create by the guided form
    …/<plural>/<name>/                                               get, replace (PUT), delete
    …/<plural>/<name>/<action>/                                      labels, scale, restart, cordon …

One viewset per kind, with only the actions the kind has (`Kind.scalable`, `restartable`,
`actions`, `create_form`), documented under the console section the kind is in.
"""
import json

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from cceone.api import form_serializer
from cceone.api_schema import ConsoleAutoSchema, ErrorSerializer
from cceone.kube.gateway import KubeError

from . import registry, services
from .forms import LabelsForm, LogOptionsForm, TaintForm, dns_label
from .formatting import spec
from .kube import Api
from .models import NodeDrain
from .targets import Unavailable, all_types, get_type, resolve

TARGET_TYPE = "cluster"
NAME = r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?"  # a DNS subdomain, as resources.urls takes it
NAMESPACE = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"  # a DNS label
LIST_LIMIT = 500
PASSED_ON = (400, 403, 404, 409, 410, 422)  # Kubernetes' answers the API passes on as they are


# --- errors ------------------------------------------------------------------------------------

class KubernetesRefusal(exceptions.APIException):
    """A Kubernetes failure, with the gateway's explanation (which permission is missing,
    since when the cluster is unreachable); an unreachable cluster answers 502."""

    def __init__(self, error: KubeError):
        super().__init__(detail=error.message)
        self.status_code = error.status if error.status in PASSED_ON else status.HTTP_502_BAD_GATEWAY


class TargetUnavailable(exceptions.APIException):
    """The cluster cannot serve its console now: disconnected (503), frozen (403), not running (409)."""

    def __init__(self, error: Unavailable):
        super().__init__(detail=error.message)
        self.status_code = error.status


# --- serializers ---------------------------------------------------------------------------

class ObjectRefSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField(allow_null=True, help_text="null for a cluster-scoped object")
    name = serializers.CharField()

    class Meta:
        ref_name = "KubernetesObjectRef"


def ref(kind, namespace, name) -> dict:
    return {"kind": kind.kind, "namespace": namespace if kind.namespaced else None, "name": name}


class ManifestsSerializer(serializers.Serializer):
    """Objects to create, as the YAML editor of the create pages takes them: every object
    is checked by the cluster (a server-side dry run) before any is created."""

    yaml = serializers.CharField(required=False, trim_whitespace=False,
                                 help_text="One or more objects in YAML (documents separated by ---).")
    objects = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=False,
                                    help_text="The objects as JSON, instead of `yaml`.")
    default_namespace = serializers.CharField(required=False, max_length=63, validators=[dns_label],
                                              help_text="The namespace of objects that name none (default: default).")

    def validate(self, attrs):
        if ("yaml" in attrs) == ("objects" in attrs):
            raise serializers.ValidationError({"detail": [_("Give the objects either as yaml or as objects.")]})
        return attrs


class ScaleSerializer(serializers.Serializer):
    replicas = serializers.IntegerField(help_text=f"0 to {services.MAX_REPLICAS}.")


class ScaledSerializer(ObjectRefSerializer):
    replicas = serializers.IntegerField()

    class Meta:
        ref_name = "KubernetesScaled"


class RevealSerializer(serializers.Serializer):
    key = serializers.CharField(required=False, help_text="One key to reveal; omit for all.")


class RevealedSerializer(serializers.Serializer):
    data = serializers.DictField(child=serializers.CharField(), help_text="The decoded values by key.")


class ObjectListSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.DictField())
    # `continue` is a Python keyword: the field is declared under another name, below.


ObjectListSerializer._declared_fields["continue"] = serializers.CharField(
    allow_null=True, help_text="Pass as `continue` to get the next page; null on the last one.")


class NodeDrainSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField(help_text="Pods by state, and the total.")
    pods = serializers.ListField(child=serializers.DictField(), read_only=True,
                                 help_text="One entry per pod: namespace, name, state and a message.")

    class Meta:
        model = NodeDrain
        fields = ["id", "node", "status", "message", "pods", "counts", "created_at", "started_at", "finished_at"]

    def get_counts(self, drain) -> dict[str, int]:
        return drain.counts()


LabelsSerializer = form_serializer(LabelsForm, "KubernetesLabels")
TaintSerializer = form_serializer(TaintForm, "KubernetesTaint")


# --- documentation -----------------------------------------------------------------------------

OBJECT = OpenApiTypes.OBJECT


class KindSchema(ConsoleAutoSchema):
    """Each operation documented from the view's `docs` table (summary, request, responses,
    query parameters), tagged with the console section of its kind."""

    def _doc(self) -> dict:
        return self.view.docs().get(getattr(self.view, "action", ""), {})

    def get_tags(self):
        return [self.view.tag()]

    def get_summary(self):
        return self._doc().get("summary")

    def get_description(self):
        return self._doc().get("description", "")

    def get_request_serializer(self):
        return self._doc().get("request")

    def get_response_serializers(self):
        return self._doc().get("responses", OBJECT)

    def get_override_parameters(self):
        target_type = get_type(self.view.target_type)
        path = [OpenApiParameter(target_type.api_id, int, OpenApiParameter.PATH,
                                 description=str(target_type.api_description))]
        if "{namespace}" in self.path:
            path.append(OpenApiParameter("namespace", str, OpenApiParameter.PATH, pattern=f"^{NAMESPACE}$"))
        if "{name}" in self.path:
            path.append(OpenApiParameter("name", str, OpenApiParameter.PATH, pattern=f"^{NAME}$",
                                         description="The object's name."))
        return path + self._doc().get("parameters", [])

    def get_operation_id(self):
        # By kind and action (`deployments_scale`), the method too where one action has two.
        kind = self.view.kind.plural if self.view.kind else "manifests"
        methods = getattr(getattr(self.view, self.view.action, None), "mapping", {})
        suffix = f"_{self.method.lower()}" if len(methods) > 1 else ""
        return f"{get_type(self.view.target_type).api_operation}_{kind}_{self.view.action}{suffix}"

    def _is_list_view(self, serializer=None):
        return False  # lists answer an object (items and a continue token), never a bare array

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # Bad input ({"field": [...]} or {"detail": …}); Kubernetes' refusals passed on, the
        # cluster unreachable (502) or disconnected (503).
        responses.setdefault("400", self._get_response_for_code(OBJECT, "400", direction=direction))
        for code in ("404", "409", "422", "502", "503") + (("410",) if self.view.action == "list" else ()):
            responses.setdefault(code, self._get_response_for_code(ErrorSerializer, code, direction=direction))
        return responses


# --- the viewsets --------------------------------------------------------------------------

class TargetViewSet(viewsets.ViewSet):
    """Operations on one target's Kubernetes API, named by the URL (`cluster_id` for a cluster:
    the target type's `api_id`)."""

    schema = KindSchema()
    target_type = TARGET_TYPE
    kind: registry.Kind | None = None

    def iam_object(self):
        """The cluster: 404 outside the user's account, 403 (audited) without the right to
        open its console, and its state when it cannot serve (IAMPermission asks first)."""
        if not hasattr(self, "target"):
            try:
                self.target = resolve(self.target_type, self.request.user,
                                      self.kwargs[get_type(self.target_type).api_id])
            except Unavailable as error:
                raise TargetUnavailable(error) from None
        return self.target.obj

    def handle_exception(self, exc):
        if isinstance(exc, KubeError):
            exc = KubernetesRefusal(exc)
        return super().handle_exception(exc)

    @property
    def api(self) -> Api:
        return Api(self.target.obj, self.request.user)

    def tag(self) -> str:
        return str(gettext_lazy("Kubernetes resources"))

    def docs(self) -> dict:
        return {}


def _declare(viewset, names) -> None:
    """Every operation checks opening the target's console; the cluster's RBAC does the rest."""
    viewset.iam_actions = dict.fromkeys(names, get_type(viewset.target_type).iam_action)


class ManifestViewSet(TargetViewSet):
    def create(self, request, **kwargs):
        given = ManifestsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        created = services.create_objects(request.user, self.target, data.get("yaml"),
                                          default_namespace=data.get("default_namespace"),
                                          manifests=data.get("objects"))
        for kind, _ns, name in created:
            if kind.after_write:
                kind.after_write(request, self.target, name, deleted=False)
        return Response(ObjectRefSerializer([ref(*c) for c in created], many=True).data, status=status.HTTP_201_CREATED)

    def docs(self):
        return {"create": {
            "summary": "Create objects from YAML or JSON",
            "description": "As the create pages' YAML editor: any kinds the console manages, checked by the "
                           "cluster before any is created; answers what was created, in order.",
            "request": ManifestsSerializer, "responses": {201: ObjectRefSerializer(many=True)}}}


_declare(ManifestViewSet, ["create"])


class ReadKindViewSet(TargetViewSet):
    """One kind's objects: list and get (all a read-only kind has); `KindViewSet` writes, and
    the mixins below add what only some kinds have."""

    lookup_field = "name"
    lookup_value_regex = NAME

    def tag(self) -> str:
        return str(get_type(self.target_type).api_tag % {"section": registry.SECTIONS[self.kind.nav_section]})

    @property
    def namespace(self) -> str | None:
        return self.kwargs.get("namespace")

    def object_response(self, obj: dict, code=status.HTTP_200_OK) -> Response:
        return Response(self.kind.viewable(obj), status=code)

    def list(self, request, **kwargs):
        query = request.query_params
        try:
            limit = min(max(int(query.get("limit", LIST_LIMIT)), 1), LIST_LIMIT)
        except ValueError:
            raise serializers.ValidationError({"limit": [_("A whole number from 1 to %(max)d.") % {
                "max": LIST_LIMIT}]}) from None
        page = self.api.list(self.kind, self.namespace, label_selector=query.get("labelSelector") or None,
                             limit=limit, cont=query.get("continue") or None)
        return Response({"items": [self.kind.viewable(item) for item in page.get("items") or []],
                         "continue": (page.get("metadata") or {}).get("continue") or None})

    def retrieve(self, request, name=None, **kwargs):
        return self.object_response(self.api.get(self.kind, name, self.namespace))

    def docs(self) -> dict:
        one, many = self.kind.label_singular, self.kind.label
        return {
            "list": {"summary": f"List {many}", "responses": ObjectListSerializer,
                     "description": "A page of objects as the API server gives them (secret values hidden).",
                     "parameters": [
                         OpenApiParameter("labelSelector", str, description="e.g. app=web"),
                         OpenApiParameter("limit", int, description=f"1 to {LIST_LIMIT} (default {LIST_LIMIT})."),
                         OpenApiParameter("continue", str, description="The token of the previous page.")]},
            "retrieve": {"summary": f"Get a {one}", "responses": OBJECT},
        }


class KindViewSet(ReadKindViewSet):
    def update(self, request, name=None, **kwargs):
        if not isinstance(request.data, dict):
            raise serializers.ValidationError({"detail": [_("Send the object as a JSON object.")]})
        # The editor's service takes YAML text; JSON is YAML.
        saved = services.replace_object(request.user, self.target, self.kind, self.namespace, name,
                                        json.dumps(request.data))
        return self.object_response(saved)

    def destroy(self, request, name=None, **kwargs):
        services.delete_object(request.user, self.target, self.kind, self.namespace, name,
                               request.query_params.get("confirm", ""))
        if self.kind.after_write:
            self.kind.after_write(request, self.target, name, deleted=True)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["put"])
    def labels(self, request, name=None, **kwargs):
        given = LabelsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.form.cleaned_data
        return self.object_response(services.set_labels(request.user, self.target, self.kind, self.namespace, name,
                                                        data["labels"], data["resource_version"]))

    def docs(self) -> dict:
        kind = self.kind
        one = kind.label_singular
        docs = {
            **super().docs(),
            "update": {"summary": f"Replace a {one}", "request": OBJECT, "responses": OBJECT,
                       "description": "The whole object, as the YAML editor saves it: keep metadata.resourceVersion "
                                      "as read; if the object changed since, the answer is 409 and nothing "
                                      "changes. The name, namespace and kind cannot change."},
            "destroy": {"summary": f"Delete a {one}", "responses": {204: None}},
            "labels": {"summary": f"Set the labels of a {one}", "request": LabelsSerializer, "responses": OBJECT,
                       "description": "The object's labels become exactly these (a key left out is removed), "
                                      "unless the object changed since `resource_version` (409)."},
        }
        if kind.delete_confirmation:
            docs["destroy"]["parameters"] = [OpenApiParameter(
                "confirm", str, required=True, description="The object's name, typed again to confirm.")]
            docs["destroy"]["description"] = str(kind.delete_confirmation.warning)
        for name in ("create", "scale", "restart", "cordon", "uncordon", "taints", "drain", "drain_status",
                     "reveal", "logs"):
            extra = getattr(self, f"{name}_docs", None)
            if extra:
                docs.update(extra())
        return docs


class GuidedCreate:
    """Create one object with the fields of the kind's create form (`Kind.create_form`)."""

    def create(self, request, **kwargs):
        given = self.create_serializer(data=request.data,
                                       context={"form_data": {"namespace": self.namespace} if self.namespace else {}})
        given.is_valid(raise_exception=True)
        created = services.create_objects(request.user, self.target, manifests=[given.form.manifest()])
        for kind, _ns, name in created:
            if kind.after_write:
                kind.after_write(request, self.target, name, deleted=False)
        return Response(ref(*created[0]), status=status.HTTP_201_CREATED)

    def create_docs(self):
        return {"create": {"summary": f"Create a {self.kind.label_singular}", "request": self.create_serializer,
                           "responses": {201: ObjectRefSerializer},
                           "description": "With the fields of the console's create form; the cluster checks the "
                                          "object (a server-side dry run) before it is created. For any other "
                                          "object use …/manifests/."}}


class Scalable:
    @action(detail=True, methods=["post"])
    def scale(self, request, name=None, **kwargs):
        given = ScaleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        replicas = given.validated_data["replicas"]
        services.scale(request.user, self.target, self.kind, self.namespace, name, replicas)
        return Response({**ref(self.kind, self.namespace, name), "replicas": replicas})

    def scale_docs(self):
        return {"scale": {"summary": f"Scale a {self.kind.label_singular}", "request": ScaleSerializer,
                          "responses": ScaledSerializer}}


class Restartable:
    @action(detail=True, methods=["post"])
    def restart(self, request, name=None, **kwargs):
        services.restart(request.user, self.target, self.kind, self.namespace, name)
        return Response(ref(self.kind, self.namespace, name), status=status.HTTP_202_ACCEPTED)

    def restart_docs(self):
        return {"restart": {"summary": f"Restart a {self.kind.label_singular}'s pods", "request": None,
                            "responses": {202: ObjectRefSerializer},
                            "description": "A rollout restart, as `kubectl rollout restart`: its pods are replaced."}}


class NodeActions:
    @action(detail=True, methods=["post"])
    def cordon(self, request, name=None, **kwargs):
        return self.object_response(services.cordon(request.user, self.target, name, True))

    @action(detail=True, methods=["post"])
    def uncordon(self, request, name=None, **kwargs):
        return self.object_response(services.cordon(request.user, self.target, name, False))

    @action(detail=True, methods=["post", "delete"])
    def taints(self, request, name=None, **kwargs):
        if request.method == "DELETE":
            key, effect = request.query_params.get("key", ""), request.query_params.get("effect", "")
            return self.object_response(services.remove_taint(request.user, self.target, name, key, effect))
        given = TaintSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.form.cleaned_data
        return self.object_response(services.add_taint(request.user, self.target, name, data["key"],
                                                       data["value"], data["effect"]))

    @action(detail=True, methods=["post"])
    def drain(self, request, name=None, **kwargs):
        drain = services.start_drain(request.user, self.target, name)
        return Response(NodeDrainSerializer(drain).data, status=status.HTTP_202_ACCEPTED)

    @action(detail=True, methods=["get"], url_path=r"drains/(?P<drain_id>\d+)")
    def drain_status(self, request, name=None, drain_id=None, **kwargs):
        drain = get_object_or_404(NodeDrain, pk=drain_id, account_id=request.user.account_id,
                                  target_type=self.target.type.name, target_id=self.target.id, node=name)
        return Response(NodeDrainSerializer(drain).data)

    def cordon_docs(self):
        return {
            "cordon": {"summary": "Cordon a node", "request": None, "responses": OBJECT,
                       "description": "No new pods are scheduled on it."},
            "uncordon": {"summary": "Uncordon a node", "request": None, "responses": OBJECT},
            "taints": {"summary": "Add (POST) or remove (DELETE) a node's taint", "request": TaintSerializer,
                       "responses": {200: OBJECT},
                       "parameters": [OpenApiParameter("key", str, description="DELETE: the taint's key."),
                                      OpenApiParameter("effect", str, enum=services.TAINT_EFFECTS,
                                                       description="DELETE: the taint's effect.")]},
            "drain": {"summary": "Drain a node", "request": None, "responses": {202: NodeDrainSerializer},
                      "description": "Cordon it, then evict its pods in the background, honouring "
                                     "PodDisruptionBudgets (DaemonSet and static pods stay). Asking again while a "
                                     "drain of the node runs answers that drain. Follow it at …/drains/<id>/."},
            "drain_status": {"summary": "A node drain's progress", "responses": NodeDrainSerializer,
                             "parameters": [OpenApiParameter("drain_id", int, OpenApiParameter.PATH)]},
        }


class Revealable:
    @action(detail=True, methods=["post"])
    def reveal(self, request, name=None, **kwargs):
        given = RevealSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        return Response({"data": services.reveal_secret(request.user, self.target, self.namespace, name,
                                                        given.validated_data.get("key"))})

    def reveal_docs(self):
        return {"reveal": {"summary": "Reveal a Secret's values", "request": RevealSerializer,
                           "responses": RevealedSerializer,
                           "description": "The decoded values (one key, or all): recorded in the audit log."}}


class LogsSerializer(serializers.Serializer):
    container = serializers.CharField(allow_null=True)
    text = serializers.CharField()


class PodLogs:
    @action(detail=True, methods=["get"])
    def logs(self, request, name=None, **kwargs):
        pod = self.api.get(self.kind, name, self.namespace)
        containers = [c.get("name") for c in (spec(pod).get("containers") or []) + (
            spec(pod).get("initContainers") or [])]
        form = LogOptionsForm(request.query_params or None, containers)
        if request.query_params and not form.is_valid():
            raise serializers.ValidationError({field: list(errors) for field, errors in form.errors.items()})
        options = form.options()
        return Response({"container": options["container"],
                         "text": self.api.log(self.kind, self.namespace, name, **options)})

    def logs_docs(self):
        return {"logs": {"summary": "A pod's logs", "responses": LogsSerializer,
                         "parameters": [
                             OpenApiParameter("container", str, description="Default: the first container."),
                             OpenApiParameter("tail", int, enum=[100, 500, 1000, 5000, 0],
                                              description="The last lines (default 500; 0: all)."),
                             OpenApiParameter("previous", bool, description="The previous container's logs.")]}}


_CREATE_SERIALIZERS: dict[str, type] = {}


def _create_serializer(kind: registry.Kind) -> type:
    """The body of a kind's guided create: one component per kind, whatever serves it."""
    if kind.plural not in _CREATE_SERIALIZERS:
        _CREATE_SERIALIZERS[kind.plural] = form_serializer(
            kind.create_form, f"{kind.kind}Create", exclude=("namespace",) if kind.namespaced else ())
    return _CREATE_SERIALIZERS[kind.plural]


def viewset_for(kind: registry.Kind, target_type: str = TARGET_TYPE) -> type:
    """The viewset of one kind on one target type: the generic operations and the kind's own."""
    if not kind.writable:
        bases = [ReadKindViewSet]
    else:
        bases = [KindViewSet]
        if kind.creatable and kind.create_form:
            bases.insert(0, GuidedCreate)
        for flag, mixin in ((kind.scalable, Scalable), (kind.restartable, Restartable),
                            ("cordon" in kind.actions, NodeActions), ("reveal" in kind.actions, Revealable),
                            ("logs" in kind.actions, PodLogs)):
            if flag:
                bases.insert(0, mixin)
    the_type = get_type(target_type)
    attributes = {"kind": kind, "target_type": target_type, "__module__": __name__,
                  "__doc__": f"{kind.label} of a {the_type.label or target_type}."}
    if GuidedCreate in bases:
        attributes["create_serializer"] = _create_serializer(kind)
    prefix = "" if target_type == TARGET_TYPE else target_type.title()
    viewset = type(f"{prefix}{kind.kind}ViewSet", tuple(bases), attributes)
    names = ["list", "retrieve", *(["update", "destroy"] if kind.writable else []),
             *(extra.__name__ for extra in viewset.get_extra_actions())]
    if GuidedCreate in bases:
        names.append("create")
    _declare(viewset, names)
    return viewset


def _root(target_type) -> str:
    return rf"{target_type.api_prefix}/(?P<{target_type.api_id}>\d+)"


def routes_for(kind: registry.Kind, target_type: str = TARGET_TYPE) -> str:
    root = _root(get_type(target_type))
    return f"{root}/namespaces/(?P<namespace>{NAMESPACE})/{kind.plural}" if kind.namespaced \
        else f"{root}/{kind.plural}"


def register(register_route) -> None:
    """Every kind each target type serves, and its manifests endpoint (called from
    api.register(), once every app registered its target types and kinds: resources comes
    after them in INSTALLED_APPS)."""
    for target_type in all_types():
        if not target_type.api_prefix:
            continue
        basename = target_type.api_basename
        manifests = type(f"{target_type.name.title()}ManifestViewSet", (ManifestViewSet,),
                         {"target_type": target_type.name, "__module__": __name__}) \
            if target_type.name != TARGET_TYPE else ManifestViewSet
        _declare(manifests, ["create"])
        register_route(f"{_root(target_type)}/manifests", manifests, basename=f"{basename}-manifests")
        for kind in registry.all_kinds():
            if target_type.serves(kind):
                register_route(routes_for(kind, target_type.name), viewset_for(kind, target_type.name),
                               basename=f"{basename}-{kind.plural}")
