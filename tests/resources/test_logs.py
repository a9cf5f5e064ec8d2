"""Pod logs: choosing the container, the tail length and the previous container;
following (server-sent events streamed into the page) that ends when the reader goes
away or after a maximum duration; downloading."""
import html

import pytest

from clusters.status import hub_status
from tests.conftest import client_for
from tests.live import wait_until
from tests.resources.conftest import page

POD = "web-9dc7954c7-fffd7"


@pytest.fixture(autouse=True)
def bounded_streams(settings):
    """No follow stream in these tests may outlive a few seconds, whatever happens."""
    settings.CCEONE_LOG_FOLLOW_MAX_SECONDS = 8


@pytest.fixture
def sidecar_pod(cluster, emulator):
    emulator.emulator.put_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "duo", "namespace": "prod"},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "app", "image": "nginx"},
                                                        {"name": "proxy", "image": "envoy"}]},
        "status": {"phase": "Running"}})
    emulator.emulator.append_log("prod", "duo", "app", "\n".join(f"app line {i}" for i in range(1, 801)))
    emulator.emulator.append_log("prod", "duo", "proxy", "proxy says hello")
    return "duo"


def _log_text(response) -> str:
    body = response.content.decode().split('id="log-output"', 1)[1].split(">", 1)[1].split("</pre>", 1)[0]
    return html.unescape(body)


def test_logs_of_the_chosen_container_with_a_tail(sidecar_pod, cluster, tenant):
    client = client_for(tenant.main)
    default = client.get(page(cluster, "pods", "prod", "duo", "logs"))
    lines = _log_text(default).splitlines()
    assert lines[0] == "app line 301" and lines[-1] == "app line 800" and len(lines) == 500  # 500 by default
    assert '<option value="proxy">' in default.content.decode()
    tail = _log_text(client.get(page(cluster, "pods", "prod", "duo", "logs") + "?container=app&tail=100"))
    assert tail.splitlines()[0] == "app line 701"
    everything = _log_text(client.get(page(cluster, "pods", "prod", "duo", "logs") + "?container=app&tail=0"))
    assert len(everything.splitlines()) == 800
    proxy = client.get(page(cluster, "pods", "prod", "duo", "logs") + "?container=proxy")
    assert _log_text(proxy).strip() == "proxy says hello"


def test_the_previous_container(cluster, tenant):
    client = client_for(tenant.main)
    url = page(cluster, "pods", "prod", "api-64c44f89b-5cfc6", "logs")
    assert "panic: redis unavailable" in _log_text(client.get(url + "?previous=on"))
    assert "panic" not in _log_text(client.get(url))
    missing = client.get(page(cluster, "pods", "prod", POD, "logs") + "?previous=on").content.decode()
    assert 'id="log-error"' in missing and "previous terminated container" in missing


def test_download_the_whole_log(sidecar_pod, cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", "duo", "logs-download") + "?container=app")
    assert response["Content-Disposition"] == 'attachment; filename="duo-app.log"'
    assert response.content.decode().count("app line") == 800


def test_the_follow_page_streams_into_the_page(cluster, tenant):
    text = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs") + "?follow=on&tail=100").content.decode()
    stream = html.unescape(text.split('data-log-stream="', 1)[1].split('"', 1)[0])
    assert stream == page(cluster, "pods", "prod", POD, "logs-stream") + "?container=web&tail=100"


def _events(chunks):
    for chunk in chunks:
        yield chunk.decode()


def test_follow_streams_new_lines_and_stops_when_the_reader_leaves(cluster, tenant, emulator, settings):
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE = 0.2
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs-stream") + "?tail=100")
    assert response["Content-Type"] == "text/event-stream"
    events = _events(response.streaming_content)
    received = ""
    while "data: 10.244.1.27" not in received:  # the seeded log's last line
        received += next(events)
    assert received.startswith(": connected\n\ndata: /docker-entrypoint.sh: Configuration complete")
    streams = lambda: sum(c["streams"] for c in hub_status(cluster)["connections"])  # noqa: E731
    assert streams() == 1
    emulator.emulator.append_log("prod", POD, "web", "a brand new line")
    while "a brand new line" not in received:
        received += next(events)
    assert "data: a brand new line\n\n" in received
    response.close()  # the browser went away
    wait_until(lambda: streams() == 0, what="the upstream follow to end")


def test_follow_ends_after_its_maximum_duration(cluster, tenant, settings):
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE, settings.CCEONE_LOG_FOLLOW_MAX_SECONDS = 0.1, 0.5
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs-stream"))
    received = "".join(_events(response.streaming_content))  # ends by itself
    assert received.rstrip().endswith("data: The log stream reached its maximum duration; follow again to continue.")
    assert "event: end" in received
    wait_until(lambda: sum(c["streams"] for c in hub_status(cluster)["connections"]) == 0,
               what="the upstream follow to end")


def test_follow_ends_when_the_pod_goes_away(cluster, tenant, emulator, settings):
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE = 0.1
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs-stream") + "?tail=100")
    events = _events(response.streaming_content)
    assert "connected" in next(events)
    emulator.emulator.delete_object("v1", "Pod", POD, "prod")
    rest = "".join(events)
    assert "event: end\ndata: The container's log stream ended." in rest


def test_a_follow_the_cluster_refuses_says_why(cluster, tenant):
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs-stream") + "?previous=on")
    received = "".join(_events(response.streaming_content))
    assert "event: failure" in received and "previous terminated container" in received
    assert received.rstrip().endswith("event: end\ndata:")


def _dispatched(stream: str) -> list[tuple[str, str]]:
    """(event type, data) as a browser's EventSource dispatches them: the stream's line
    terminators are \\r\\n, \\n and a bare \\r (HTML's server-sent events parsing)."""
    import re

    events, kind, data = [], "message", []
    for line in re.split(r"\r\n|\r|\n", stream):
        if line == "":
            if data:
                events.append((kind, "\n".join(data)))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].removeprefix(" ")
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    return events


def test_a_carriage_return_in_a_log_line_cannot_end_the_followers_stream(cluster, tenant, emulator, settings):
    settings.CCEONE_LOG_FOLLOW_KEEPALIVE = 0.2
    response = client_for(tenant.main).get(page(cluster, "pods", "prod", POD, "logs-stream") + "?tail=1")
    events = _events(response.streaming_content)
    received = next(events)
    hostile = "progress 10%\r\revent: end\rdata: forged end"
    emulator.emulator.append_log("prod", POD, "web", hostile + "\nstill following")
    while "still following" not in received:
        received += next(events)
    response.close()
    dispatched = _dispatched(received)
    assert ("message", "progress 10%\n\nevent: end\ndata: forged end") in dispatched
    assert dispatched[-1] == ("message", "still following")
    assert "end" not in [kind for kind, _ in dispatched]
