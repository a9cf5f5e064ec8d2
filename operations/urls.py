from django.urls import path

from . import views

app_name = "operations"
urlpatterns = [
    path("", views.DiagnosisList.as_view(), name="diagnoses"),
    path("diagnoses/new/", views.diagnosis_new, name="diagnosis-new"),
    path("diagnoses/<int:pk>/", views.diagnosis_detail, name="diagnosis"),
    path("diagnoses/<int:pk>/confirm/", views.diagnosis_confirm, name="diagnosis-confirm"),
    path("inspections/", views.InspectionList.as_view(), name="inspections"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("clusters/<int:pk>/", views.cluster_operations, name="cluster"),
    path("clusters/<int:pk>/inspect/", views.inspection_run, name="inspection-run"),
    path("clusters/<int:pk>/schedule/", views.schedule_edit, name="schedule"),
    path("clusters/<int:pk>/schedule/delete/", views.schedule_delete, name="schedule-delete"),
    path("clusters/<int:pk>/waivers/new/", views.waiver_new, name="waiver-new"),
    path("waivers/", views.WaiverList.as_view(), name="waivers"),
    path("waivers/<int:pk>/revoke/", views.waiver_revoke, name="waiver-revoke"),
    path("trends/", views.trend_chart, name="trends"),
]
