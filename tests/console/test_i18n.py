"""Every page works in English and in Chinese, and the catalogue is complete."""
import polib
import pytest
from django.conf import settings
from django.urls import reverse

from tests.conftest import client_for

PAGES = ["console:overview", "audit:list", "iam:user-list", "iam:user-add", "iam:group-list", "iam:group-add",
         "iam:policy-list", "iam:policy-add", "iam:project-list", "iam:project-add", "iam:delegation",
         "iam:verification", "iam:api-tokens"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("language, expected, foreign", [
    ("en", ["Overview", "Platform services", "Sign out"], ["总览", "平台服务"]),
    ("zh-hans", ["总览", "平台服务", "退出登录"], ["Platform services", "Sign out"]),
])
def test_page_renders_in_each_language(tenant, page, language, expected, foreign):
    response = client_for(tenant.main, language).get(reverse(page))
    assert response.status_code == 200
    content = response.content.decode()
    for text in expected:
        assert text in content
    for text in foreign:
        assert text not in content


def test_language_switcher_remembers_the_choice(tenant):
    client = client_for(tenant.main)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "审计日志" in client.get(reverse("audit:list")).content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Audit log" in client.get(reverse("audit:list")).content.decode()


def test_errors_from_services_are_translated(tenant):
    client = client_for(tenant.main, "zh-hans")
    content = client.post(reverse("iam:group-add"), {"name": "admins"}).content.decode()
    assert "已存在" in content


def test_catalogue_is_complete():
    catalogue = polib.pofile(str(settings.BASE_DIR / "locale/zh_Hans/LC_MESSAGES/django.po"))
    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
