from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from cceone import crypto

DNS_LABEL = RegexValidator(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", _("Use lower-case letters, digits and hyphens."))
PORT = RegexValidator(r"^([0-9]{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$", _("A port number or a port name."))
PREFIX = RegexValidator(r"^(/[A-Za-z0-9._~\-/]*)?$", _("A path such as /prometheus, or nothing."))


class PrometheusEndpoint(models.Model):
    """Where a cluster's Prometheus answers: a Service inside the cluster, reached through the
    API server's service proxy over the agent's tunnel, or an external URL."""

    class Mode(models.TextChoices):
        IN_CLUSTER = "in_cluster", _("A service in the cluster")
        EXTERNAL = "external", _("An external URL")

    class Scheme(models.TextChoices):
        HTTP = "http", "http"
        HTTPS = "https", "https"

    cluster = models.OneToOneField("clusters.RegisteredCluster", on_delete=models.CASCADE,
                                   related_name="prometheus_endpoint")
    mode = models.CharField(_("where Prometheus runs"), max_length=16, choices=Mode.choices, default=Mode.IN_CLUSTER)
    namespace = models.CharField(_("namespace"), max_length=63, blank=True, validators=[DNS_LABEL])
    service = models.CharField(_("service"), max_length=63, blank=True, validators=[DNS_LABEL])
    port = models.CharField(_("port"), max_length=15, blank=True, validators=[PORT])
    scheme = models.CharField(_("scheme"), max_length=5, choices=Scheme.choices, default=Scheme.HTTP)
    path_prefix = models.CharField(_("path prefix"), max_length=200, blank=True, validators=[PREFIX])
    url = models.URLField(_("URL"), max_length=500, blank=True)
    token_encrypted = models.TextField(blank=True, editable=False)
    verify_tls = models.BooleanField(_("verify the TLS certificate"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey("iam.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True, blank=True)
    check_message = models.TextField(blank=True)

    audit_type = "cluster"

    def __str__(self):
        return self.describe()

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def token(self) -> str:
        return crypto.decrypt(self.token_encrypted) if self.token_encrypted else ""

    @token.setter
    def token(self, value: str) -> None:
        self.token_encrypted = crypto.encrypt(value) if value else ""

    def service_path(self) -> str:
        """The service proxy's path for this Service (`[scheme:]name[:port]`)."""
        target = f"{self.scheme}:{self.service}:{self.port}" if self.port else f"{self.scheme}:{self.service}:"
        return f"/api/v1/namespaces/{self.namespace}/services/{target}/proxy{self.path_prefix.rstrip('/')}"

    def describe(self) -> str:
        if self.mode == self.Mode.EXTERNAL:
            return self.url
        return f"{self.service}.{self.namespace}:{self.port}{self.path_prefix}" if self.port else \
            f"{self.service}.{self.namespace}{self.path_prefix}"
