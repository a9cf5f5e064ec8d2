from django.urls import path

from . import views

app_name = "addons"
urlpatterns = [
    path("clusters/<int:pk>/", views.cluster_addons, name="cluster"),
    path("clusters/<int:pk>/<slug:addon>/install/", views.install, name="install"),
    path("clusters/<int:pk>/<slug:addon>/upgrade/", views.upgrade, name="upgrade"),
    path("clusters/<int:pk>/<slug:addon>/uninstall/", views.uninstall, name="uninstall"),
]
