"""The guided create forms, one per kind the manual creates by form (`Kind.create_form`).

A form only builds a manifest: creation goes through the same service as YAML
(services.create_objects, a server-side dry run first), so both paths behave alike, and the
API takes the same fields (cceone.api.form_serializer). The workload forms share one
container and pod template (`WorkloadForm`); each kind adds what it asks beyond it.
"""
import shlex

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from kubernetes.utils import parse_quantity

from .forms import ConsoleForm, NamespacedForm, PairsField, dns_label, dns_subdomain

ACCESS_MODES = [("ReadWriteOnce", "ReadWriteOnce"), ("ReadOnlyMany", "ReadOnlyMany"),
                ("ReadWriteMany", "ReadWriteMany")]
# A cron schedule: five fields, or a macro such as @daily.
cron = RegexValidator(r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$", _(
    "Give five fields (minute hour day month weekday), e.g. 0 3 * * *."))
absolute_path = RegexValidator(r"^/", _("Start the path with /."))


def quantity_field(label, initial, help_text):
    return forms.CharField(label=label, max_length=32, initial=initial, help_text=help_text,
                           validators=[_valid_quantity])


def _valid_quantity(value: str) -> None:
    try:
        if parse_quantity(value) <= 0:
            raise ValueError(value)
    except (ValueError, TypeError):
        raise forms.ValidationError(_("“%(value)s” is not a size, e.g. 10Gi.") % {"value": value}) from None


class ClusterScopedForm(ConsoleForm):
    """An object outside namespaces (a PersistentVolume, a StorageClass): its name is a DNS subdomain."""

    name = forms.CharField(label=_("Name"), max_length=253, validators=[dns_subdomain])

    def metadata(self, **extra) -> dict:
        return {"name": self.cleaned_data["name"], **extra}


