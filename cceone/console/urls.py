from django.urls import path

from . import pages

app_name = "console"
urlpatterns = [
    path("", pages.overview, name="overview"),
    path("region/", pages.set_region, name="set-region"),
    path("agreements/<slug:name>/", pages.agreement, name="agreement"),
]
