"""IAM operations. Each checks permission, keeps the invariants, audits, and refreshes
the permission mirror; pages and API endpoints call these and nothing else writes."""
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cceone.audit.services import record

from . import actions as catalogue
from . import anchors, mirror, signals
from .access import require
from .models import (DEFAULT_PROJECT_DESCRIPTION, Account, APIToken, EnterpriseProject, Policy, RealNameVerification,
                     Region, ServiceDelegation, User, UserGroup, name_validator)


# --- accounts -------------------------------------------------------------------------

@transaction.atomic
def create_account(name: str, username: str, password: str, email: str = "", phone: str = "") -> Account:
    """A new tenant with its main account user and the default enterprise project (operators)."""
    owner = User.objects.create_user(username=username, password=password, email=email)
    account = Account.objects.create(name=name, contact_email=email, contact_phone=phone, owner=owner)
    owner.account = account
    owner.current_region = Region.default()
    owner.save(update_fields=["account", "current_region"])
    EnterpriseProject.objects.create(account=account, name="default",
                                     description=DEFAULT_PROJECT_DESCRIPTION)
    return account


# --- sub-accounts ---------------------------------------------------------------------

def _field_errors(field: str, check, *args) -> dict[str, list[str]]:
    try:
        check(*args)
    except ValidationError as error:
        return {field: error.messages}
    return {}


def check_new_sub_account(username: str, password: str) -> None:
    """A sub-account's name follows the IAM console's rule and is nobody's yet (user names
    are global and compared without case); its password passes the password validators."""
    errors = _field_errors("username", name_validator, username)
    if not errors and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This user name is taken.")]
    errors |= _field_errors("password", validate_password, password, User(username=username))
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def create_sub_account(actor, *, username, password, email="", phone="", groups=()) -> User:
    require(actor, "iam:create")
    check_new_sub_account(username, password)
    user = User(username=username, email=email, phone=phone, account=actor.account,
                current_region=actor.current_region)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    _set_groups(user, groups)
    if groups:
        _access_changed(actor.account, {user.pk})
    record(actor, "iam:create", ("user", user.pk, user.username))
    return user


@transaction.atomic
def update_sub_account(actor, user: User, *, email, phone, is_active, groups) -> User:
    require(actor, "iam:update", user)
    if user.is_main_account:
        raise ValidationError(_("The main account cannot be changed here."))
    was_active = user.is_active
    groups_before = set(user.iam_groups.values_list("pk", flat=True))
    user.email, user.phone, user.is_active = email, phone, is_active
    user.save(update_fields=["email", "phone", "is_active"])
    _set_groups(user, groups)
    details = {"groups": sorted(g.name for g in groups)}
    if was_active and not is_active:
        details["disabled"] = True
        user_lost_access(user)
    if was_active != is_active or groups_before != {g.pk for g in groups}:
        _access_changed(user.account, {user.pk})
    record(actor, "iam:update", ("user", user.pk, user.username), details=details)
    return user


@transaction.atomic
def set_password(actor, user: User, password: str) -> None:
    require(actor, "iam:update", user)
    if user.is_main_account and actor.pk != user.pk:
        raise ValidationError(_("The main account cannot be changed here."))
    errors = _field_errors("password", validate_password, password, user)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(actor, "iam:update", ("user", user.pk, user.username), details={"password": "reset"})


@transaction.atomic
def delete_sub_account(actor, user: User) -> None:
    require(actor, "iam:delete", user)
    if user.is_main_account:
        raise ValidationError(_("The main account cannot be deleted."))
    if user.pk == actor.pk:
        raise ValidationError(_("You cannot delete your own user."))
    record(actor, "iam:delete", ("user", user.pk, user.username))
    user_lost_access(user)
    _access_changed(user.account, {user.pk})
    user.delete()


def _set_groups(user: User, groups) -> None:
    for group in groups:
        if group.account_id != user.account_id:
            raise ValidationError(_("Unknown user group."))
    user.iam_groups.set(groups)
    mirror.sync_user(user)


def _access_changed(account, user_ids: set[int]) -> None:
    if user_ids:
        signals.access_changed.send(sender=User, account=account, users=user_ids)


def revoke_credentials(user: User) -> None:
    """Every token the user holds stops working: API tokens and what later apps issue.

    Also run when their password changes (see `receivers`): whoever learnt the old password
    may have issued tokens with it. Their other sessions end through Django's session hash."""
    user.api_tokens.all().delete()
    signals.credentials_revoked.send(User, user=user)


def user_lost_access(user: User) -> None:
    """A disabled or deleted user: their tokens go (their RBAC follows `access_changed`)."""
    revoke_credentials(user)


# --- groups ---------------------------------------------------------------------------

def _check_policies(account, policies):
    for policy in policies:
        if policy.account_id not in (None, account.pk):
            raise ValidationError(_("Unknown policy."))


