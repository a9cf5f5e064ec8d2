"""The API documentation as an API user reads it: operations grouped by what they manage,
and no internal references in the text."""
import re

from tests.conftest import client_for


def schema(tenant) -> dict:
    return client_for(tenant.main).get("/api/schema/", HTTP_ACCEPT="application/json").json()


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                yield path, method, operation


def test_operations_are_grouped_by_what_they_manage(tenant):
    tags = {path: operation["tags"] for path, _method, operation in operations(schema(tenant))}
    assert tags["/api/v1/clusters/"] == ["Registered clusters"]
    assert tags["/api/v1/fleets/"] == ["Fleets"]
    assert tags["/api/v1/permission-associations/"] == ["Kubernetes permissions"]
    assert tags["/api/v1/iam/users/"] == ["Identity and access"]
    assert tags["/api/v1/audit/events/"] == ["Audit and operation logs"]
    assert tags["/api/v1/billing/balance/"] == ["Billing"]
    assert tags["/api/v1/kubernetes/clusters/"] == ["Kubernetes resources"]
    assert "v1" not in {tag for group in tags.values() for tag in group}


def test_the_consoles_kubernetes_actions_are_documented_by_section(tenant):
    """Each kind's operations under its console section, and only the actions it has."""
    paths = schema(tenant)["paths"]
    cluster, namespaced = "/api/v1/kubernetes/clusters/{cluster_id}/", \
        "/api/v1/kubernetes/clusters/{cluster_id}/namespaces/{namespace}/"
    expected = {
        namespaced + "deployments/{name}/scale/": ("post", "Kubernetes Workloads"),
        namespaced + "daemonsets/{name}/restart/": ("post", "Kubernetes Workloads"),
        namespaced + "services/{name}/": ("put", "Kubernetes Network"),
        namespaced + "secrets/{name}/reveal/": ("post", "Kubernetes Configuration"),
        namespaced + "persistentvolumeclaims/{name}/": ("delete", "Kubernetes Storage"),
        cluster + "nodes/{name}/drain/": ("post", "Kubernetes Nodes"),
        cluster + "namespaces/": ("post", "Kubernetes Namespaces"),
        cluster + "manifests/": ("post", "Kubernetes resources"),
    }
    for path, (method, tag) in expected.items():
        assert paths[path][method]["tags"] == [tag], path
    assert namespaced + "configmaps/{name}/scale/" not in paths
    assert namespaced + "daemonsets/{name}/scale/" not in paths
    assert cluster + "nodes/" in paths and "post" not in paths[cluster + "nodes/"]
    create = paths[namespaced + "deployments/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create == {"$ref": "#/components/schemas/DeploymentCreateRequest"}
    delete = paths[cluster + "namespaces/{name}/"]["delete"]
    assert [p["name"] for p in delete["parameters"] if p["in"] == "query"] == ["confirm"]
    assert {"403", "404", "409", "502", "503"} <= set(paths[namespaced + "deployments/{name}/scale/"]["post"][
        "responses"])


def test_the_docs_show_no_requirement_ids(tenant):
    text = []

    def collect(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("description", "summary") and isinstance(value, str):
                    text.append(value)
                else:
                    collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    document = schema(tenant)
    collect(document)
    leaked = [t for t in text if re.search(r"\bR\d+\.\d+", t)]
    assert not leaked, leaked
    order = document["components"]["schemas"]["OrderRequest"]["description"]
    assert order == "An order. Local and third-party: provider, network settings; cloud: cloud_cluster."
