from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cceone import metrics
from cceone.console import pages
from cceone.iam.routes import iam_exempt

admin.site.site_header = "CCE One operators"

# Routes outside tenant IAM (cceone/iam/routes.py): no tenant data behind them.
public = iam_exempt("public: sign-in and out, language, health check, the API's schema and docs")

urlpatterns = [
    path("healthz", public(pages.healthz), name="healthz"),
    path("metrics", iam_exempt("Prometheus: no tenant data; a bearer token of its own (CCEONE_METRICS_TOKEN)")(
        metrics.metrics), name="metrics"),
    path("favicon.ico", public(pages.favicon), name="favicon"),
    path("login/", public(auth_views.LoginView.as_view(redirect_authenticated_user=True)), name="login"),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("cceone.api_urls")),
    path("api/schema/", public(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/docs/", public(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("iam/", include("cceone.iam.urls")),
    path("audit/", include("cceone.audit.urls")),
    path("clusters/", include("clusters.urls")),
    path("fleets/", include("fleets.urls")),
    path("backups/", include("backups.urls")),
    path("permissions/", include("permissions.urls")),
    path("federations/", include("federation.urls")),
    path("billing/", include("billing.urls")),
    path("k8s/", include("resources.urls")),
    path("operations/", include("operations.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("addons/", include("addons.urls")),
    path("", include("cceone.console.urls")),
]

handler403 = "cceone.console.pages.permission_denied"
handler404 = "cceone.console.pages.not_found"