@transaction.atomic
def save_group(actor, group: UserGroup | None, *, name, description, members, policies) -> UserGroup:
    creating = group is None
    group = group or UserGroup(account=actor.account)
    require(actor, "iam:create" if creating else "iam:update", None if creating else group)
    group.name, group.description = name, description
    group.full_clean(exclude=["account"])
    if UserGroup.objects.filter(account=actor.account, name=name).exclude(pk=group.pk).exists():
        raise ValidationError({"name": _("A user group with this name already exists.")})
    group.save()
    for member in members:
        if member.account_id != actor.account_id:
            raise ValidationError(_("Unknown user."))
    _check_policies(actor.account, policies)
    before = set(group.members.values_list("pk", flat=True))
    policies_before = set(group.policies.values_list("pk", flat=True))
    group.members.set(members)
    group.policies.set(policies)
    after, policies_after = {m.pk for m in members}, {p.pk for p in policies}
    if policies_before or policies_after:
        # New or former members gain or lose the group's grants; if the grants changed, everyone.
        _access_changed(actor.account, before ^ after if policies_before == policies_after else before | after)
    record(actor, "iam:create" if creating else "iam:update", ("group", group.pk, group.name),
           details={"members": sorted(m.username for m in members),
                    "policies": sorted(p.name for p in policies)})
    for user in User.objects.filter(pk__in=before | {m.pk for m in members}):
        mirror.sync_user(user)
    return group


@transaction.atomic
def delete_group(actor, group: UserGroup) -> None:
    require(actor, "iam:delete", group)
    members = list(group.members.all())
    record(actor, "iam:delete", ("group", group.pk, group.name))
    if group.policies.exists():
        _access_changed(actor.account, {m.pk for m in members})
    group.delete()
    for user in members:
        mirror.sync_user(user)


# --- policies -------------------------------------------------------------------------

@transaction.atomic
def save_policy(actor, policy: Policy | None, *, name, description, actions, scope, instances=(),
                projects=(), iam_projects=()) -> Policy:
    creating = policy is None
    if policy is not None and policy.is_system:
        raise ValidationError(_("System policies cannot be changed."))
    require(actor, "iam:create" if creating else "iam:update", None if creating else policy)
    policy = policy or Policy(account=actor.account)
    if name in catalogue.SYSTEM_POLICIES:
        raise ValidationError({"name": _("This name is reserved for a system policy.")})
    if Policy.objects.filter(account=actor.account, name=name).exclude(pk=policy.pk).exists():
        raise ValidationError({"name": _("A policy with this name already exists.")})
    bad = [a for a in actions if not catalogue.validate_pattern(a)]
    if not actions or bad:
        raise ValidationError({"actions": _("Unknown action: %(actions)s") % {"actions": ", ".join(bad) or "-"}})
    if scope != Policy.Scope.ACCOUNT:
        beyond = [a for a in actions if catalogue.expand([a]) - anchors.instance_actions()]
        if beyond:
            raise ValidationError({"actions": _(
                "A policy limited to instances or projects can only grant actions on those instances; "
                "these reach the whole account: %(actions)s. Grant them in a policy for all resources of "
                "the account.") % {"actions": ", ".join(beyond)}})
    instances = list(instances)
    for ref in instances:
        obj = anchors.resolve(ref)
        if obj is None or obj.account_id != actor.account_id:
            raise ValidationError({"instances": _("Unknown instance: %(ref)s") % {"ref": ref}})
    for project in projects:
        if project.account_id != actor.account_id:
            raise ValidationError({"projects": _("Unknown enterprise project.")})
    if scope == Policy.Scope.INSTANCES and not instances:
        raise ValidationError({"instances": _("Choose at least one instance.")})
    if scope == Policy.Scope.PROJECTS and not projects:
        raise ValidationError({"projects": _("Choose at least one enterprise project.")})
    if scope == Policy.Scope.IAM_PROJECTS and not iam_projects:
        raise ValidationError({"iam_projects": _("Choose at least one IAM project.")})
    policy.name, policy.description, policy.actions, policy.scope = name, description, list(actions), scope
    policy.instances = instances if scope == Policy.Scope.INSTANCES else []
    policy.full_clean(exclude=["account"])
    policy.save()
    policy.projects.set(projects if scope == Policy.Scope.PROJECTS else [])
    policy.iam_projects.set(iam_projects if scope == Policy.Scope.IAM_PROJECTS else [])
    record(actor, "iam:create" if creating else "iam:update", ("policy", policy.pk, policy.name),
           details={"actions": policy.actions, "scope": scope, "instances": policy.instances,
                    "projects": [p.name for p in projects], "iam_projects": [r.code for r in iam_projects]})
    mirror.sync_account(actor.account)
    if not creating:  # a new policy is in no group yet
        _access_changed(actor.account, _holders(policy))
    return policy


def _holders(policy: Policy) -> set[int]:
    return set(User.objects.filter(iam_groups__policies=policy).values_list("pk", flat=True))


@transaction.atomic
def delete_policy(actor, policy: Policy) -> None:
    if policy.is_system:
        raise ValidationError(_("System policies cannot be deleted."))
    require(actor, "iam:delete", policy)
    record(actor, "iam:delete", ("policy", policy.pk, policy.name))
    _access_changed(actor.account, _holders(policy))
    policy.delete()
    mirror.sync_account(actor.account)


