"""Services and Ingresses."""
from django.utils.translation import gettext_lazy as _

from .. import related
from ..formatting import spec, status
from ..create_forms import IngressForm, ServiceForm
from ..registry import Column, Kind, register


def _service_ports(obj: dict, _ctx=None) -> str:
    ports = []
    for p in spec(obj).get("ports") or []:
        text = f"{p.get('port')}"
        if p.get("nodePort"):
            text += f":{p['nodePort']}"
        ports.append(f"{text}/{p.get('protocol', 'TCP')}")
    return ", ".join(ports) or "--"


def _external_ip(obj: dict, _ctx=None) -> str:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress") or []
    found = [i.get("ip") or i.get("hostname") for i in ingress] + list(spec(obj).get("externalIPs") or [])
    if found:
        return ", ".join(x for x in found if x)
    return "<pending>" if spec(obj).get("type") == "LoadBalancer" else "--"


def _service_status(obj: dict) -> tuple[str, str]:
    if spec(obj).get("type") == "LoadBalancer" and _external_ip(obj) == "<pending>":
        return (_("Pending"), "warn")
    return (_("Active"), "ok")


def _ingress_hosts(obj: dict, _ctx=None) -> str:
    return ", ".join(r.get("host") or "*" for r in spec(obj).get("rules") or []) or "*"


def _ingress_address(obj: dict, _ctx=None) -> str:
    ingress = (status(obj).get("loadBalancer") or {}).get("ingress") or []
    return ", ".join(i.get("ip") or i.get("hostname") or "" for i in ingress) or "--"


def _ingress_ports(obj: dict, _ctx=None) -> str:
    return "80, 443" if spec(obj).get("tls") else "80"


def _ingress_summary(obj: dict) -> list:
    rows = []
    for rule in spec(obj).get("rules") or []:
        for path in ((rule.get("http") or {}).get("paths") or []):
            backend = (path.get("backend") or {}).get("service") or {}
            port = (backend.get("port") or {})
            rows.append((f"{rule.get('host') or '*'}{path.get('path') or '/'}",
                         f"{backend.get('name', '--')}:{port.get('number') or port.get('name') or ''}"))
    tls = ", ".join(h for t in spec(obj).get("tls") or [] for h in t.get("hosts") or [])
    return [(_("Ingress class"), spec(obj).get("ingressClassName") or "--"), *rows, (_("TLS hosts"), tls or "--")]


register(Kind(
    "Service", "services", "", "v1", True, "network", _("Services"), _("Service"),
    columns=(Column(_("Type"), lambda o, c: spec(o).get("type") or "ClusterIP"),
             Column(_("Cluster IP"), lambda o, c: spec(o).get("clusterIP") or "--"),
             Column(_("External IP"), _external_ip), Column(_("Ports"), _service_ports)),
    status=_service_status, conditions=False, related=related.service_endpoints, create_form=ServiceForm,
    reads=(("", "endpoints"),),
    summary=lambda o: [(_("Type"), spec(o).get("type") or "ClusterIP"),
                       (_("Cluster IP"), spec(o).get("clusterIP") or "--"),
                       (_("External IP"), _external_ip(o)), (_("Ports"), _service_ports(o)),
                       (_("Selector"), ", ".join(f"{k}={v}" for k, v in (spec(o).get("selector") or {}).items()) or "--"),
                       (_("Session affinity"), spec(o).get("sessionAffinity") or "None")],
    template="""apiVersion: v1
kind: Service
metadata:
  name: my-service
spec:
  type: ClusterIP
  selector:
    app: my-app
  ports:
  - port: 80
    targetPort: 80
    protocol: TCP
""",
))

register(Kind(
    "Ingress", "ingresses", "networking.k8s.io", "v1", True, "network", _("Ingresses"), _("Ingress"),
    columns=(Column(_("Class"), lambda o, c: spec(o).get("ingressClassName") or "--"),
             Column(_("Hosts"), _ingress_hosts), Column(_("Address"), _ingress_address),
             Column(_("Ports"), _ingress_ports)),
    status=lambda o: (_("Active"), "ok") if _ingress_address(o) != "--" else (_("Pending"), "warn"),
    summary=_ingress_summary, conditions=False, related=related.ingress_backends, create_form=IngressForm,
    template="""apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: my-ingress
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: my-service
            port:
              number: 80
""",
))
