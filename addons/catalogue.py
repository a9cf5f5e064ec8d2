"""The add-on catalogue: each add-on's versions (manifests kept in `manifests/<name>/<version>.yaml`,
Django templates over the add-on's parameters) and its parameters, with the rules that judge them.

Rendering injects the labels that mark every object as this add-on's (`LABEL_NAME`,
`LABEL_VERSION`, `app.kubernetes.io/managed-by`): uninstalling deletes exactly those objects."""
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.core.exceptions import ValidationError
from django.template import Context, Engine
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MANIFESTS = Path(__file__).parent / "manifests"
LABEL_NAME = "addons.cceone.io/name"
LABEL_VERSION = "addons.cceone.io/version"
MANAGED_BY = ("app.kubernetes.io/managed-by", "cceone-addons")
FIELD_MANAGER = "cceone-addons"
_ENGINE = Engine(autoescape=False)
_REGISTRY = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9._-]+)*$")
_DNS = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    kind: str  # integer, string, boolean, choice
    default: object
    help: str = ""
    minimum: int | None = None
    maximum: int | None = None
    pattern: re.Pattern | None = None
    pattern_message: str = ""
    choices: tuple[str, ...] = ()

    def clean(self, value):
        """The value as the manifests take it, or a ValidationError with the reason."""
        if value is None or value == "":
            value = self.default
        if self.kind == "boolean":
            if isinstance(value, str):
                value = value.lower() in ("1", "true", "on", "yes")
            return bool(value)
        if self.kind == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError(_("Enter a whole number.")) from None
            if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
                raise ValidationError(_("Enter a number from %(min)s to %(max)s.")
                                      % {"min": self.minimum, "max": self.maximum})
            return value
        value = str(value).strip()
        if self.kind == "choice":
            if value not in self.choices:
                raise ValidationError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(self.choices)})
            return value
        if len(value) > 200 or (self.pattern and not self.pattern.match(value)):
            raise ValidationError(str(self.pattern_message) or _("Enter a valid value."))
        return value


def _registry(default):
    return Parameter("image_registry", gettext_lazy("Image registry"), "string", default,
                     gettext_lazy("Pull the images from this registry (a mirror of the upstream one)."),
                     pattern=_REGISTRY, pattern_message=gettext_lazy("Enter a registry host and path, such as "
                                                                     "registry.k8s.io or mirror.example.com/k8s."))


def _replicas(default=1, maximum=5):
    return Parameter("replicas", gettext_lazy("Replicas"), "integer", default, minimum=1, maximum=maximum)


@dataclass(frozen=True)
class Addon:
    name: str
    title: str
    description: str
    versions: tuple[str, ...]  # oldest first; the last is the one offered first
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    @property
    def latest(self) -> str:
        return self.versions[-1]

    def defaults(self) -> dict:
        return {p.name: p.default for p in self.parameters}

    def clean(self, version: str, values: dict) -> dict:
        """Every parameter judged (unknown ones refused); field-keyed errors."""
        errors = {}
        if version not in self.versions:
            errors["version"] = _("%(addon)s has no version %(version)s (available: %(versions)s).") % {
                "addon": self.title, "version": version, "versions": ", ".join(self.versions)}
        cleaned = {}
        known = {p.name for p in self.parameters}
        for name in values:
            if name not in known:
                errors[name] = _("%(addon)s takes no parameter %(name)s.") % {"addon": self.title, "name": name}
        for parameter in self.parameters:
            try:
                cleaned[parameter.name] = parameter.clean(values.get(parameter.name))
            except ValidationError as error:
                errors[parameter.name] = error.messages[0]
        if errors:
            raise ValidationError(errors)
        return cleaned

    def render(self, version: str, parameters: dict) -> list[dict]:
        """The objects of `version` with `parameters` (already cleaned), labelled as this add-on's."""
        template = _ENGINE.from_string((MANIFESTS / self.name / f"{version}.yaml").read_text())
        objects = [doc for doc in yaml.safe_load_all(template.render(Context(parameters))) if doc]
        for obj in objects:
            labels = obj.setdefault("metadata", {}).setdefault("labels", {})
            labels.update({LABEL_NAME: self.name, LABEL_VERSION: version, MANAGED_BY[0]: MANAGED_BY[1]})
        return objects

    def kinds(self) -> list[tuple[str, str]]:
        """(apiVersion, kind) of every object any version may install, for uninstalling and pruning
        (namespaced kinds first, Namespaces last)."""
        found = []
        for version in self.versions:
            text = (MANIFESTS / self.name / f"{version}.yaml").read_text()
            for api_version, kind in re.findall(r"^apiVersion: (\S+)\nkind: (\S+)", text, re.M):
                if (api_version, kind) not in found:
                    found.append((api_version, kind))
        return sorted(found, key=lambda k: k[1] == "Namespace")


