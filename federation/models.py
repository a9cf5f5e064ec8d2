"""Federations (R5): Karmada control planes a tenant orders, reached by the console as clients."""
import hashlib

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from guardian.models import UserObjectPermissionBase

from cceone.iam import anchors
from clusters.models import HubKubeconfig, https_only


class KarmadaControlPlane(models.Model):
    """A Karmada API server the console can reach, with its admin credentials (encrypted at
    rest). Operators add pre-registered ones in the admin; the sandbox provisioner records the
    sandbox Karmada; the karmada-operator provisioner creates one per federation. A federation
    holds at most one, and an unsubscribed or failed federation gives it back."""

    class Source(models.TextChoices):
        PRE_REGISTERED = "pre_registered", _("Pre-registered")
        SANDBOX = "sandbox", _("Sandbox")
        OPERATOR = "karmada_operator", _("Karmada operator")

    name = models.CharField(_("name"), max_length=64)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.PRE_REGISTERED)
    region = models.ForeignKey("iam.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("region"), help_text=_("Empty: offered to orders of every region."))
    # Blank until karmada-operator has written the admin kubeconfig; never plain HTTP (the admin
    # token goes with every request).
    api_endpoint = models.URLField(_("API endpoint"), blank=True, validators=[https_only])
    credentials_encrypted = models.TextField(editable=False, blank=True)
    ca_data = models.TextField(_("CA certificate (PEM)"), blank=True)
    # Or a client certificate (karmada-operator's admin kubeconfig authenticates with one).
    client_cert = models.TextField(_("client certificate (PEM)"), blank=True)
    client_key_encrypted = models.TextField(editable=False, blank=True)
    # karmada-operator: the `Karmada` object in a host cluster that runs this control plane.
    host_cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", verbose_name=_("host cluster"))
    host_namespace = models.CharField(_("host namespace"), max_length=63, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("Karmada control plane")
        verbose_name_plural = _("Karmada control planes")

    def __str__(self):
        return self.name

    @property
    def token(self) -> str:
        from cceone.crypto import decrypt

        return decrypt(self.credentials_encrypted)

    @token.setter
    def token(self, value: str) -> None:
        from cceone.crypto import encrypt

        self.credentials_encrypted = encrypt(value)

    @property
    def client_key(self) -> str:
        from cceone.crypto import decrypt

        return decrypt(self.client_key_encrypted) if self.client_key_encrypted else ""

    @client_key.setter
    def client_key(self, value: str) -> None:
        from cceone.crypto import encrypt

        self.client_key_encrypted = encrypt(value) if value else ""


class KarmadaOperatorHost(models.Model):
    """Where the karmada-operator provisioner creates control planes for a region's orders: a
    registered cluster running karmada-operator, reached through the gateway."""

    region = models.OneToOneField("iam.Region", on_delete=models.CASCADE, related_name="+",
                                  verbose_name=_("region"))
    cluster = models.ForeignKey("clusters.RegisteredCluster", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("host cluster"))
    namespace = models.CharField(_("namespace"), max_length=63, default="karmada-system")

    class Meta:
        verbose_name = _("karmada-operator host")
        verbose_name_plural = _("karmada-operator hosts")

    def __str__(self):
        return f"{self.cluster} / {self.namespace}"


class FederationQuota(models.Model):
    """How many federations an account may hold (set by operators)."""

    account = models.OneToOneField("iam.Account", on_delete=models.CASCADE, related_name="federation_quota")
    max_federations = models.PositiveIntegerField(_("maximum federations"))

    class Meta:
        verbose_name = _("federation quota")
        verbose_name_plural = _("federation quotas")


@anchors.register("federation", "federations", "FederationUserObjectPermission")
class Federation(models.Model):
    class Status(models.TextChoices):
        CREATING = "creating", _("Creating")
        RUNNING = "running", _("Running")
        FAILED = "failed", _("Failed")
        CHANGING = "changing", _("Changing")
        FROZEN = "frozen", _("Frozen")
        UNSUBSCRIBING = "unsubscribing", _("Unsubscribing")
        UNSUBSCRIBED = "unsubscribed", _("Unsubscribed")

    audit_type = "federation"

    account = models.ForeignKey("iam.Account", on_delete=models.CASCADE, related_name="federations")
    name = models.CharField(_("name"), max_length=40)
    region = models.ForeignKey("iam.Region", on_delete=models.PROTECT, related_name="federations",
                               verbose_name=_("region"))
    enterprise_project = models.ForeignKey(
        "iam.EnterpriseProject", on_delete=models.PROTECT, null=True, blank=True,
        related_name="federations", verbose_name=_("enterprise project"),
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.CREATING,
                              db_index=True)
    karmada_version = models.CharField(_("Karmada version"), max_length=40, blank=True)
    deletion_protection = models.BooleanField(_("deletion protection"), default=True)
    is_sandbox = models.BooleanField(_("sandbox"), default=False)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                related_name="+", verbose_name=_("creator"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # A fleet joins at most one federation and a federation takes at most one fleet (R4.5):
    # one-to-one, so the database enforces both. Unsubscribing needs it empty.
    fleet = models.OneToOneField("fleets.Fleet", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="federation", verbose_name=_("fleet"))
    # Network settings from the order form (R5.1).
    vpc = models.ForeignKey("clusters.Vpc", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                            verbose_name=_("VPC"))
    subnet = models.ForeignKey("clusters.Subnet", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("subnet"))
    security_group = models.ForeignKey("clusters.SecurityGroup", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("security group"))
    apiserver_spec = models.ForeignKey("clusters.ApiServerSpec", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+", verbose_name=_("API server access"))
    apiserver_eip = models.BooleanField(_("expose API server with an EIP"), default=False)
    eip_address = models.GenericIPAddressField(_("EIP"), null=True, blank=True)
    # Provisioning: which provisioner serves the order, and the control plane it gave.
    provisioner = models.CharField(_("provisioner"), max_length=20, editable=False)
    control_plane = models.OneToOneField(KarmadaControlPlane, on_delete=models.PROTECT, null=True, blank=True,
                                         related_name="federation", verbose_name=_("control plane"))
    first_running_at = models.DateTimeField(_("first running at"), null=True, blank=True, editable=False)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        # An unsubscribed federation stays for the record; its name is free again.
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="uniq_live_federation_name",
                                               condition=~models.Q(status="unsubscribed"))]
        permissions = anchors.permissions_for("federations")
        verbose_name = _("federation")
        verbose_name_plural = _("federations")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("federation:detail", args=[self.pk])

    # --- the gateway's target interface (cceone.kube.targets.KubeTarget) ---

    def kube_endpoint(self):
        from cceone.kube.gateway import KubeError
        from cceone.kube.targets import Endpoint, ca_file, client_files

        plane = self.control_plane
        if plane is None or not plane.api_endpoint:
            raise KubeError(self.unreachable_message(), None, "Unreachable")
        if not plane.api_endpoint.lower().startswith("https://"):
            from django.utils.translation import gettext

            # Recorded before endpoints were validated, or behind the admin's back.
            raise KubeError(gettext("Federation %(name)s has a plain http:// API endpoint; its credential is never "
                                    "sent over plain HTTP.") % {"name": self.name}, None, "InsecureEndpoint")
        # Discovery is cached per endpoint: another control plane never answers from this one's cache.
        endpoint_hash = hashlib.sha256(plane.api_endpoint.encode()).hexdigest()[:12]
        cert, key = client_files(plane.client_cert, plane.client_key)
        return Endpoint(host=plane.api_endpoint.rstrip("/"), cache_key=f"federation-{self.pk}-{endpoint_hash}",
                        token=plane.token or None, ca_file=ca_file(plane.ca_data), cert_file=cert, key_file=key)

    def unreachable_message(self, *, answered: bool = True) -> str:
        return translated(*self.unreachable_reason(answered=answered))

    def unreachable_reason(self, *, answered: bool = True) -> tuple[str, dict]:
        """unreachable_message as an English msgid and its parameters."""
        from django.utils.translation import gettext_noop as N_

        if self.control_plane_id is None:
            return N_("Federation %(name)s has no control plane."), {"name": self.name}
        return N_("Federation %(name)s is unreachable: its Karmada API server does not answer."), {"name": self.name}


class FederationUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Federation, on_delete=models.CASCADE)


class FederationStatusChange(models.Model):
    """One change of a federation's status, written only by `federation.transitions.change_status()`:
    the history billing meters and the overview shows."""

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=16, blank=True, choices=Federation.Status.choices)
    to_status = models.CharField(_("to"), max_length=16, choices=Federation.Status.choices)
    at = models.DateTimeField(_("time"), db_index=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    reason_params = models.JSONField(default=dict, blank=True)

    iam_anchor_path = "federation"

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("federation status change")
        verbose_name_plural = _("federation status changes")

    @property
    def display_reason(self) -> str:
        return translated(self.reason, self.reason_params)


def translated(msgid: str, params: dict | None) -> str:
    """A reason stored as an English msgid with its %-parameters, in the reader's language
    (text that is no msgid, such as Karmada's own condition messages, shows as it is)."""
    from django.utils.translation import gettext

    if not msgid:
        return ""
    text = gettext(msgid)
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        return text


class FederationMember(models.Model):
    """A registered cluster of the federation's fleet as a Karmada member (R5.2), joined in Push
    mode through the hub (`federation/members.py`). The row is the truth for what should be
    joined; the Karmada Cluster object's Ready condition says whether it is connected."""

    class Status(models.TextChoices):
        JOINING = "joining", _("Joining")
        CONNECTED = "connected", _("Connected")
        FAILED = "failed", _("Failed")
        LEAVING = "leaving", _("Leaving")

    class Network(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="members")
    # A cluster is in one fleet, a fleet in one federation: one member row per cluster.
    cluster = models.OneToOneField("clusters.RegisteredCluster", on_delete=models.CASCADE,
                                   related_name="federation_member", verbose_name=_("cluster"))
    name = models.CharField(_("member name"), max_length=48)
    status = models.CharField(_("join status"), max_length=12, choices=Status.choices, default=Status.JOINING)
    # Why it failed or waits: an English msgid and its %-parameters, read in the reader's language.
    reason = models.TextField(_("reason"), blank=True)
    reason_params = models.JSONField(default=dict, blank=True)
    network = models.CharField(_("network type"), max_length=8, choices=Network.choices, default=Network.PUBLIC)
    cluster_uid = models.CharField(_("cluster ID"), max_length=64, blank=True)
    # When Karmada last got this member's Cluster and tokens: a joining member with it waits
    # for Ready instead of being joined again (with new tokens) at every sync.
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["federation", "name"], name="uniq_federation_member_name")]
        verbose_name = _("federation member")
        verbose_name_plural = _("federation members")

    def __str__(self):
        return self.name

    @property
    def display_reason(self) -> str:
        return translated(self.reason, self.reason_params)


