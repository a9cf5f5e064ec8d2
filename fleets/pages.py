"""Pages other apps add under a fleet's URL (the permissions app: the fleet's associations,
/fleets/<pk>/permissions/ named "fleets:permissions"). Registered from their
AppConfig.ready() with `register(path(...))`; `urls.py` serves them with the fleet's own."""
from django.urls import URLPattern

_pages: dict[str, URLPattern] = {}


def register(pattern: URLPattern) -> None:
    _pages[pattern.name] = pattern


def patterns() -> list[URLPattern]:
    return list(_pages.values())
