from django.urls import path

from . import console_views, drift_views, failover_views, migration_views, views

app_name = "federation"
urlpatterns = [
    path("", views.FederationList.as_view(), name="list"),
    path("order/", views.order, name="order"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/protection/", views.deletion_protection, name="protection"),
    path("<int:pk>/fleet/", views.fleet, name="fleet"),
    path("<int:pk>/access/", views.access, name="access"),
    path("fleets/<int:fleet_pk>/join/", views.join_fleet, name="join-fleet"),
    path("fleets/<int:fleet_pk>/leave/", views.leave_fleet, name="leave-fleet"),
    path("<int:pk>/access/<str:action>/", views.access_action, name="access-action"),
    path("<int:pk>/members/<int:member_pk>/network/", views.member_network, name="member-network"),
    path("<int:pk>/unsubscribe/", views.unsubscribe, name="unsubscribe"),
    path("<int:pk>/workloads/create/", console_views.workload_create, name="workload-create"),
    path("<int:pk>/workloads/division-preview/", console_views.division_preview, name="division-preview"),
    path("<int:pk>/promote/", console_views.promote, name="promote"),
    path("<int:pk>/failover/", failover_views.failover_page, name="failover"),
    path("<int:pk>/workloads/<slug:kind>/<str:namespace>/<str:name>/placement/", console_views.placement,
         name="placement"),
    path("<int:pk>/workloads/<slug:kind>/<str:namespace>/<str:name>/drift/", drift_views.drift, name="drift"),
    path("<int:pk>/workloads/<slug:kind>/<str:namespace>/<str:name>/drift/resync/", drift_views.resync,
         name="drift-resync"),
    path("<int:pk>/migrations/", migration_views.migrations, name="migrations"),
    path("<int:pk>/migrations/<int:migration_pk>/", migration_views.migration_detail, name="migration"),
    path("<int:pk>/migrations/<int:migration_pk>/advance/", migration_views.migration_advance,
         name="migration-advance"),
    path("<int:pk>/migrations/<int:migration_pk>/rollback/", migration_views.migration_rollback,
         name="migration-rollback"),
]
