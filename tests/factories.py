import factory

from cceone.iam.models import EnterpriseProject, Region
from clusters.models import RegisteredCluster


class ClusterFactory(factory.django.DjangoModelFactory):
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
