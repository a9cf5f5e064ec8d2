"""The IAM pages: who may open them, and what creating, editing and deleting through
them does — including bad input, which shows a clear message and changes nothing."""
import pytest
from django.urls import reverse

from cceone.audit.models import AuditEvent
from cceone.iam.models import APIToken, EnterpriseProject, Policy, ServiceDelegation, User, UserGroup
from tests.conftest import PERSONAS, client_for
from tests.factories import ClusterFactory

LIST_PAGES = ["iam:user-list", "iam:group-list", "iam:policy-list", "iam:project-list", "iam:delegation"]
ADD_PAGES = ["iam:user-add", "iam:group-add", "iam:policy-add", "iam:project-add"]
MANAGERS = {"main", "admin"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", LIST_PAGES + ADD_PAGES)
def test_only_the_main_account_and_admins_open_iam_pages(tenant, persona, page):
    response = client_for(tenant.persona(persona)).get(reverse(page))
    assert response.status_code == (200 if persona in MANAGERS else 403)
    if persona not in MANAGERS:
        assert "You do not have permission" in response.content.decode()


def test_anonymous_users_are_sent_to_sign_in(client, db):
    response = client.get(reverse("iam:user-list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_create_sub_account_with_groups(tenant):
    viewers = UserGroup.objects.get(account=tenant.account, name="viewers")
    response = client_for(tenant.admin).post(reverse("iam:user-add"), {
        "username": "carol", "password": "Long-enough-pass-7", "email": "carol@example.com",
        "groups": [viewers.pk],
    })
    assert response.status_code == 302
    carol = User.objects.get(username="carol")
    assert carol.account == tenant.account and not carol.is_main_account
    assert list(carol.iam_groups.all()) == [viewers]
    assert carol.check_password("Long-enough-pass-7")
    assert AuditEvent.objects.filter(action="iam:create", target_name="carol", actor=tenant.admin).exists()
    listing = client_for(tenant.admin).get(reverse("iam:user-list")).content.decode()
    assert "carol" in listing


@pytest.mark.parametrize("data, message", [
    ({"username": "acme-viewer", "password": "Long-enough-pass-7"}, "This user name is taken."),
    ({"username": "1abc", "password": "Long-enough-pass-7"}, "starting with a letter"),
    ({"username": "dave", "password": "short"}, "This password is too short"),
])
def test_bad_sub_account_input_is_explained_and_creates_nothing(tenant, data, message):
    before = User.objects.count()
    response = client_for(tenant.main).post(reverse("iam:user-add"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before


def test_a_group_of_another_tenant_cannot_be_smuggled_into_a_form(tenant, other_tenant):
    foreign = UserGroup.objects.get(account=other_tenant.account, name="admins")
    response = client_for(tenant.main).post(reverse("iam:user-add"), {
        "username": "eve", "password": "Long-enough-pass-7", "groups": [foreign.pk]})
    assert response.status_code == 200
    assert not User.objects.filter(username="eve").exists()


def test_disabling_a_sub_account_revokes_its_tokens_and_sign_in(tenant):
    APIToken.issue(tenant.user, "ci")
    response = client_for(tenant.main).post(reverse("iam:user-edit", args=[tenant.user.pk]),
                                            {"email": "", "phone": "", "groups": []})
    assert response.status_code == 302
    tenant.user.refresh_from_db()
    assert not tenant.user.is_active
    assert not APIToken.objects.filter(user=tenant.user).exists()
    assert not client_for(tenant.user).get(reverse("console:overview")).status_code == 200


def test_group_with_members_and_policies_grants_them(tenant):
    viewer_policy = Policy.objects.get(account=None, name="ccseone-viewer")
    response = client_for(tenant.main).post(reverse("iam:group-add"), {
        "name": "auditors", "description": "read the audit log",
        "members": [tenant.nopolicy.pk], "policies": [viewer_policy.pk]})
    assert response.status_code == 302
    assert client_for(tenant.nopolicy).get(reverse("audit:list")).status_code == 200


def test_duplicate_group_name_is_refused(tenant):
    response = client_for(tenant.main).post(reverse("iam:group-add"), {"name": "admins"})
    assert "A user group with this name already exists." in response.content.decode()
    assert UserGroup.objects.filter(account=tenant.account, name="admins").count() == 1


def test_custom_policy_limited_to_an_instance_through_the_form(tenant):
    cluster = ClusterFactory(account=tenant.account, name="edge-01")
    response = client_for(tenant.main).post(reverse("iam:policy-add"), {
        "name": "edge-ops", "actions": ["clusters:*"], "scope": "instances",
        "instances": [f"cluster:{cluster.pk}"]})
    assert response.status_code == 302
    policy = Policy.objects.get(account=tenant.account, name="edge-ops")
    assert policy.instances == [f"cluster:{cluster.pk}"]
    assert "clusters:delete" in policy.granted_actions()


def test_instance_scope_without_instances_is_refused(tenant):
    response = client_for(tenant.main).post(reverse("iam:policy-add"), {
        "name": "empty", "actions": ["clusters:get"], "scope": "instances"})
    assert "Choose at least one instance." in response.content.decode()
    assert not Policy.objects.filter(name="empty").exists()


def test_system_policies_are_listed_but_cannot_be_edited(tenant):
    listing = client_for(tenant.main).get(reverse("iam:policy-list")).content.decode()
    for name in ("ccseone-admin", "ccseone-user", "ccseone-viewer"):
        assert name in listing
    system = Policy.objects.get(account=None, name="ccseone-admin")
    assert client_for(tenant.main).get(reverse("iam:policy-edit", args=[system.pk])).status_code == 404
    assert client_for(tenant.main).post(reverse("iam:policy-delete", args=[system.pk])).status_code == 404
    assert Policy.objects.filter(pk=system.pk).exists()


def test_project_holding_clusters_cannot_be_deleted(tenant):
    project = EnterpriseProject.objects.create(account=tenant.account, name="busy")
    ClusterFactory(account=tenant.account, enterprise_project=project)
    client = client_for(tenant.main)
    response = client.post(reverse("iam:project-delete", args=[project.pk]), follow=True)
    assert "still holds resources" in response.content.decode()
    assert EnterpriseProject.objects.filter(pk=project.pk).exists()


def test_empty_project_is_deleted(tenant):
    project = EnterpriseProject.objects.create(account=tenant.account, name="spare")
    response = client_for(tenant.admin).post(reverse("iam:project-delete", args=[project.pk]))
    assert response.status_code == 302
    assert not EnterpriseProject.objects.filter(pk=project.pk).exists()


def test_delegation_is_authorised_once_and_recorded(tenant):
    client = client_for(tenant.admin)
    assert "not yet authorised" in client.get(reverse("iam:delegation")).content.decode()
    client.post(reverse("iam:delegation"))
    client_for(tenant.main).post(reverse("iam:delegation"))
    delegation = ServiceDelegation.objects.get(account=tenant.account)
    assert delegation.authorized_by == tenant.admin
    assert delegation.role_name == "CtyunAssumeRoleForCCEONE"
    page = client.get(reverse("iam:delegation")).content.decode()
    assert "acme-admin" in page and "CtyunAssumeRoleForCCEONE" in page
    assert AuditEvent.objects.filter(action="iam:delegate", result="success").count() == 1


@pytest.mark.parametrize("language, words", [
    ("en", ["Compute services", "Storage services", "Network services", "Container and monitoring services",
            "Confirm authorisation"]),
    ("zh-hans", ["访问计算类服务", "访问存储类服务", "访问网络类服务", "访问容器与监控类服务", "确定授权"]),
])
def test_the_delegation_explains_the_four_kinds_of_access_before_it_is_confirmed(tenant, language, words):
    """As the manual (§4.1): 点击此处授权 on the order page leads to the explanation, then 确定授权."""
    ServiceDelegation.objects.filter(account=tenant.account).delete()
    order = client_for(tenant.main, language).get(reverse("clusters:order", args=["local"])).content.decode()
    assert ("点击此处授权" if language == "zh-hans" else "Click here to authorise") in order
    page = client_for(tenant.main, language).get(reverse("iam:delegation")).content.decode()
    scope = page[page.index('id="delegation-scope"'):]
    positions = [scope.index(word) for word in words]
    assert positions == sorted(positions)  # the four explained, then the button
    assert "CtyunAssumeRoleForCCEONE" in scope


def test_viewer_cannot_authorise_delegation(tenant):
    response = client_for(tenant.viewer).post(reverse("iam:delegation"))
    assert response.status_code == 403
    assert not ServiceDelegation.objects.exists()


def test_real_name_verification_submitted_by_the_main_account(tenant):
    client = client_for(tenant.main)
    response = client.post(reverse("iam:verification"), {"real_name": "Acme Ltd.", "id_number": "9131000012345"})
    assert response.status_code == 302
    page = client.get(reverse("iam:verification")).content.decode()
    assert "Pending review" in page and "913*******345" in page
    assert client_for(tenant.admin).get(reverse("iam:verification")).status_code == 403


def test_api_token_is_shown_once_and_stored_hashed(tenant):
    client = client_for(tenant.user)
    response = client.post(reverse("iam:api-tokens"), {"name": "laptop"})
    assert response.status_code == 302  # a refresh of the page that shows the key does not issue another
    page = client.get(response["Location"]).content.decode()
    token = APIToken.objects.get(user=tenant.user)
    key = page.split('id="new-token">')[1].split("<")[0]
    assert key.startswith("cce_") and token.key_hash == APIToken.hash(key)
    assert key not in client.get(reverse("iam:api-tokens")).content.decode()
    assert "<code>Authorization: Token &lt;key&gt;</code>" in page  # the header's placeholder is visible
    client.post(reverse("iam:api-token-revoke", args=[token.pk]))
    assert not APIToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", "/\\evil.example",
                                    "javascript:alert(1)"])
def test_delegation_next_never_leaves_the_console(tenant, target):
    client = client_for(tenant.main)
    form = client.get(reverse("iam:delegation"), {"next": target}).content.decode()
    assert '<input type="hidden" name="next" value="">' in form
    response = client.post(reverse("iam:delegation"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("iam:delegation")
    assert ServiceDelegation.objects.filter(account=tenant.account).exists()


def test_delegation_returns_to_the_order_page_it_came_from(tenant):
    order = reverse("clusters:order", args=["local"])
    response = client_for(tenant.main).post(reverse("iam:delegation"), {"next": order})
    assert response["Location"] == order
