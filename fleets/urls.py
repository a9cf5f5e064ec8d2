from django.urls import path

from . import pages, views

app_name = "fleets"
urlpatterns = [
    path("", views.FleetList.as_view(), name="list"),
    path("create/", views.FleetCreate.as_view(), name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.FleetEdit.as_view(), name="edit"),
    path("<int:pk>/clusters/add/", views.AddClusters.as_view(), name="add-clusters"),
    path("<int:pk>/clusters/<int:cluster_pk>/remove/", views.remove_cluster, name="remove-cluster"),
    path("<int:pk>/delete/", views.FleetDelete.as_view(), name="delete"),
    path("<int:pk>/protection/", views.deletion_protection, name="protection"),
    *pages.patterns(),
]