class FederationKubeconfig(HubKubeconfig):
    """A user's credential for the federation's Karmada API server through the hub's kubeconfig
    proxy (R5.4), as `clusters.KubeconfigToken` is for a cluster."""

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="kubeconfigs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    iam_anchor_path = "federation"


class MemberConditionChange(models.Model):
    """A member's Ready condition as Karmada reported it, one row per transition, recorded on
    our side (`federation/failover.py`) so the failover view keeps a member's history after
    Karmada has overwritten the condition. Unique on the transition: every reader may record."""

    class Ready(models.TextChoices):
        TRUE = "True", _("Ready")
        FALSE = "False", _("Not ready")
        UNKNOWN = "Unknown", _("Unknown")

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="member_conditions")
    member = models.CharField(_("member name"), max_length=253)
    status = models.CharField(_("Ready"), max_length=8, choices=Ready.choices)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    message = models.TextField(_("message"), blank=True)
    # The condition's lastTransitionTime (when Karmada gives none: when we first saw the status).
    transitioned_at = models.DateTimeField(_("changed at"))
    observed_at = models.DateTimeField(_("observed at"), db_index=True)

    iam_anchor_path = "federation"

    class Meta:
        ordering = ["-transitioned_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["federation", "member", "status", "transitioned_at"],
                                               name="uniq_member_condition_transition")]
        verbose_name = _("member condition change")
        verbose_name_plural = _("member condition changes")