class NamespaceForm(ConsoleForm):
    name = forms.CharField(label=_("Name"), max_length=63, validators=[dns_label])
    labels = PairsField(label=_("Labels"), help_text=_("One key=value per line."))

    def manifest(self) -> dict:
        return {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": self.cleaned_data["name"], "labels": self.cleaned_data["labels"]}}


# --- workloads ---------------------------------------------------------------------------

class WorkloadForm(NamespacedForm):
    """One container, labelled app=<name>: the pod template every workload kind runs."""

    api_version, kind = "apps/v1", ""
    image = forms.CharField(label=_("Container image"), max_length=255, initial="nginx:1.27")
    command = forms.CharField(label=_("Command"), max_length=1000, required=False,
                              help_text=_("Overrides the image's entrypoint; quote arguments as on a command line."))
    port = forms.IntegerField(label=_("Container port"), min_value=1, max_value=65535, required=False)
    cpu_request = forms.CharField(label=_("CPU request"), required=False, max_length=16,
                                  help_text=_("e.g. 250m"))
    memory_request = forms.CharField(label=_("Memory request"), required=False, max_length=16,
                                     help_text=_("e.g. 256Mi"))
    env = PairsField(label=_("Environment variables"), commas=False, help_text=_("One NAME=value per line."))

    def clean_command(self):
        try:
            return shlex.split(self.cleaned_data["command"] or "")
        except ValueError:
            raise forms.ValidationError(_("Close the quotes in the command.")) from None

    def labels(self) -> dict:
        return {"app": self.cleaned_data["name"]}

    def container(self) -> dict:
        data = self.cleaned_data
        container = {"name": data["name"], "image": data["image"]}
        if data.get("command"):
            container["command"] = data["command"]
        if data.get("port"):
            container["ports"] = [{"containerPort": data["port"]}]
        requests = {k: v for k, v in (("cpu", data.get("cpu_request")), ("memory", data.get("memory_request"))) if v}
        if requests:
            container["resources"] = {"requests": requests}
        if data["env"]:
            container["env"] = [{"name": k, "value": v} for k, v in data["env"].items()]
        return container

    def pod_template(self, **pod_spec) -> dict:
        return {"metadata": {"labels": self.labels()}, "spec": {"containers": [self.container()], **pod_spec}}

    def workload_spec(self) -> dict:
        return {"selector": {"matchLabels": self.labels()}, "template": self.pod_template()}

    def manifest(self) -> dict:
        return {"apiVersion": self.api_version, "kind": self.kind, "metadata": self.metadata(labels=self.labels()),
                "spec": self.workload_spec()}


class DeploymentForm(WorkloadForm):
    kind = "Deployment"
    replicas = forms.IntegerField(label=_("Replicas"), min_value=0, max_value=1000, initial=2)
    field_order = ["name", "namespace", "image", "replicas"]

    def workload_spec(self) -> dict:
        return {"replicas": self.cleaned_data["replicas"], **super().workload_spec()}


class StatefulSetForm(DeploymentForm):
    kind = "StatefulSet"
    service_name = forms.CharField(label=_("Service name"), max_length=63, required=False, validators=[dns_label],
                                   help_text=_("The headless Service giving its pods their names; default: its "
                                               "own name."))
    field_order = ["name", "namespace", "image", "replicas", "service_name"]

    def workload_spec(self) -> dict:
        return {**super().workload_spec(), "serviceName": self.cleaned_data["service_name"] or
                self.cleaned_data["name"]}


class DaemonSetForm(WorkloadForm):
    kind = "DaemonSet"


class JobForm(WorkloadForm):
    api_version, kind = "batch/v1", "Job"
    RESTART_POLICIES = [("Never", _("Never")), ("OnFailure", _("On failure"))]

    completions = forms.IntegerField(label=_("Completions"), min_value=1, max_value=10000, initial=1)
    parallelism = forms.IntegerField(label=_("Parallelism"), min_value=1, max_value=1000, initial=1)
    backoff_limit = forms.IntegerField(label=_("Backoff limit"), min_value=0, max_value=100, initial=6,
                                       help_text=_("Retries before the job is marked failed."))
    restart_policy = forms.ChoiceField(label=_("Restart policy"), choices=RESTART_POLICIES, initial="Never")
    field_order = ["name", "namespace", "image", "command"]

    def job_spec(self) -> dict:
        data = self.cleaned_data
        # A job's pods are not selected by a label the form sets: Kubernetes labels them itself.
        return {"completions": data["completions"], "parallelism": data["parallelism"],
                "backoffLimit": data["backoff_limit"],
                "template": self.pod_template(restartPolicy=data["restart_policy"])}

    def workload_spec(self) -> dict:
        return self.job_spec()


class CronJobForm(JobForm):
    kind = "CronJob"
    POLICIES = [("Allow", _("Allow")), ("Forbid", _("Forbid")), ("Replace", _("Replace"))]

    schedule = forms.CharField(label=_("Schedule"), max_length=100, initial="0 3 * * *", validators=[cron],
                               help_text=_("Cron format: minute hour day month weekday, e.g. 0 3 * * *."))
    concurrency_policy = forms.ChoiceField(label=_("Concurrency policy"), choices=POLICIES, initial="Forbid",
                                           help_text=_("Whether a run may start while the last one still runs."))
    suspend = forms.BooleanField(label=_("Suspend"), required=False)
    field_order = ["name", "namespace", "schedule", "image", "command"]

    def workload_spec(self) -> dict:
        data = self.cleaned_data
        return {"schedule": " ".join(data["schedule"].split()), "concurrencyPolicy": data["concurrency_policy"],
                "suspend": data["suspend"], "jobTemplate": {"spec": self.job_spec()}}


# --- network -------------------------------------------------------------------------------

class ServiceForm(NamespacedForm):
    TYPES = [("ClusterIP", "ClusterIP"), ("NodePort", "NodePort"), ("LoadBalancer", "LoadBalancer")]

    service_type = forms.ChoiceField(label=_("Type"), choices=TYPES, initial="ClusterIP")
    selector = PairsField(label=_("Selector"), required=True, help_text=_("The pods' labels, e.g. app=my-app."))
    port = forms.IntegerField(label=_("Port"), min_value=1, max_value=65535, initial=80)
    target_port = forms.IntegerField(label=_("Target port"), min_value=1, max_value=65535, initial=80)
    protocol = forms.ChoiceField(label=_("Protocol"), choices=[("TCP", "TCP"), ("UDP", "UDP")], initial="TCP")

    def manifest(self) -> dict:
        data = self.cleaned_data
        return {"apiVersion": "v1", "kind": "Service", "metadata": self.metadata(),
                "spec": {"type": data["service_type"], "selector": data["selector"],
                         "ports": [{"port": data["port"], "targetPort": data["target_port"],
                                    "protocol": data["protocol"]}]}}


class IngressForm(NamespacedForm):
    PATH_TYPES = [("Prefix", _("Prefix")), ("Exact", _("Exact")),
                  ("ImplementationSpecific", "ImplementationSpecific")]

    host = forms.CharField(label=_("Domain name"), max_length=253, required=False,
                           validators=[RegexValidator(r"^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", _(
                               "Give a domain name such as app.example.com (or *.example.com)."))],
                           help_text=_("Leave empty for requests to any domain."))
    path = forms.CharField(label=_("URL path"), max_length=1000, initial="/", validators=[absolute_path])
    path_type = forms.ChoiceField(label=_("Path matching"), choices=PATH_TYPES, initial="Prefix")
    service = forms.CharField(label=_("Backend Service"), max_length=63, validators=[dns_label])
    service_port = forms.IntegerField(label=_("Service port"), min_value=1, max_value=65535, initial=80)
    ingress_class = forms.CharField(label=_("Ingress class"), max_length=253, required=False,
                                    validators=[dns_subdomain], help_text=_("Empty: the cluster's default."))
    tls_secret = forms.CharField(label=_("Certificate Secret"), max_length=253, required=False,
                                 validators=[dns_subdomain],
                                 help_text=_("A Secret of type kubernetes.io/tls: serves the domain over HTTPS."))

    def clean(self):
        data = super().clean()
        if data.get("tls_secret") and not data.get("host"):
            self.add_error("host", _("HTTPS needs the domain name its certificate is for."))
        return data

    def manifest(self) -> dict:
        data = self.cleaned_data
        rule = {"http": {"paths": [{"path": data["path"], "pathType": data["path_type"], "backend": {
            "service": {"name": data["service"], "port": {"number": data["service_port"]}}}}]}}
        if data["host"]:
            rule["host"] = data["host"]
        spec = {"rules": [rule]}
        if data["ingress_class"]:
            spec["ingressClassName"] = data["ingress_class"]
        if data["tls_secret"]:
            spec["tls"] = [{"hosts": [data["host"]], "secretName": data["tls_secret"]}]
        return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": self.metadata(), "spec": spec}


# --- configuration -------------------------------------------------------------------------

class ConfigMapForm(NamespacedForm):
    data = PairsField(label=_("Data"), commas=False, help_text=_("One key=value per line."))

    def manifest(self) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.metadata(), "data": self.cleaned_data["data"]}


