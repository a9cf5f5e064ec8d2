"""Registered clusters: the Kubernetes clusters under management."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from cceone.iam import anchors


class Vpc(models.Model):
    """A virtual private cloud operators offer in a region's order form."""

    region = models.ForeignKey("iam.Region", on_delete=models.CASCADE, related_name="vpcs")
    name = models.CharField(_("name"), max_length=64)
    cidr = models.CharField(_("CIDR"), max_length=43)

    class Meta:
        ordering = ["region_id", "name"]
        verbose_name = _("VPC")
        verbose_name_plural = _("VPCs")

    def __str__(self):
        return f"{self.name} ({self.cidr})"


class Subnet(models.Model):
    vpc = models.ForeignKey(Vpc, on_delete=models.CASCADE, related_name="subnets")
    name = models.CharField(_("name"), max_length=64)
    cidr = models.CharField(_("CIDR"), max_length=43)
    zone = models.CharField(_("availability zone"), max_length=40, blank=True)

    class Meta:
        ordering = ["vpc_id", "name"]
        verbose_name = _("subnet")
        verbose_name_plural = _("subnets")

    def __str__(self):
        return f"{self.name} ({self.cidr})"


class SecurityGroup(models.Model):
    """Existing groups from the operators' inventory (no account), or groups the order
    form's "auto-create" recorded for one account."""

    vpc = models.ForeignKey(Vpc, on_delete=models.CASCADE, related_name="security_groups")
    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="security_groups")
    name = models.CharField(_("name"), max_length=64)
    auto_created = models.BooleanField(_("auto-created"), default=False)

    class Meta:
        ordering = ["vpc_id", "name"]
        verbose_name = _("security group")
        verbose_name_plural = _("security groups")

    def __str__(self):
        return self.name


class ApiServerSpec(models.Model):
    """A load balancer spec for the API server endpoint (e.g. standard, enhanced)."""

    region = models.ForeignKey("iam.Region", on_delete=models.CASCADE, related_name="apiserver_specs")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=64)
    name_zh = models.CharField(_("name (Chinese)"), max_length=64, blank=True)

    class Meta:
        ordering = ["region_id", "code"]
        verbose_name = _("API server access spec")
        verbose_name_plural = _("API server access specs")

    def __str__(self):
        from django.utils.translation import get_language

        return self.name_zh if self.name_zh and (get_language() or "").startswith("zh") else self.name


def https_only(value: str) -> None:
    """A cloud cluster's endpoint receives its credential on every request: never in clear."""
    if not str(value).lower().startswith("https://"):
        raise ValidationError(_("Use an https:// API endpoint: the cluster's credential is never sent over plain "
                                "HTTP."), code="insecure")


