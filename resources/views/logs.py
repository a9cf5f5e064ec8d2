"""A pod's logs: the page, the download, and the follow stream."""
from django.http import HttpResponse, StreamingHttpResponse

from cceone.kube.gateway import KubeError

from ..forms import LogOptionsForm
from ..formatting import spec
from ..links import object_url
from ..streaming import follow
from .base import ResourceView


class Logs(ResourceView):
    """A pod's logs: container, tail length, previous container; follow streams into the
    page (LogStream); download returns the whole text as a file."""

    kind_action = "logs"

    def options(self, pod):
        containers = [c.get("name") for c in spec(pod).get("containers") or []] + \
            [c.get("name") for c in spec(pod).get("initContainers") or []]
        form = LogOptionsForm(self.request.GET or None, containers)
        return form, form.options()

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        form, options = self.options(pod)
        follow = request.GET.get("follow") == "on"
        query = {k: v for k, v in (("container", options["container"]), ("tail", options["tail"] or 0),
                                   ("previous", "on" if options["previous"] else None)) if v is not None}
        context = {**self.object_context(), "form": form, "options": options, "follow": follow,
                   "stream_url": object_url(self.target, self.kind, self.namespace, self.name, "logs-stream", **query),
                   "download_url": object_url(self.target, self.kind, self.namespace, self.name, "logs-download",
                                              **{k: v for k, v in query.items() if k != "tail"})}
        if not follow:
            try:
                context["text"] = self.api.log(self.kind, self.namespace, self.name, **options)
            except KubeError as error:
                context["log_error"] = error.message
        return self.render("resources/logs.html", context)


class LogDownload(Logs):
    kind_action = "logs-download"

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        options = self.options(pod)[1]
        tail = request.GET.get("tail")
        options["tail"] = int(tail) if tail and tail.isdigit() and int(tail) else None
        text = self.api.log(self.kind, self.namespace, self.name, **options)
        response = HttpResponse(text, content_type="text/plain; charset=utf-8")
        suffix = "-previous" if options["previous"] else ""
        response["Content-Disposition"] = f'attachment; filename="{self.name}-{options["container"]}{suffix}.log"'
        return response


class LogStream(Logs):
    """Server-sent events: one `data:` per log line as the container writes it (see
    `streaming.follow`)."""

    kind_action = "logs-stream"

    def get(self, request, **kwargs):
        pod = self.api.get(self.kind, self.name, self.namespace)
        options = self.options(pod)[1]
        try:
            upstream = self.api.log_stream(self.kind, self.namespace, self.name, **options)
        except KubeError as error:
            upstream, failure = None, error.message
        response = StreamingHttpResponse(follow(upstream, failure if upstream is None else None),
                                         content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response