class SecretForm(NamespacedForm):
    data = PairsField(label=_("Data"), commas=False, required=True,
                      help_text=_("One key=value per line; values are stored base64-encoded."),
                      widget=forms.Textarea(attrs={"rows": 3, "class": "font-monospace", "autocomplete": "off"}))

    def manifest(self) -> dict:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": self.metadata(), "type": "Opaque",
                "stringData": self.cleaned_data["data"]}


# --- storage -------------------------------------------------------------------------------

class StorageClassChoice(forms.CharField):
    """A StorageClass by name; empty is the cluster's default class."""

    def __init__(self, **kwargs):
        super().__init__(label=_("Storage class"), max_length=253, required=False, validators=[dns_subdomain],
                         **kwargs)


class PersistentVolumeClaimForm(NamespacedForm):
    VOLUME_MODES = [("Filesystem", _("File system")), ("Block", _("Block device"))]

    storage = quantity_field(_("Capacity"), "10Gi", _("e.g. 10Gi"))
    access_mode = forms.ChoiceField(label=_("Access mode"), choices=ACCESS_MODES, initial="ReadWriteOnce")
    storage_class = StorageClassChoice(help_text=_("Empty: the cluster's default class."))
    volume_mode = forms.ChoiceField(label=_("Volume mode"), choices=VOLUME_MODES, initial="Filesystem")

    def manifest(self) -> dict:
        data = self.cleaned_data
        spec = {"accessModes": [data["access_mode"]], "volumeMode": data["volume_mode"],
                "resources": {"requests": {"storage": data["storage"]}}}
        if data["storage_class"]:
            spec["storageClassName"] = data["storage_class"]
        return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": self.metadata(), "spec": spec}