# --- enterprise projects --------------------------------------------------------------

@transaction.atomic
def save_project(actor, project: EnterpriseProject | None, *, name, description) -> EnterpriseProject:
    creating = project is None
    require(actor, "iam:create" if creating else "iam:update", None if creating else project)
    project = project or EnterpriseProject(account=actor.account)
    if EnterpriseProject.objects.filter(account=actor.account, name=name).exclude(pk=project.pk).exists():
        raise ValidationError({"name": _("An enterprise project with this name already exists.")})
    project.name, project.description = name, description
    project.full_clean(exclude=["account"])
    project.save()
    record(actor, "iam:create" if creating else "iam:update", ("project", project.pk, project.name))
    return project


@transaction.atomic
def delete_project(actor, project: EnterpriseProject) -> None:
    require(actor, "iam:delete", project)
    in_use = [a.model._meta.verbose_name_plural for a in anchors.all_anchors()
              if a.model.objects.filter(enterprise_project=project).exists()]
    if in_use:
        raise ValidationError(_("The enterprise project still holds resources (%(kinds)s); move them first.")
                              % {"kinds": ", ".join(str(k) for k in in_use)})
    record(actor, "iam:delete", ("project", project.pk, project.name))
    project.delete()
    mirror.sync_account(actor.account)


# --- delegation and real-name verification ----------------------------------------------

@transaction.atomic
def authorize_delegation(actor) -> ServiceDelegation:
    """Authorise the service delegation once; repeating it changes nothing."""
    require(actor, "iam:delegate")
    account = Account.objects.select_for_update().get(pk=actor.account_id)
    existing = ServiceDelegation.objects.filter(account=account).first()
    if existing:
        return existing
    delegation = ServiceDelegation.objects.create(
        account=account, role_name=settings.CCEONE_DELEGATION_ROLE, authorized_by=actor
    )
    record(actor, "iam:delegate", ("delegation", delegation.pk, delegation.role_name))
    return delegation


def has_delegation(account) -> bool:
    return ServiceDelegation.objects.filter(account=account).exists()


def is_verified(account) -> bool:
    return RealNameVerification.objects.filter(
        account=account, status=RealNameVerification.Status.APPROVED
    ).exists()


@transaction.atomic
def submit_verification(actor, *, real_name, id_number) -> RealNameVerification:
    """Submit (or resubmit after a rejection) the account's real-name verification."""
    if not actor.is_main_account:
        raise ValidationError(_("Only the main account can submit real-name verification."))
    current = RealNameVerification.objects.select_for_update().filter(account=actor.account).first()
    if current and current.status == RealNameVerification.Status.APPROVED:
        raise ValidationError(_("The account is already verified."))
    verification = current or RealNameVerification(account=actor.account)
    verification.real_name, verification.id_number = real_name, id_number
    verification.status = RealNameVerification.Status.PENDING
    verification.submitted_by, verification.submitted_at = actor, timezone.now()
    verification.reviewed_by, verification.reviewed_at, verification.reason = None, None, ""
    verification.save()
    record(actor, "iam:verify", ("verification", verification.pk, real_name))
    return verification


@transaction.atomic
def review_verification(operator, verification: RealNameVerification, *, approve: bool, reason="") -> None:
    verification.status = (RealNameVerification.Status.APPROVED if approve
                           else RealNameVerification.Status.REJECTED)
    verification.reviewed_by, verification.reviewed_at, verification.reason = operator, timezone.now(), reason
    verification.save()
    record(operator, "iam:verify", ("verification", verification.pk, verification.real_name),
           account=verification.account, details={"status": verification.status, "reason": reason})


# --- API tokens (a user's own) ------------------------------------------------------------

@transaction.atomic
def issue_api_token(actor, name: str, expires_at=None) -> tuple[APIToken, str]:
    """A token valid until `expires_at`, at most CCEONE_API_TOKEN_MAX_DAYS (and that long by default)."""
    if not name.strip():
        raise ValidationError({"name": _("Give the token a name.")})
    latest = timezone.now() + APIToken.max_lifetime()
    if expires_at is None:
        expires_at = latest
    if expires_at <= timezone.now():
        raise ValidationError({"expires_at": _("The expiry must be in the future.")})
    if expires_at > latest:
        raise ValidationError({"expires_at": _("An API token is valid for at most %(days)d days.")
                               % {"days": settings.CCEONE_API_TOKEN_MAX_DAYS}})
    token, key = APIToken.issue(actor, name.strip(), expires_at)
    record(actor, "iam:token-issue", ("api-token", token.pk, token.name))
    return token, key


@transaction.atomic
def revoke_api_token(actor, token: APIToken) -> None:
    if token.user_id != actor.pk:
        raise ValidationError(_("Unknown token."))
    record(actor, "iam:token-revoke", ("api-token", token.pk, token.name))
    token.delete()


def set_region(user, region: Region) -> None:
    user.current_region = region
    user.save(update_fields=["current_region"])
