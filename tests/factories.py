import uuid

import factory

from cceone.iam import mirror
from cceone.iam.models import EnterpriseProject, Region
from clusters.models import RegisteredCluster


class AnchorFactory(factory.django.DjangoModelFactory):
    """Creates an anchor (cluster, fleet) as its service does: with the rows scoped
    policies give on it (`mirror.sync_anchor`)."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        obj = super()._create(model_class, *args, **kwargs)
        mirror.sync_anchor(obj)
        return obj



class ClusterFactory(AnchorFactory):
    class Meta:
        model = RegisteredCluster

    name = factory.Sequence(lambda n: f"cluster-{n:04d}")
    cluster_type = RegisteredCluster.Type.LOCAL
    region = factory.LazyFunction(Region.default)
    status = RegisteredCluster.Status.RUNNING
    enterprise_project = factory.LazyAttribute(
        lambda o: EnterpriseProject.objects.get(account=o.account, name="default")
    )
    creator = factory.LazyAttribute(lambda o: o.account.owner)


def make_inventory(region=None):
    """A region's order-form inventory: VPC, subnet, shared security group, API server spec."""
    from clusters.models import ApiServerSpec, SecurityGroup, Subnet, Vpc

    region = region or Region.default()
    vpc = Vpc.objects.create(region=region, name=f"vpc-{region.code}", cidr="10.0.0.0/16")
    subnet = Subnet.objects.create(vpc=vpc, name="subnet-a", cidr="10.0.1.0/24", zone="az1")
    group = SecurityGroup.objects.create(vpc=vpc, name="sg-default")
    spec = ApiServerSpec.objects.create(region=region, code="standard", name="Standard")
    return {"vpc": vpc, "subnet": subnet, "security_group": group, "apiserver_spec": spec}


def ready_to_order(account):
    """Delegation authorised and real-name verification approved: the order gates open."""
    from cceone.iam.models import RealNameVerification, ServiceDelegation

    ServiceDelegation.objects.get_or_create(account=account, defaults={"role_name": "CtyunAssumeRoleForCCEONE",
                                                                       "authorized_by": account.owner})
    RealNameVerification.objects.update_or_create(
        account=account, defaults={"real_name": "Acme", "id_number": "913100001234",
                                   "status": RealNameVerification.Status.APPROVED})
    top_up(account, 1000)


def operator():
    from cceone.iam.models import User

    return User.objects.filter(username="operator").first() or User.objects.create_superuser(
        "operator", "operator@example.com", "Operator-pass-1")


def top_up(account, amount):
    """An operator's top-up, so the balance check of orders passes."""
    from billing import services as billing

    billing.top_up(operator(), account, amount, reference=f"test-top-up-{uuid.uuid4().hex[:12]}")


class FleetFactory(AnchorFactory):
    class Meta:
        model = "fleets.Fleet"

    name = factory.Sequence(lambda n: f"fleet-{n:04d}")
    enterprise_project = factory.LazyAttribute(
        lambda o: EnterpriseProject.objects.get(account=o.account, name="default")
    )
    creator = factory.LazyAttribute(lambda o: o.account.owner)


class FederationFactory(AnchorFactory):
    """A running federation (without a control plane: pages and lists, not the Karmada API)."""

    class Meta:
        model = "federation.Federation"

    name = factory.Sequence(lambda n: f"fed-{n:04d}")
    region = factory.LazyFunction(Region.default)
    status = "running"
    provisioner = "pre-registered"
    enterprise_project = factory.LazyAttribute(
        lambda o: EnterpriseProject.objects.get(account=o.account, name="default")
    )
    creator = factory.LazyAttribute(lambda o: o.account.owner)
