from django.urls import path

from . import views

app_name = "monitoring"
urlpatterns = [
    path("guide/", views.guide, name="guide"),
    path("clusters/<int:pk>/", views.cluster_monitoring, name="cluster"),
    path("clusters/<int:pk>/configure/", views.configure, name="configure"),
    path("clusters/<int:pk>/test/", views.test, name="test"),
]
