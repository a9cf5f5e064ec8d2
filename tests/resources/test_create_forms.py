"""Every kind the manual creates by form has a guided create form: it renders the object the
cluster then holds, through the same create service as YAML (checked by a server-side dry
run first); bad input is refused on the field, and the cluster keeps nothing. The API takes
the same fields."""
import pytest

from tests.conftest import client_for
from tests.resources.conftest import page

# kind → (the form as a user fills it in, where the object is, what the cluster then holds)
FILLED = {
    "statefulsets": ({"name": "cache", "namespace": "prod", "image": "redis:7", "replicas": 2,
                      "command": "redis-server --appendonly yes", "port": 6379},
                     ("apps/v1", "StatefulSet", "prod"),
                     lambda o: (o["spec"]["replicas"], o["spec"]["serviceName"],
                                o["spec"]["template"]["spec"]["containers"][0]["command"]) == (
                         2, "cache", ["redis-server", "--appendonly", "yes"])),
    "daemonsets": ({"name": "log-agent", "namespace": "prod", "image": "busybox:1.36", "command": "sleep infinity",
                    "env": "LEVEL=debug"},
                   ("apps/v1", "DaemonSet", "prod"),
                   lambda o: o["spec"]["selector"] == {"matchLabels": {"app": "log-agent"}}
                   and o["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "LEVEL", "value": "debug"}]),
    "jobs": ({"name": "migrate", "namespace": "prod", "image": "busybox:1.36", "command": "echo done",
              "completions": 3, "parallelism": 2, "backoff_limit": 1, "restart_policy": "OnFailure"},
             ("batch/v1", "Job", "prod"),
             lambda o: (o["spec"]["completions"], o["spec"]["parallelism"], o["spec"]["backoffLimit"],
                        o["spec"]["template"]["spec"]["restartPolicy"]) == (3, 2, 1, "OnFailure")),
    "cronjobs": ({"name": "nightly", "namespace": "prod", "schedule": "30 2 * * *", "image": "busybox:1.36",
                  "command": "date", "concurrency_policy": "Forbid", "suspend": "on", "completions": 1,
                  "parallelism": 1, "backoff_limit": 6, "restart_policy": "Never"},
                 ("batch/v1", "CronJob", "prod"),
                 lambda o: (o["spec"]["schedule"], o["spec"]["concurrencyPolicy"], o["spec"]["suspend"],
                            o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]) == (
                     "30 2 * * *", "Forbid", True, ["date"])),
    "ingresses": ({"name": "shop", "namespace": "prod", "host": "shop.example.com", "path": "/cart",
                   "path_type": "Prefix", "service": "web", "service_port": 80, "tls_secret": "shop-tls"},
                  ("networking.k8s.io/v1", "Ingress", "prod"),
                  lambda o: o["spec"]["rules"][0] == {"host": "shop.example.com", "http": {"paths": [
                      {"path": "/cart", "pathType": "Prefix",
                       "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}
                  and o["spec"]["tls"] == [{"hosts": ["shop.example.com"], "secretName": "shop-tls"}]),
    "persistentvolumeclaims": ({"name": "data", "namespace": "prod", "storage": "5Gi", "access_mode": "ReadWriteOnce",
                                "storage_class": "standard", "volume_mode": "Filesystem"},
                               ("v1", "PersistentVolumeClaim", "prod"),
                               lambda o: (o["spec"]["resources"]["requests"]["storage"], o["spec"]["accessModes"],
                                          o["spec"]["storageClassName"]) == ("5Gi", ["ReadWriteOnce"], "standard")),
    "persistentvolumes": ({"name": "nfs-share", "capacity": "100Gi", "access_mode": "ReadWriteMany",
                           "reclaim_policy": "Retain", "source": "nfs", "path": "/exports/share",
                           "server": "10.0.0.5"},
                          ("v1", "PersistentVolume", None),
                          lambda o: (o["spec"]["nfs"], o["spec"]["persistentVolumeReclaimPolicy"]) == (
                              {"server": "10.0.0.5", "path": "/exports/share"}, "Retain")),
    "storageclasses": ({"name": "fast", "provisioner": "rancher.io/local-path", "reclaim_policy": "Delete",
                        "binding_mode": "Immediate", "allow_expansion": "on", "parameters": "type=ssd"},
                       ("storage.k8s.io/v1", "StorageClass", None),
                       lambda o: (o["provisioner"], o["volumeBindingMode"], o["allowVolumeExpansion"],
                                  o["parameters"]) == ("rancher.io/local-path", "Immediate", True, {"type": "ssd"})),
}

# kind → (a field given wrong, the message on it)
REFUSED = {
    "statefulsets": ({"replicas": 1001}, "replicas", "Ensure this value is less than or equal to 1000."),
    "daemonsets": ({"command": "sh -c 'echo"}, "command", "Close the quotes in the command."),
    "jobs": ({"name": "Migrate_Now"}, "name", "Use lower-case letters, digits and '-', starting and ending with a "
                                              "letter or digit."),
    "cronjobs": ({"schedule": "every night"}, "schedule", "Give five fields (minute hour day month weekday), "
                                                          "e.g. 0 3 * * *."),
    "ingresses": ({"host": ""}, "host", "HTTPS needs the domain name its certificate is for."),
    "persistentvolumeclaims": ({"storage": "lots"}, "storage", "“lots” is not a size, e.g. 10Gi."),
    "persistentvolumes": ({"server": ""}, "server", "An NFS volume needs its server."),
    "storageclasses": ({"name": "Fast!"}, "name", "Use lower-case letters, digits, '-' and '.', starting and ending "
                                                  "with a letter or digit."),
}


def get(emulator, api_version, kind, name, namespace):
    return emulator.emulator.get_object(api_version, kind, name, namespace)


def test_each_form_creates_its_object_and_refuses_bad_input(cluster, emulator, tenant):
    client = client_for(tenant.main)
    for plural, (filled, (api_version, kind, namespace), holds) in FILLED.items():
        create = page(cluster, plural, action="create")
        shown = client.get(create)
        assert shown.status_code == 200 and 'id="create-form"' in shown.content.decode(), plural
        assert 'name="mode" value="form"' in shown.content.decode(), plural

        changes, field, message = REFUSED[plural]
        refused = client.post(create, {"mode": "form", **filled, **changes})
        assert refused.status_code == 422, plural
        assert message in refused.content.decode().replace("&#x27;", "'").replace("&quot;", '"'), plural
        assert get(emulator, api_version, kind, filled["name"], namespace) is None, plural

        created = client.post(create, {"mode": "form", **filled})
        assert created.status_code == 302, (plural, created.content.decode()[-2000:])
        assert created["Location"] == page(cluster, plural, namespace, filled["name"]), plural
        obj = get(emulator, api_version, kind, filled["name"], namespace)
        assert obj is not None and holds(obj), (plural, obj)


def _as_json(filled: dict) -> dict:
    """The form's fields as an API client sends them: numbers, booleans and key-value objects."""
    result = {}
    for key, value in filled.items():
        if key == "namespace":
            continue
        if value == "on":
            value = True
        elif key in ("env", "parameters"):
            value = dict([value.split("=", 1)])
        result[key] = value
    return result


@pytest.mark.parametrize("plural", ["cronjobs", "ingresses", "persistentvolumes", "storageclasses"])
def test_the_api_creates_by_the_same_form(cluster, emulator, tenant, plural):
    filled, (api_version, kind, namespace), holds = FILLED[plural]
    scope = f"namespaces/{namespace}/" if namespace else ""
    address = f"/api/v1/kubernetes/clusters/{cluster.pk}/{scope}{plural}/"
    client = client_for(tenant.main)
    changes, field, message = REFUSED[plural]
    refused = client.post(address, {**_as_json(filled), **changes}, content_type="application/json")
    assert refused.status_code == 400 and refused.json() == {field: [message]}
    assert get(emulator, api_version, kind, filled["name"], namespace) is None
    created = client.post(address, _as_json(filled), content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json() == {"kind": kind, "namespace": namespace, "name": filled["name"]}
    assert holds(get(emulator, api_version, kind, filled["name"], namespace))


def test_the_api_fills_in_what_the_form_starts_with(cluster, emulator, tenant):
    """Fields left out take the form's initial values, as the page shows them filled in."""
    client = client_for(tenant.main)
    created = client.post(f"/api/v1/kubernetes/clusters/{cluster.pk}/namespaces/prod/cronjobs/",
                          {"name": "tidy", "image": "busybox:1.36"}, content_type="application/json")
    assert created.status_code == 201, created.content
    spec = get(emulator, "batch/v1", "CronJob", "tidy", "prod")["spec"]
    assert (spec["schedule"], spec["concurrencyPolicy"], spec["suspend"]) == ("0 3 * * *", "Forbid", False)
    assert spec["jobTemplate"]["spec"]["backoffLimit"] == 6