RECLAIM_POLICIES = [("Retain", _("Retain")), ("Delete", _("Delete"))]


class PersistentVolumeForm(ClusterScopedForm):
    SOURCES = [("hostPath", _("Host path")), ("nfs", "NFS")]

    capacity = quantity_field(_("Capacity"), "10Gi", _("e.g. 10Gi"))
    access_mode = forms.ChoiceField(label=_("Access mode"), choices=ACCESS_MODES, initial="ReadWriteOnce")
    reclaim_policy = forms.ChoiceField(label=_("Reclaim policy"), choices=RECLAIM_POLICIES, initial="Retain",
                                       help_text=_("What happens to the volume when its claim is deleted."))
    storage_class = StorageClassChoice(help_text=_("Claims asking for this class bind to it."))
    source = forms.ChoiceField(label=_("Volume type"), choices=SOURCES, initial="hostPath")
    path = forms.CharField(label=_("Path"), max_length=1000, validators=[absolute_path],
                           help_text=_("The directory on the node, or the export on the NFS server."))
    server = forms.CharField(label=_("NFS server"), max_length=253, required=False,
                             help_text=_("For NFS: the server's address."))

    def clean(self):
        data = super().clean()
        if data.get("source") == "nfs" and not data.get("server"):
            self.add_error("server", _("An NFS volume needs its server."))
        return data

    def manifest(self) -> dict:
        data = self.cleaned_data
        source = {"nfs": {"server": data["server"], "path": data["path"]}} if data["source"] == "nfs" \
            else {"hostPath": {"path": data["path"]}}
        spec = {"capacity": {"storage": data["capacity"]}, "accessModes": [data["access_mode"]],
                "persistentVolumeReclaimPolicy": data["reclaim_policy"], **source}
        if data["storage_class"]:
            spec["storageClassName"] = data["storage_class"]
        return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": self.metadata(), "spec": spec}


class StorageClassForm(ClusterScopedForm):
    BINDING_MODES = [("WaitForFirstConsumer", "WaitForFirstConsumer"), ("Immediate", _("Immediate"))]

    provisioner = forms.CharField(label=_("Provisioner"), max_length=253, initial="rancher.io/local-path",
                                  help_text=_("The volume plugin or CSI driver creating its volumes."))
    reclaim_policy = forms.ChoiceField(label=_("Reclaim policy"), choices=RECLAIM_POLICIES, initial="Delete")
    binding_mode = forms.ChoiceField(label=_("Binding mode"), choices=BINDING_MODES, initial="WaitForFirstConsumer")
    allow_expansion = forms.BooleanField(label=_("Allow volume expansion"), required=False)
    parameters = PairsField(label=_("Parameters"), commas=False, help_text=_("One key=value per line, as the "
                                                                             "provisioner documents them."))
    default = forms.BooleanField(label=_("Default class"), required=False,
                                 help_text=_("Claims naming no class use it."))

    def manifest(self) -> dict:
        data = self.cleaned_data
        annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if data["default"] else {}
        manifest = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                    "metadata": self.metadata(annotations=annotations), "provisioner": data["provisioner"],
                    "reclaimPolicy": data["reclaim_policy"], "volumeBindingMode": data["binding_mode"],
                    "allowVolumeExpansion": data["allow_expansion"]}
        if data["parameters"]:
            manifest["parameters"] = data["parameters"]
        return manifest
