"""Refuse any page whose view declares no IAM action and no opt-out (see `routes`)."""
import logging

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .routes import is_api_view, page_declaration

log = logging.getLogger(__name__)


class DeclaredIAMMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if is_api_view(view_func):
            return None  # IAMPermission refuses undeclared API operations itself
        match = request.resolver_match
        if page_declaration(view_func, match.namespaces if match else ()) is not None:
            return None
        log.error("refused %s: its view declares no IAM action (cceone/iam/routes.py)", request.path)
        raise PermissionDenied(_("This page declares no IAM permission, so it is refused."))
