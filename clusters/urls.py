from django.urls import path

from . import views

app_name = "clusters"
urlpatterns = [
    path("", views.ClusterList.as_view(), name="list"),
    path("order/<str:cluster_type>/", views.order, name="order"),
    path("<int:pk>/", views.overview, name="overview"),
    path("<int:pk>/access/", views.access, name="access"),
    path("<int:pk>/access/<str:action>/", views.access_action, name="access-action"),
    path("<int:pk>/agent-<str:variant>.yaml", views.agent_yaml, name="agent-yaml"),
    path("<int:pk>/operations/", views.operations, name="operations"),
    path("<int:pk>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
