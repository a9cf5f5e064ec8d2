"""Fixtures for the kubesim tests: real HTTP servers, the official client, no mocks.

Servers are module-scoped (starting one costs a few ms) and tests isolate
themselves with their own namespaces, so the suite stays fast.
"""

from __future__ import annotations

import itertools
import time
from typing import Any, Callable, Iterator

import pytest
from kubernetes import client, dynamic

from sandbox.kubesim import EmulatorServer, User

ADMIN = "admin-token"
AGENT = "agent-token"  # the hub's agent: a service account made cluster-admin by a ClusterRoleBinding
PLAIN = "plain-token"  # an authenticated user without any bindings

_names = itertools.count()


def tokens() -> dict[str, User]:
    return {
        ADMIN: User("admin", ("system:masters",)),
        AGENT: User.service_account("cce-system", "agent"),
        PLAIN: User("plain"),
    }


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(tokens=tokens(), seed_files=["local-3node"]) as srv:
        srv.emulator.put_objects([
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "agent", "namespace": "cce-system"}},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "cce-agent"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
             "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "cce-system"}]},
        ])
        yield srv


@pytest.fixture(scope="module")
def emulator(server: EmulatorServer) -> Any:
    return server.emulator


@pytest.fixture(scope="module")
def api(server: EmulatorServer) -> Iterator[client.ApiClient]:
    api = server.api_client(ADMIN)
    yield api
    api.close()


@pytest.fixture(scope="module")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="module")
def dyn(api: client.ApiClient, tmp_path_factory: pytest.TempPathFactory) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api, cache_file=str(tmp_path_factory.mktemp("discovery") / "cache.json"))


@pytest.fixture
def ns(core: client.CoreV1Api) -> str:
    """A fresh namespace for one test."""
    name = f"t{next(_names)}-{int(time.time() * 1000) % 100000}"
    core.create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def client_for(server: EmulatorServer) -> Iterator[Callable[..., client.ApiClient]]:
    """``client_for(token, impersonate=..., group=...)``: ApiClients closed after the test."""
    made: list[client.ApiClient] = []

    def make(token: str = ADMIN, impersonate: str | None = None, group: str | None = None) -> client.ApiClient:
        api = server.api_client(token, impersonate=impersonate, impersonate_group=group)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()
