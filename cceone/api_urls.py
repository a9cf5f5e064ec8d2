"""/api/v1/: the router of `cceone.api_routes`, which the apps have registered into by the
time the URLconf is loaded (AppConfig.ready() runs first)."""
from cceone.api_routes import router

urlpatterns = router.urls