class CloudProviderCluster(models.Model):
    """A cluster of the cloud's own container service that a tenant may associate as a
    cloud registered cluster; reached directly with the credentials kept here."""

    class Edition(models.TextChoices):
        DEDICATED = "cce_dedicated", _("CCE dedicated")
        MANAGED = "cce_managed", _("CCE managed")
        AI = "cce_ai", _("CCE AI")
        SERVERLESS = "sce", _("Serverless SCE")

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="cloud_clusters")
    region = models.ForeignKey("iam.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    name = models.CharField(_("name"), max_length=64)
    edition = models.CharField(_("edition"), max_length=16, choices=Edition.choices)
    api_endpoint = models.URLField(_("API endpoint"), validators=[https_only])
    credentials_encrypted = models.TextField(editable=False, blank=True)
    ca_data = models.TextField(_("CA certificate (PEM)"), blank=True)
    is_running = models.BooleanField(_("running"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cloud-provider cluster")
        verbose_name_plural = _("cloud-provider clusters")

    def __str__(self):
        return f"{self.name} ({self.get_edition_display()})"

    @property
    def token(self) -> str:
        from cceone.crypto import decrypt

        return decrypt(self.credentials_encrypted)

    @token.setter
    def token(self, value: str) -> None:
        from cceone.crypto import encrypt

        self.credentials_encrypted = encrypt(value)


class ClusterQuota(models.Model):
    """How many registered clusters an account may hold (set by operators)."""

    account = models.OneToOneField("iam.Account", on_delete=models.CASCADE, related_name="cluster_quota")
    max_clusters = models.PositiveIntegerField(_("maximum clusters"))

    class Meta:
        verbose_name = _("cluster quota")
        verbose_name_plural = _("cluster quotas")


@anchors.register("cluster", "clusters", "RegisteredClusterUserObjectPermission")
class RegisteredCluster(models.Model):
    class Type(models.TextChoices):
        CLOUD = "cloud", _("Cloud cluster")
        LOCAL = "local", _("Local cluster")
        THIRD_PARTY = "third_party", _("Third-party cluster")

    class Status(models.TextChoices):
        CREATING = "creating", _("Creating")
        PENDING_ACCESS = "pending_access", _("Pending access")
        RUNNING = "running", _("Running")
        DISCONNECTED = "disconnected", _("Disconnected")
        ACCESS_TIMEOUT = "access_timeout", _("Access timeout")
        CHANGING = "changing", _("Changing")
        FROZEN = "frozen", _("Frozen")
        CREATE_FAILED = "create_failed", _("Creation failed")
        DESTROYING = "destroying", _("Destroying")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    class ConnectionMode(models.TextChoices):
        AGENT = "agent", _("Agent")
        DIRECT = "direct", _("Direct")

    audit_type = "cluster"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="clusters")
    name = models.CharField(_("name"), max_length=64)
    cluster_type = models.CharField(_("type"), max_length=16, choices=Type.choices)
    provider = models.CharField(_("provider"), max_length=40, blank=True)
    region = models.ForeignKey("iam.Region", on_delete=models.PROTECT, related_name="clusters",
                               verbose_name=_("region"))
    enterprise_project = models.ForeignKey(
        "iam.EnterpriseProject", on_delete=models.PROTECT, null=True, blank=True,
        related_name="clusters", verbose_name=_("enterprise project"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CREATING,
                              db_index=True)
    kubernetes_version = models.CharField(_("Kubernetes version"), max_length=40, blank=True)
    deletion_protection = models.BooleanField(_("deletion protection"), default=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                related_name="+", verbose_name=_("creator"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # Network settings from the order form (R3.2).
    vpc = models.ForeignKey(Vpc, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                            verbose_name=_("VPC"))
    subnet = models.ForeignKey(Subnet, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("subnet"))
    security_group = models.ForeignKey(SecurityGroup, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("security group"))
    apiserver_spec = models.ForeignKey(ApiServerSpec, on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("API server access"))
    apiserver_eip = models.BooleanField(_("expose API server with an EIP"), default=False)
    eip_address = models.GenericIPAddressField(_("EIP"), null=True, blank=True)
    cloud_cluster = models.ForeignKey(CloudProviderCluster, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="registrations", verbose_name=_("associated cloud cluster"))
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True, editable=False)
    # A cluster is in at most one fleet: a foreign key, so the database enforces it.
    fleet = models.ForeignKey("fleets.Fleet", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="clusters", verbose_name=_("fleet"))

    # Connectivity (R3.6): agents authenticate with a per-cluster token, stored hashed for
    # the hub's lookup and encrypted so the access page can render the agent YAML again.
    connection_mode = models.CharField(_("connection mode"), max_length=8, choices=ConnectionMode.choices,
                                       default=ConnectionMode.AGENT)
    agent_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    agent_token_encrypted = models.TextField(blank=True, editable=False)
    # After a rotation the old token keeps working for a grace period, so the running
    # agents stay connected until the new YAML is applied; then the sweep cuts them off.
    previous_agent_token_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    previous_agent_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    # What the agents last reported (docs/agent-protocol.md, "heartbeat").
    facts = models.JSONField(_("reported facts"), default=dict, blank=True, editable=False)
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True, editable=False)
    disconnected_since = models.DateTimeField(_("disconnected since"), null=True, blank=True, editable=False)
    first_running_at = models.DateTimeField(_("first running at"), null=True, blank=True, editable=False)
    # Clusters reached directly are polled instead (connectivity.poll_direct): failed polls
    # in a row; the second one disconnects the cluster, a successful one resets it.
    failed_polls = models.PositiveSmallIntegerField(default=0, editable=False)
    # The heartbeat that recorded the facts above: the overview sums these rows' figures in
    # one query (R1.2), never the JSON facts nor the whole history.
    latest_heartbeat = models.ForeignKey("ClusterHeartbeat", on_delete=models.SET_NULL, null=True, blank=True,
                                         related_name="+", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        # An unsubscribed cluster stays for the record; its name is free again (a cloud
        # cluster is re-associated under its own name).
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_live_cluster_name",
                                               condition=~models.Q(status="unsubscribed"))]
        permissions = anchors.permissions_for("clusters")
        verbose_name = _("registered cluster")
        verbose_name_plural = _("registered clusters")

    def __str__(self):
        return self.name

    # --- the gateway's target interface (cceone.kube.targets.KubeTarget) ---

    def kube_endpoint(self):
        from cceone.kube.targets import Endpoint, ca_file

        if self.connection_mode == self.ConnectionMode.DIRECT and self.cloud_cluster_id:
            cloud = self.cloud_cluster
            if not cloud.api_endpoint.lower().startswith("https://"):
                from django.utils.translation import gettext

                from cceone.kube.gateway import KubeError

                # Set before endpoints were validated, or behind the admin's back.
                raise KubeError(gettext("Cluster %(name)s has a plain http:// API endpoint; its credential is never "
                                        "sent over plain HTTP. Ask the operator for an https:// endpoint.")
                                % {"name": self.name}, None, "InsecureEndpoint")
            return Endpoint(host=cloud.api_endpoint.rstrip("/"), cache_key=f"cluster-{self.pk}", token=cloud.token,
                            ca_file=ca_file(cloud.ca_data))
        # Agent-connected clusters are reached only through the hub's internal proxy.
        return Endpoint(host=f"{settings.CCEONE_HUB_INTERNAL_URL}/clusters/{self.pk}",
                        cache_key=f"cluster-{self.pk}", headers={"X-Hub-Secret": settings.CCEONE_HUB_SECRET})

    def unreachable_message(self, *, answered: bool = True) -> str:
        from django.utils.translation import gettext

        msgid, params = self.unreachable_reason(answered=answered)
        return gettext(msgid) % params

    def unreachable_reason(self, *, answered: bool = True) -> tuple[str, dict]:
        """unreachable_message as an English msgid and its parameters."""
        from django.utils import formats, timezone
        from django.utils.translation import gettext_noop as N_

        if not answered:
            # Nothing took the connection: blaming the agent would send the user to the wrong place.
            if self.connection_mode == self.ConnectionMode.DIRECT:
                return N_("Cluster %(name)s is unreachable: its API server does not answer."), {"name": self.name}
            return N_("Cluster %(name)s is unreachable: the access hub does not answer."), {"name": self.name}
        if self.disconnected_since:
            when = formats.date_format(timezone.localtime(self.disconnected_since), "Y-m-d H:i:s")
            return N_("Cluster %(name)s is disconnected since %(time)s."), {"name": self.name, "time": when}
        return N_("Cluster %(name)s is unreachable: no agent is connected."), {"name": self.name}


class RegisteredClusterUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE)


class ClusterHeartbeat(models.Model):
    """The history of reported facts, one row per heartbeat, summarised for metering."""

    cluster = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE, related_name="heartbeats")
    time = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=16, choices=RegisteredCluster.Status.choices)
    kubernetes_version = models.CharField(max_length=40, blank=True)
    nodes_total = models.PositiveIntegerField(default=0)
    nodes_ready = models.PositiveIntegerField(default=0)
    vcpu = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    # R1.2 allocation: pod requests against the allocatable of Ready nodes (clusters.facts.allocation).
    cpu_requested = models.BigIntegerField(default=0)  # millicores
    cpu_allocatable = models.BigIntegerField(default=0)  # millicores
    memory_requested = models.BigIntegerField(default=0)  # bytes
    memory_allocatable = models.BigIntegerField(default=0)  # bytes
    # CPU requests per namespace in millicores ({"shop": 1500}); what showback weighs a
    # cluster-hour's charge by. Empty when the agent did not report them (or no agent).
    namespace_cpu = models.JSONField(default=dict, blank=True)

    iam_anchor_path = "cluster"

    class Meta:
        ordering = ["-time"]
        indexes = [models.Index(fields=["cluster", "-time"])]


