from django.urls import path

from . import views

app_name = "iam"


def crud(prefix: str, list_view, edit_view, delete_view, add_view=None):
    """list, add, edit and delete URLs for one model: `<prefix>-list` and so on."""
    plural = prefix[:-1] + "ies" if prefix.endswith("y") else prefix + "s"
    return [
        path(f"{plural}/", list_view.as_view(), name=f"{prefix}-list"),
        path(f"{plural}/add/", (add_view or edit_view).as_view(), name=f"{prefix}-add"),
        path(f"{plural}/<int:pk>/", edit_view.as_view(), name=f"{prefix}-edit"),
        path(f"{plural}/<int:pk>/delete/", delete_view.as_view(), name=f"{prefix}-delete"),
    ]


urlpatterns = [
    *crud("user", views.SubAccountList, views.SubAccountUpdate, views.SubAccountDelete, views.SubAccountCreate),
    path("users/<int:pk>/password/", views.SubAccountPassword.as_view(), name="user-password"),
    *crud("group", views.GroupList, views.GroupEdit, views.GroupDelete),
    *crud("policy", views.PolicyList, views.PolicyEdit, views.PolicyDelete),
    *crud("project", views.ProjectList, views.ProjectEdit, views.ProjectDelete),
    path("delegation/", views.delegation, name="delegation"),
    path("verification/", views.verification, name="verification"),
    path("api-tokens/", views.api_tokens, name="api-tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
