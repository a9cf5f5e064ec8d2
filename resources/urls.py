"""/k8s/<target type>/<target id>/<kind>/…: the generic resource pages of any target.

Objects are `<kind>/<namespace>/<name>/` or, cluster-scoped, `<kind>/<name>/`; page
actions start with `_`, which no Kubernetes name can, so the two never collide.
"""
from django.urls import path, register_converter

from . import views
from .formatting import OBJECT_NAME


class NameConverter:
    """A Kubernetes object or namespace name (DNS subdomain)."""

    regex = OBJECT_NAME.pattern

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(NameConverter, "k8s")

app_name = "resources"

TARGET = "<slug:target_type>/<str:target_id>/"
KIND = TARGET + "<slug:kind>/"
OBJECT_VIEWS = [
    ("", views.ResourceDetail, "detail"),
    ("_edit/", views.ResourceEdit, "edit"),
    ("_delete/", views.ResourceDelete, "delete"),
    ("_scale/", views.Scale, "scale"),
    ("_restart/", views.Restart, "restart"),
    ("_labels/", views.Labels, "labels"),
    ("_reveal/", views.RevealSecret, "reveal"),
    ("_logs/", views.Logs, "logs"),
    ("_logs/stream/", views.LogStream, "logs-stream"),
    ("_logs/download/", views.LogDownload, "logs-download"),
    ("_terminal/", views.Terminal, "terminal"),
    ("_terminal/stream/", views.TerminalStream, "terminal-stream"),
    ("_terminal/input/", views.TerminalInput, "terminal-input"),
    ("_cordon/", views.Cordon, "cordon"),
    ("_taints/", views.Taints, "taints"),
    ("_drain/", views.Drain, "drain"),
    ("_drain/<int:drain_id>/", views.DrainStatus, "drain-status"),
]

urlpatterns = [
    path(TARGET + "_summary/", views.Summary.as_view(), name="summary"),
    path(KIND, views.ResourceList.as_view(), name="list"),
    path(KIND + "_create/", views.ResourceCreate.as_view(), name="create"),
]
for suffix, view, name in OBJECT_VIEWS:
    urlpatterns += [
        path(KIND + "<k8s:namespace>/<k8s:name>/" + suffix, view.as_view(), name=name),
        path(KIND + "<k8s:name>/" + suffix, view.as_view(), name=name),
    ]