class ClusterStatusChange(models.Model):
    """One change of a cluster's status: the history billing and the overview read.

    Written only by `clusters.transitions.change_status()`; the audit log records the same
    change for people, this table keeps it as a fact for the code."""

    cluster = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=16, blank=True,
                                   choices=RegisteredCluster.Status.choices)  # blank: the cluster's first status
    to_status = models.CharField(_("to"), max_length=16, choices=RegisteredCluster.Status.choices)
    at = models.DateTimeField(_("time"), db_index=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True)

    iam_anchor_path = "cluster"

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["cluster", "at"])]
        verbose_name = _("cluster status change")
        verbose_name_plural = _("cluster status changes")

    def __str__(self):
        return f"{self.cluster_id}: {self.from_status or '-'} → {self.to_status}"


class PlatformToken(models.Model):
    """A credential the platform issues to one of its own services for one cluster, used
    through the hub's kubeconfig proxy like a user's kubeconfig (only its SHA-256 is stored).
    A federation's Karmada reaches each member with two: one acting as the `karmada-<member>`
    service account that joining created, and one that relays Karmada's own impersonation
    headers (`relays_impersonation`). `holder` names who holds it (e.g. `federation:12`), so
    leaving, unsubscribing and freezing revoke exactly that holder's tokens."""

    cluster = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE, related_name="platform_tokens")
    holder = models.CharField(max_length=64, db_index=True)
    purpose = models.CharField(max_length=32)
    username = models.CharField(max_length=255)
    groups = models.JSONField(default=list)
    relays_impersonation = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.holder} {self.purpose} on {self.cluster_id}"


class HubKubeconfig(models.Model):
    """A user's credential for the hub's kubeconfig proxy on one target (a cluster here, a
    federation's Karmada in `federation`); only its SHA-256 is stored. A concrete model adds
    the target's foreign key and the user's; `clusters.kubeconfigs.Issuer` issues and revokes
    either kind."""

    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]
        verbose_name = _("kubeconfig")
        verbose_name_plural = _("kubeconfigs")

    def usable(self, now) -> bool:
        """Neither revoked nor expired, and its user still active."""
        return self.revoked_at is None and not (self.expires_at and self.expires_at <= now) and self.user.is_active


class KubeconfigToken(HubKubeconfig):
    """A user's kubeconfig for one registered cluster."""

    cluster = models.ForeignKey(RegisteredCluster, on_delete=models.CASCADE, related_name="kubeconfig_tokens")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="kubeconfig_tokens")

    iam_anchor_path = "cluster"
