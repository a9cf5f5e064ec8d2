from django.urls import path

from . import views

app_name = "permissions"
urlpatterns = [
    path("", views.PermissionList.as_view(), name="list"),
    path("create/", views.PermissionEdit.as_view(), name="create"),
    path("<int:pk>/", views.PermissionEdit.as_view(), name="edit"),
    path("<int:pk>/delete/", views.PermissionDelete.as_view(), name="delete"),
    path("associations/", views.AssociationList.as_view(), name="associations"),
    path("associations/add/", views.associate, name="associate"),
    path("associations/<int:pk>/", views.association_edit, name="association-edit"),
    path("associations/<int:pk>/delete/", views.association_delete, name="association-delete"),
    path("clusters/<int:pk>/", views.cluster_associations, name="cluster"),
    path("sync/", views.SyncList.as_view(), name="sync"),
    path("sync/<int:pk>/retry/", views.sync_retry, name="sync-retry"),
]