class PlacementSnapshot(models.Model):
    """Where a ResourceBinding's replicas were (`spec.clusters`) each time it changed, as we
    saw it: the "before" of a failover once Karmada has finished its graceful eviction and
    forgotten it. `sequence` numbers a binding's snapshots, so two readers recording the same
    change at once write one row."""

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="placement_snapshots")
    namespace = models.CharField(_("namespace"), max_length=253)
    binding = models.CharField(_("ResourceBinding"), max_length=253)
    kind = models.CharField(_("kind"), max_length=63)
    name = models.CharField(_("name"), max_length=253)
    sequence = models.PositiveIntegerField()
    clusters = models.JSONField(default=dict)  # member → replicas
    evictions = models.JSONField(default=list, blank=True)  # gracefulEvictionTasks, as read
    observed_at = models.DateTimeField(_("observed at"), db_index=True)

    iam_anchor_path = "federation"

    class Meta:
        ordering = ["-sequence"]
        constraints = [models.UniqueConstraint(fields=["federation", "namespace", "binding", "sequence"],
                                               name="uniq_placement_snapshot_sequence")]
        verbose_name = _("placement snapshot")
        verbose_name_plural = _("placement snapshots")


class FederationMigration(models.Model):
    """An incremental migration (R6.2): an application of one member promoted into the federation,
    then its replicas shifted to another member by the static weights of the steps the user chose.
    The row is the truth — the page, its API and the beat sweep read and move it
    (`federation.migration`); the policies in Karmada follow it."""

    class State(models.TextChoices):
        SHIFTING = "shifting", _("Shifting replicas")
        READY = "ready", _("Step reached")
        COMPLETED = "completed", _("Completed")
        STALLED = "stalled", _("Stalled")

    federation = models.ForeignKey(Federation, on_delete=models.CASCADE, related_name="migrations")
    source = models.CharField(_("source member"), max_length=253)
    target = models.CharField(_("target member"), max_length=253)
    namespace = models.CharField(_("namespace"), max_length=63)
    label_selector = models.CharField(_("label selector"), max_length=1000, blank=True)
    steps = models.JSONField(_("steps"), default=list)  # [[source weight, target weight], ...]
    current_step = models.PositiveIntegerField(_("current step"), default=0)
    state = models.CharField(_("status"), max_length=16, choices=State.choices, default=State.SHIFTING)
    # An English msgid with its %-parameters, shown in the reader's language (`display_message`),
    # or Karmada's own words as they came.
    message = models.TextField(_("message"), blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    # What the promotion made: [{"kind", "plural", "name", "policy"}], and its full outcome (the
    # pods before and after) for the page.
    promoted = models.JSONField(default=list)
    promotion = models.JSONField(default=dict)
    # "Kind/name" of every object the source had matching when the migration started, claimed
    # before the promotion: two unfinished migrations never claim one object, whatever their
    # selectors.
    claimed = models.JSONField(default=list)
    # [{"event": promoted|applied|ready|rolled-back|stalled, "step", "weights", "at", "placed"?}]
    history = models.JSONField(default=list)
    creator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    step_started_at = models.DateTimeField(_("step started at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    iam_anchor_path = "federation"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("federation migration")
        verbose_name_plural = _("federation migrations")

    def __str__(self):
        return f"{self.namespace}: {self.source} → {self.target}"

    @property
    def last_step(self) -> int:
        return len(self.steps) - 1

    @property
    def weights(self) -> list[int]:
        return self.steps[self.current_step]

    @property
    def finished(self) -> bool:
        return self.state == self.State.COMPLETED

    @property
    def next_weights(self) -> list[int] | None:
        return self.steps[self.current_step + 1] if self.current_step < self.last_step else None

    def step_reached(self, index: int) -> bool:
        """Every step before the current one, and the current one once its replicas are ready."""
        return index < self.current_step or (
            index == self.current_step and self.state in (self.State.READY, self.State.COMPLETED))

    @property
    def steps_reached(self) -> int:
        return sum(self.step_reached(index) for index in range(len(self.steps)))

    # Why a step may not be taken now, in the reader's language, or "": the one rule for the
    # page's buttons, the API's answer and the service that refuses (`federation.migration`).
    def advance_refusal(self) -> str:
        if not self.promoted:
            return _("The migration is still promoting the application from the source: look again in a moment.")
        if self.current_step >= self.last_step:
            return _("The migration is complete: there is no next step.")
        if self.state != self.State.READY:
            return _("The next step is offered once the target's replicas of this step are ready.")
        return ""

    def rollback_refusal(self) -> str:
        if not self.promoted:
            return _("The migration is still promoting the application from the source: look again in a moment.")
        if self.current_step == 0:
            return _("The first step cannot be rolled back: everything is on the source.")
        if self.finished and FederationMigration.objects.filter(
                federation_id=self.federation_id, namespace=self.namespace, pk__gt=self.pk).exists():
            # A later migration of the namespace may have taken over these policies.
            return _("A later migration of this namespace was started: this completed migration cannot be "
                     "rolled back.")
        return ""

    @property
    def display_message(self) -> str:
        return translated(self.message, self.message_params)
