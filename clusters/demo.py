"""The clusters' part of the demo tenant (`manage.py seed_demo`, on `demo_seeded`)."""
from cceone.iam.models import Region

from .models import ApiServerSpec, SecurityGroup, Subnet, Vpc


def seed_inventory(sender, **kwargs) -> None:
    """What operators keep per region for the order form: a VPC with two subnets, a shared
    security group and two API server access specs (only where a region has none)."""
    for index, region in enumerate(Region.objects.all()):
        if Vpc.objects.filter(region=region).exists():
            continue
        vpc = Vpc.objects.create(region=region, name=f"vpc-{region.code}", cidr=f"10.{index}.0.0/16")
        Subnet.objects.create(vpc=vpc, name=f"subnet-{region.code}-a", cidr=f"10.{index}.1.0/24", zone="az1")
        Subnet.objects.create(vpc=vpc, name=f"subnet-{region.code}-b", cidr=f"10.{index}.2.0/24", zone="az2")
        SecurityGroup.objects.create(vpc=vpc, name=f"sg-{region.code}-default")
        ApiServerSpec.objects.create(region=region, code="standard", name="Standard (elb.s1.small)",
                                     name_zh="标准型 (elb.s1.small)")
        ApiServerSpec.objects.create(region=region, code="enhanced", name="Enhanced (elb.s2.medium)",
                                     name_zh="增强型 (elb.s2.medium)")
