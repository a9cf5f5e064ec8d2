"""A secret shown once, after the redirect that follows the POST that made it.

The page that issues a kubeconfig or a token redirects (so a refresh does not issue another) and
the next GET takes the secret out of the session: a second refresh no longer shows it.
"""

_KEY = "cceone_show_once"


def keep(request, name: str, value) -> None:
    request.session.setdefault(_KEY, {})[name] = value
    request.session.modified = True


def take(request, name: str):
    kept = request.session.get(_KEY) or {}
    value = kept.pop(name, None)
    if value is not None:
        request.session.modified = True
    return value