ADDONS = {a.name: a for a in (
    Addon("metrics-server", "metrics-server", gettext_lazy(
        "Resource metrics of nodes and pods for kubectl top and the HorizontalPodAutoscaler (metrics.k8s.io)."),
        ("0.7.1", "0.7.2"), (
            _replicas(),
            Parameter("kubelet_insecure_tls", gettext_lazy("Skip verifying kubelet certificates"), "boolean", False,
                      gettext_lazy("Only for clusters whose kubelets serve self-signed certificates.")),
            _registry("registry.k8s.io"))),
    Addon("kube-state-metrics", "kube-state-metrics", gettext_lazy(
        "Metrics about the state of Kubernetes objects (deployments, pods, nodes) for Prometheus."),
        ("2.12.0", "2.13.0"), (
            _replicas(),
            Parameter("metric_labels_allowlist", gettext_lazy("Labels exported as metrics"), "string", "pods=[app]",
                      gettext_lazy("Which labels of which kinds become metric labels, e.g. pods=[app,team]."),
                      pattern=re.compile(r"^([a-z]+=\[[A-Za-z0-9_.,*/-]*\])?(,[a-z]+=\[[A-Za-z0-9_.,*/-]*\])*$"),
                      pattern_message=gettext_lazy("Use resource=[label,…] pairs, such as pods=[app,team].")),
            _registry("registry.k8s.io"))),
    Addon("node-exporter", "Prometheus node-exporter", gettext_lazy(
        "Hardware and operating-system metrics of every node for Prometheus, as a DaemonSet."),
        ("1.8.1", "1.8.2"), (
            Parameter("port", gettext_lazy("Port"), "integer", 9100, gettext_lazy("Host port the exporter listens on."),
                      minimum=1024, maximum=65535),
            Parameter("on_control_plane", gettext_lazy("Also run on control-plane nodes"), "boolean", True),
            _registry("quay.io"))),
    Addon("ingress-nginx", "NGINX Ingress Controller", gettext_lazy(
        "Routes HTTP and HTTPS traffic to Services according to Ingress objects (ingress-nginx)."),
        ("1.10.1", "1.11.2"), (
            _replicas(maximum=10),
            Parameter("service_type", gettext_lazy("Service type"), "choice", "LoadBalancer",
                      choices=("LoadBalancer", "NodePort", "ClusterIP")),
            Parameter("ingress_class", gettext_lazy("IngressClass name"), "string", "nginx",
                      pattern=_DNS, pattern_message=gettext_lazy("Use lower-case letters, digits and hyphens.")),
            Parameter("default_class", gettext_lazy("Default IngressClass"), "boolean", False,
                      gettext_lazy("Ingresses without an ingressClassName use this controller.")),
            Parameter("proxy_body_size", gettext_lazy("Largest request body"), "string", "1m",
                      pattern=re.compile(r"^[0-9]{1,4}[kmg]?$"),
                      pattern_message=gettext_lazy("A size such as 1m, 512k or 1g.")),
            _registry("registry.k8s.io"))),
    Addon("backup-agent", gettext_lazy("CCE One backup agent"), gettext_lazy(
        "Runs scheduled backups inside the cluster; the node agent adds volume data."),
        ("1.0.0", "1.1.0"), (
            Parameter("log_level", gettext_lazy("Log level"), "choice", "info", choices=("info", "debug", "warning")),
            Parameter("ttl_hours", gettext_lazy("Keep backups for (hours)"), "integer", 720, minimum=1,
                      maximum=87600),
            Parameter("node_agent", gettext_lazy("Node agent (volume data)"), "boolean", False),
            _registry("swr.cn-north-4.myhuaweicloud.com"))),
)}


def get(name: str) -> Addon | None:
    return ADDONS.get(name)
