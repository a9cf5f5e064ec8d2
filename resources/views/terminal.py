"""The pod page's web terminal: the page (xterm.js), the shell's output as server-sent
events, and the keystrokes and resizes (see resources/terminal.py for why it is not a
WebSocket to the browser)."""
import json

from django.http import HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.utils.translation import gettext as _

from .. import terminal
from ..formatting import spec
from ..links import object_url
from .base import ResourceView


class Terminal(ResourceView):
    """A shell in one of the pod's containers, in the browser."""

    kind_action = "terminal"

    def container(self, pod) -> str | None:
        names = [c.get("name") for c in spec(pod).get("containers") or []]
        wanted = self.request.GET.get("container") or (names[0] if names else "")
        return wanted if wanted in names else None

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        container = self.container(pod)
        names = [c.get("name") for c in spec(pod).get("containers") or []]
        context = {**self.object_context(), "containers": names, "container": container,
                   "stream_url": object_url(self.target, self.kind, self.namespace, self.name, "terminal-stream",
                                            container=container or ""),
                   "input_url": object_url(self.target, self.kind, self.namespace, self.name, "terminal-input")}
        response = self.render("resources/terminal.html", context, status=200 if container else 400)
        # xterm.js sizes its rows with <style> elements it creates: allowed on this page
        # only; scripts stay 'self'.
        response._csp_update = {"style-src": ["'self'", "'unsafe-inline'"]}
        return response


class TerminalStream(Terminal):
    kind_action = "terminal-stream"

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        container = self.container(pod)
        if container is None:
            events = terminal.refused_stream(_("The pod has no container named %(name)s.")
                                             % {"name": request.GET.get("container", "")})
        else:
            try:
                ws = terminal.open_shell(self.target.obj, request.user, self.namespace, self.name, container)
                events = terminal.Session(ws, request.user.pk).stream()
            except terminal.Refused as refusal:
                events = terminal.refused_stream(str(refusal))
        response = StreamingHttpResponse(events, content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


class TerminalInput(Terminal):
    """POST {"id", "data"} (keystrokes, pasted text), {"id", "resize": [cols, rows]} or {"id", "close": true}."""

    kind_action = "terminal-input"

    def post(self, request, **kwargs):
        try:
            message = json.loads(request.body or b"{}")
        except ValueError:
            message = None
        if not isinstance(message, dict) or not terminal.valid_id(str(message.get("id", ""))):
            return HttpResponseBadRequest(_("Not a terminal input."))
        allowed = {k: message[k] for k in ("data", "resize", "close") if k in message}
        delivered = terminal.send_input(message["id"], request.user.pk, allowed)
        if delivered is None:
            return JsonResponse({"error": _("The terminal session has ended.")}, status=410)
        if not delivered:
            return JsonResponse({"error": _("Not a terminal input.")}, status=403)
        return JsonResponse({"ok": True})
