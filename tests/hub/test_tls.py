"""The public listener over TLS with the hub's self-minted CA."""

from __future__ import annotations

import os
import stat
import time

from cceone.hub import HubThread, HubTLS

from .conftest import USER_TOKEN, WINDOW, AgentThread, kube_api


def test_certificates_generated_once(tmp_path):
    t1 = HubTLS.ensure(tmp_path / "hub", hostnames=["hub.example.com"])
    for f in (t1.cert_file, t1.key_file, t1.ca_file):
        assert os.path.exists(f)
    assert stat.S_IMODE(os.stat(t1.key_file).st_mode) == 0o600
    before = open(t1.cert_file).read()
    t2 = HubTLS.ensure(tmp_path / "hub", hostnames=["hub.example.com"])
    assert open(t2.cert_file).read() == before  # not regenerated on restart
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(before.encode())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert "hub.example.com" in names and "localhost" in names


def test_agent_and_kubeconfig_over_tls(tmp_path, directory, kubeconfig, fake_api):
    tls = HubTLS.ensure(tmp_path / "hub")
    hub = HubThread(directory, heartbeat_window=WINDOW, tls=tls)
    agents = []
    try:
        assert hub.agent_url.startswith("wss://") and hub.public_url.startswith("https://")
        # Without the hub's CA the agent must not connect.
        untrusting = AgentThread(hub.agent_url, "agent-token-c1", kubeconfig)
        agents.append(untrusting)
        time.sleep(0.5)
        assert untrusting.agent.connections == 0
        untrusting.stop()
        a = AgentThread(hub.agent_url, "agent-token-c1", kubeconfig, ca_file=tls.ca_file)
        agents.append(a)
        a.wait_connected()
        core = kube_api(f"{hub.public_url}/k8s/clusters/c1", token=USER_TOKEN, ca_file=tls.ca_file)
        assert core.read_namespaced_pod("seed-0", "default").metadata.name == "seed-0"
    finally:
        for a in agents:
            a.stop()
        hub.stop()
