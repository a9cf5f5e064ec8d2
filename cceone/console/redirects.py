"""Where to go after a form: the `next` a page sent along, when it stays on this site."""
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, default: str = "") -> str:
    """The request's `next` (POST, then GET) if it is a URL of this console, else `default`
    (a URL or a URL name). Anything else would make the console an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return resolve_url(default) if default else ""


def redirect_next(request, default: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next(request, default))
