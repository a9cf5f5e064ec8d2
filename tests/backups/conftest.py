"""A real S3 API over HTTP (moto's server, in a thread, with IAM authentication on: a
wrong key is refused as a real endpoint would), Kubernetes API emulators for a source and
a target cluster reached directly, and a tenant's storage location."""
import json
import logging
import uuid
from dataclasses import dataclass

import boto3
import pytest
import requests
from botocore.client import Config

from clusters.models import RegisteredCluster
from sandbox.kubesim.runner import EmulatorServer
from tests.factories import ClusterFactory


@dataclass
class S3:
    url: str
    access_key: str
    secret_key: str

    def client(self, access_key=None, secret_key=None):
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=access_key or self.access_key,
                            aws_secret_access_key=secret_key or self.secret_key,
                            config=Config(s3={"addressing_style": "path"}))

    def new_bucket(self) -> str:
        name = f"backups-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


@pytest.fixture(scope="session")
def s3():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="setup",
                       aws_secret_access_key="setup")
    iam.create_user(UserName="cceone")
    key = iam.create_access_key(UserName="cceone")["AccessKey"]
    iam.put_user_policy(UserName="cceone", PolicyName="s3", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    requests.post(f"{url}/moto-api/reset-auth", data=b"0", timeout=5)  # from now on every request is checked
    yield S3(url, key["AccessKeyId"], key["SecretAccessKey"])
    server.stop()


@pytest.fixture
def location(tenant, s3):
    from backups import services

    return services.save_location(tenant.main, None, name="oss-main", endpoint=s3.url, region="us-east-1",
                                  bucket=s3.new_bucket(), prefix="cce", access_key=s3.access_key,
                                  secret_key=s3.secret_key)


def direct_cluster(account, server: EmulatorServer, name: str) -> RegisteredCluster:
    """A running cluster reached directly at an emulator (as a cloud cluster is: over HTTPS,
    verified with its CA)."""
    from tests.live import cloud_inventory

    cloud = cloud_inventory(account, server, name=f"cloud-{name}")
    return ClusterFactory(account=account, name=name, cloud_cluster=cloud,
                          connection_mode=RegisteredCluster.ConnectionMode.DIRECT)


@pytest.fixture
def source_server():
    with EmulatorServer(tls=True) as server:
        yield server


@pytest.fixture
def target_server():
    with EmulatorServer(tls=True) as server:
        yield server


@pytest.fixture
def source(tenant, source_server):
    shop(source_server.emulator)
    return direct_cluster(tenant.account, source_server, "idc-source")


@pytest.fixture
def target(tenant, target_server):
    return direct_cluster(tenant.account, target_server, "cce-target")


def shop(emulator, namespace="shop", registry="harbor.old"):
    """An application as a user would have deployed it: a CRD and its object, a deployment (with
    the replica set and pods its controller made), a service, configuration, storage, RBAC."""
    put = emulator.apply_object
    put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"team": "shop"}}})
    put({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "widgets.example.com"},
         "spec": {"group": "example.com", "scope": "Namespaced",
                  "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                  "versions": [{"name": "v1", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True}}}]}})
    labels = {"app": "web"}
    put({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": namespace,
                                                                     "labels": labels},
         "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "web", "image": f"{registry}/shop/web:1.2",
                                                        "resources": {"requests": {"cpu": "500m"}}}],
                                        "initContainers": [{"name": "init", "image": "busybox:1.36"}]}}}})
    put({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": namespace},
         "spec": {"selector": labels, "clusterIP": "10.96.0.42", "clusterIPs": ["10.96.0.42"], "type": "NodePort",
                  "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080}]}})
    put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config", "namespace": namespace},
         "data": {"LOG_LEVEL": "info"}})
    put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-secret", "namespace": namespace},
         "type": "Opaque", "data": {"password": "c2VjcmV0"}})
    put({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
        "name": "data", "namespace": namespace, "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
         "spec": {"storageClassName": "nfs", "accessModes": ["ReadWriteOnce"],
                  "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv-data"}})
    put({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": namespace}})
    put({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "web-view", "namespace": namespace},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "ServiceAccount", "name": "web", "namespace": namespace}]})
    put({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "blue", "namespace": namespace},
         "spec": {"colour": "blue"}})
