from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("ledger/", views.LedgerList.as_view(), name="ledger"),
    path("usage/", views.UsageList.as_view(), name="usage"),
    path("usage/export.csv", views.usage_export, name="usage-export"),
    path("bills/", views.bills, name="bills"),
    path("showback/", views.showback_page, name="showback"),
    path("showback/export.csv", views.showback_export, name="showback-export"),
    path("showback/clusters/<int:pk>/", views.showback_cluster, name="showback-cluster"),
]
