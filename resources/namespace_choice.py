"""The namespace a user works in on a target: the ones they may pick (cached briefly per
user) and the one they picked last (kept in their session for the target's other pages)."""
from django.core.cache import cache

from cceone.kube.gateway import KubeError

from . import registry
from .formatting import meta

ALL = ""  # the namespace filter's "all namespaces"


def _cache_key(request, target) -> str:
    return f"k8s-namespaces:{target.type.name}:{target.id}:{request.user.pk}"


def session_key(target) -> str:
    return f"k8s-namespace:{target.type.name}:{target.id}"


def namespaces(request, api, target) -> list[str] | None:
    """The namespaces the user may list (None: not allowed), cached briefly per user."""
    key = _cache_key(request, target)
    names = cache.get(key)
    if names is None:
        try:
            names = sorted(meta(n)["name"] for n in api.list_all(registry.get("namespaces"), cap=5000))
        except KubeError:
            names = False
        cache.set(key, names, 30)
    return names or None


def forget_namespaces(request, target) -> None:
    cache.delete(_cache_key(request, target))


def namespace_written(request, target, name, deleted) -> None:
    """A namespace was created or deleted: the choices change, and a deleted one is no
    longer the one the user works in."""
    forget_namespaces(request, target)
    if deleted and request.session.get(session_key(target)) == name:
        request.session[session_key(target)] = ALL
