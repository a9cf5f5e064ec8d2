"""Ingress diagnosis (DIAGNOSIS.md §4)."""
import base64
from datetime import timedelta

from django.utils.translation import gettext_noop as N_

from ..findings import Evidence, Finding
from .common import check, event_evidence, parse_time

DEFAULT_CLASS = "ingressclass.kubernetes.io/is-default-class"
BUILTIN_CLASSES = ("gce", "gce-internal")
NOT_ADMITTED_MINUTES = 10
EXPIRY_DAYS = 30


def _class_name(ctx) -> str:
    return ctx.spec.get("ingressClassName") or (ctx.meta.get("annotations") or {}).get("kubernetes.io/ingress.class", "")


def _backends(ctx):
    """(field, service name, port) of every rule path's service backend."""
    for r, rule in enumerate(ctx.spec.get("rules") or []):
        for p, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
            service = (path.get("backend") or {}).get("service")
            if service and service.get("name"):
                yield f"spec.rules[{r}].http.paths[{p}].backend.service", service["name"], service.get("port") or {}


@check("ingresses", "ING-NO-CLASS", N_("Ingress class set"), "warning",
       N_("Set spec.ingressClassName. The default IngressClass is applied only when an Ingress is created."))
def no_class(ctx):
    if _class_name(ctx):
        return None
    classes = ctx.list("ingressclasses")
    if any(((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS) == "true" for c in classes):
        return None
    return Finding(N_("Ingress %(ingress)s does not specify an Ingress class."),
                   {"ingress": f"{ctx.namespace}/{ctx.name}"},
                   [Evidence("spec.ingressClassName", None),
                    Evidence("metadata.annotations[kubernetes.io/ingress.class]", None)])


@check("ingresses", "ING-CLASS-MISSING", N_("Ingress class exists"), "critical",
       N_("Install the Ingress controller or fix the class name."))
def class_missing(ctx):
    name = _class_name(ctx)
    if not name or name in BUILTIN_CLASSES:
        return None
    if ctx.get("ingressclasses", name) is None:
        return Finding(N_("Ingress uses the ingress class %(class)s which does not exist."), {"class": name},
                       [Evidence("spec.ingressClassName", name)])


@check("ingresses", "ING-BACKEND-SVC-MISSING", N_("Backend services"), "critical",
       N_("Create the Service or fix the name; it must be in the Ingress's namespace."))
def backend_missing(ctx):
    found, seen = [], set()
    for field, name, _port in _backends(ctx):
        if name not in seen and ctx.get("services", name, ctx.namespace) is None:
            seen.add(name)
            found.append(Finding(N_("Ingress uses the service %(service)s which does not exist."),
                                 {"service": f"{ctx.namespace}/{name}"}, [Evidence(field + ".name", name)]))
    return found


@check("ingresses", "ING-DEFAULT-BACKEND", N_("Default backend"), "critical", N_("Fix or remove the default backend."))
def default_backend(ctx):
    service = ((ctx.spec.get("defaultBackend") or {}).get("service")) or {}
    if service.get("name") and ctx.get("services", service["name"], ctx.namespace) is None:
        return Finding(N_("Default backend service %(service)s does not exist"), {"service": service["name"]},
                       [Evidence("spec.defaultBackend.service", service)])


@check("ingresses", "ING-BACKEND-PORT", N_("Backend ports"), "critical",
       N_("Use the Service's port (number or name), not the targetPort."))
def backend_port(ctx):
    found = []
    for field, name, port in _backends(ctx):
        service = ctx.get("services", name, ctx.namespace)
        if service is None or not port:
            continue
        ports = (service.get("spec") or {}).get("ports") or []
        wanted = port.get("number") or port.get("name")
        if not any(p.get("port") == wanted or (p.get("name") and p.get("name") == wanted) for p in ports):
            found.append(Finding(N_("Service %(service)s has no port %(port)s"), {"service": name, "port": wanted},
                                 [Evidence(field + ".port", port), Evidence(f"Service {name} spec.ports", ports)]))
    return found


@check("ingresses", "ING-BACKEND-NO-ENDPOINTS", N_("Backend endpoints"), "critical",
       N_("See the Service's diagnosis: the controller answers 503 while a backend has no ready endpoints."))
def backend_no_endpoints(ctx):
    found, seen = [], set()
    for field, name, _port in _backends(ctx):
        if name in seen or ctx.get("services", name, ctx.namespace) is None:
            continue
        seen.add(name)
        slices = ctx.list("endpointslices", ctx.namespace, label_selector=f"kubernetes.io/service-name={name}")
        if slices:
            ready = [e for s in slices for e in s.get("endpoints") or []
                     if (e.get("conditions") or {}).get("ready", True) is not False]
            raw = [s.get("endpoints") or [] for s in slices]
        else:
            ep = ctx.get("endpoints", name, ctx.namespace) or {}
            ready = [a for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
            raw = ep.get("subsets") or []
        if not ready:
            found.append(Finding(N_("Backend %(service)s has no ready endpoints (the controller answers 503)"),
                                 {"service": name}, [Evidence(f"Endpoints of {name}", raw)]))
    return found


@check("ingresses", "ING-TLS-SECRET-MISSING", N_("TLS secrets"), "critical",
       N_("Create the TLS Secret (or the cert-manager Certificate) in this namespace."))
def tls_missing(ctx):
    found = []
    for i, tls in enumerate(ctx.spec.get("tls") or []):
        name = tls.get("secretName")
        if name and ctx.get("secrets", name, ctx.namespace) is None:
            found.append(Finding(N_("Ingress uses the secret %(secret)s as a TLS certificate which does not exist."),
                                 {"secret": f"{ctx.namespace}/{name}"}, [Evidence(f"spec.tls[{i}].secretName", name)]))
    return found


def _certificate(pem: bytes):
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


@check("ingresses", "ING-TLS-INVALID", N_("TLS certificates"), "warning",
       N_("Renew or reissue the certificate; fix the hosts it must cover."))
def tls_invalid(ctx):
    from cryptography import x509

    found = []
    for i, tls in enumerate(ctx.spec.get("tls") or []):
        name = tls.get("secretName")
        secret = ctx.get("secrets", name, ctx.namespace) if name else None
        if secret is None:
            continue
        data = secret.get("data") or {}
        # Evidence names the fields only: secret data never goes into a report.
        if secret.get("type") != "kubernetes.io/tls" or not data.get("tls.crt") or not data.get("tls.key"):
            found.append(Finding(N_("TLS secret %(secret)s is not a kubernetes.io/tls secret with tls.crt and tls.key"),
                                 {"secret": name}, [Evidence(f"Secret {name} type", secret.get("type", "")),
                                                    Evidence(f"Secret {name} data keys", sorted(data))]))
            continue
        try:
            cert = _certificate(base64.b64decode(data["tls.crt"]))
        except ValueError:
            found.append(Finding(N_("TLS secret %(secret)s: tls.crt is not a PEM certificate"), {"secret": name},
                                 [Evidence(f"Secret {name} data keys", sorted(data))]))
            continue
        expires = cert.not_valid_after_utc
        if expires - ctx.now < timedelta(days=EXPIRY_DAYS):
            found.append(Finding(N_("TLS secret %(secret)s: certificate expires on %(date)s"),
                                 {"secret": name, "date": expires.date().isoformat()},
                                 [Evidence(f"Secret {name} certificate notAfter", expires.isoformat())]))
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName)
        except x509.ExtensionNotFound:
            names = []
        for host in tls.get("hosts") or []:
            if not any(n == host or (n.startswith("*.") and host.split(".", 1)[-1] == n[2:]) for n in names):
                found.append(Finding(N_("TLS secret %(secret)s: certificate does not cover host %(host)s"),
                                     {"secret": name, "host": host},
                                     [Evidence(f"spec.tls[{i}].hosts", tls.get("hosts")),
                                      Evidence(f"Secret {name} certificate DNS names", names)]))
    return found


@check("ingresses", "ING-HOST-CONFLICT", N_("Host and path conflicts"), "warning",
       N_("Merge or remove the duplicate: controllers behave differently when two Ingresses claim a path."))
def host_conflict(ctx):
    mine = {(r.get("host", ""), p.get("path", "/")) for r in ctx.spec.get("rules") or []
            for p in ((r.get("http") or {}).get("paths")) or []}
    found = []
    for other in ctx.list("ingresses"):
        meta = other.get("metadata") or {}
        if (meta.get("namespace"), meta.get("name")) == (ctx.namespace, ctx.name):
            continue
        spec = other.get("spec") or {}
        if (spec.get("ingressClassName") or "") != (_class_name(ctx) or ""):
            continue
        for rule in spec.get("rules") or []:
            for path in ((rule.get("http") or {}).get("paths")) or []:
                key = (rule.get("host", ""), path.get("path", "/"))
                if key in mine:
                    found.append(Finding(N_("Host %(host)s path %(path)s also defined in Ingress %(other)s"),
                                         {"host": key[0] or "*", "path": key[1],
                                          "other": f"{meta.get('namespace')}/{meta.get('name')}"},
                                         [Evidence(f"Ingress {meta.get('namespace')}/{meta.get('name')} rules",
                                                   spec.get("rules"))]))
    return found


@check("ingresses", "ING-NOT-ADMITTED", N_("Address assigned"), "warning",
       N_("Check that the controller is running and watches this class or namespace; read the controller's logs."))
def not_admitted(ctx):
    ingress = ((ctx.status.get("loadBalancer") or {}).get("ingress")) or []
    created = parse_time(ctx.meta.get("creationTimestamp"))
    if not ingress and created and ctx.now - created > timedelta(minutes=NOT_ADMITTED_MINUTES):
        return Finding(N_("No address assigned; the controller has not admitted this Ingress"), {},
                       [Evidence("status.loadBalancer", ctx.status.get("loadBalancer") or {})])


@check("ingresses", "ING-WARNING-EVENTS", N_("Warning events"), "warning",
       N_("Read the events together with the other findings; they usually name the cause."))
def warning_events(ctx):
    return [Finding(N_("%(count)s× %(reason)s: %(message)s"),
                    {"count": e.get("count") or 1, "reason": e.get("reason", ""), "message": e.get("message", "")},
                    [event_evidence(e)]) for e in ctx.warning_events()]


