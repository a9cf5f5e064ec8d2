"""Create the demo tenant for `make run`: the main account `demo` and one sub-account per
system policy, plus an operator for the admin site; the apps add their demo data on
`demo_seeded` (the clusters' inventory, a starting balance). Safe to run again: existing users
keep their passwords, which are kept in var/ so they can be printed every time."""
import json
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from cceone.iam import services
from cceone.iam.models import Account, Policy, RealNameVerification, User, UserGroup

from ...signals import demo_seeded

CREDENTIALS = settings.VAR_DIR / "demo-credentials.json"
SUB_ACCOUNTS = [("demo-admin", "admins", "ccseone-admin"), ("demo-user", "users", "ccseone-user"),
                ("demo-viewer", "viewers", "ccseone-viewer")]


def demo_logins() -> list[tuple[str, str]]:
    """(username, what it is) of every console login the demo creates, main account first."""
    return [("demo", "main account"),
            *[(username, f"sub-account, policy {policy}") for username, _group, policy in SUB_ACCOUNTS]]


def _password() -> str:
    return "Cce1-" + secrets.token_urlsafe(9)


class Command(BaseCommand):
    help = "Create (or keep) the demo tenant and print its logins."

    @transaction.atomic
    def handle(self, *args, **options):
        saved = json.loads(CREDENTIALS.read_text()) if CREDENTIALS.exists() else {}
        creds = {}

        operator = User.objects.filter(username="operator").first()
        if operator is None:
            creds["operator"] = _password()
            User.objects.create_superuser("operator", "operator@localhost", creds["operator"])
        account = Account.objects.filter(owner__username="demo").first()
        if account is None:
            creds["demo"] = _password()
            account = services.create_account("Demo", "demo", creds["demo"], email="demo@example.com",
                                              phone="13800000000")
            RealNameVerification.objects.create(
                account=account, real_name="Demo Ltd.", id_number="91310000DEMO0001",
                status=RealNameVerification.Status.APPROVED, submitted_by=account.owner,
            )
        main = account.owner
        for username, group_name, policy_name in SUB_ACCOUNTS:
            group, _ = UserGroup.objects.get_or_create(account=account, name=group_name)
            group.policies.add(Policy.objects.get(account=None, name=policy_name))
            if not User.objects.filter(username=username).exists():
                creds[username] = _password()
                services.create_sub_account(main, username=username, password=creds[username], groups=[group])
        demo_seeded.send(sender=self.__class__, account=account, operator=User.objects.get(username="operator"))
        saved.update(creds)
        CREDENTIALS.write_text(json.dumps(saved, indent=2))
        CREDENTIALS.chmod(0o600)
        self.stdout.write("Demo logins (main account, then one sub-account per system policy):")
        for username, _what in demo_logins():
            self.stdout.write(f"  {username:12} {saved.get(username, '(password set earlier, not known)')}")
        self.stdout.write(f"Operator (admin site /admin/): operator {saved.get('operator', '(set earlier)')}")
