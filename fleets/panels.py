"""Sections other apps add to a fleet's page, below its basic information (the federation app:
the fleet's federation, joining one or leaving it, R4.5). A panel is a callable
(request, fleet) -> HTML or "" , registered from the app's ready()."""
_panels = []


def register(panel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def render_all(request, fleet) -> list[str]:
    return [html for html in (panel(request, fleet) for panel in _panels) if html]
