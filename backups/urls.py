from django.urls import path

from . import views

app_name = "backups"
urlpatterns = [
    path("", views.BackupList.as_view(), name="list"),
    path("create/", views.BackupCreate.as_view(), name="create"),
    path("import/", views.import_backup, name="import"),
    path("<int:pk>/", views.backup_detail, name="detail"),
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/delete/", views.BackupDelete.as_view(), name="delete"),
    path("<int:pk>/restore/", views.restore_form, name="restore"),
    path("restores/", views.RestoreList.as_view(), name="restores"),
    path("restores/<int:pk>/", views.restore_detail, name="restore-detail"),
    path("restores/<int:pk>/apply/", views.apply_dry_run, name="restore-apply"),
    path("schedules/", views.ScheduleList.as_view(), name="schedules"),
    path("schedules/create/", views.ScheduleCreate.as_view(), name="schedule-create"),
    path("schedules/<int:pk>/delete/", views.ScheduleDelete.as_view(), name="schedule-delete"),
    path("migrations/", views.MigrationList.as_view(), name="migrations"),
    path("migrations/create/", views.migration_create, name="migration-create"),
    path("migrations/<int:pk>/", views.migration_detail, name="migration-detail"),
    path("migrations/<int:pk>/confirm/", views.migration_confirm, name="migration-confirm"),
    path("migrations/<int:pk>/cancel/", views.migration_cancel, name="migration-cancel"),
    path("clusters/<int:pk>/", views.ClusterBackups.as_view(), name="cluster"),
    path("locations/", views.LocationList.as_view(), name="locations"),
    path("locations/create/", views.LocationCreate.as_view(), name="location-create"),
    path("locations/<int:pk>/edit/", views.LocationEdit.as_view(), name="location-edit"),
    path("locations/<int:pk>/check/", views.check_location, name="location-check"),
    path("locations/<int:pk>/delete/", views.LocationDelete.as_view(), name="location-delete"),
]
