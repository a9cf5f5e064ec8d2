"""Backup collection (BACKUP.md §1): discovery, filters, paged lists, one tarball.

Layout: `resources/<resource>[.<group>]/namespaces/<ns>/<name>.yaml` or
`.../cluster/<name>.yaml`, and `manifest.json` (source cluster and version, filters, per
resource its GVR and count, a SHA-256 per file, start and end). Objects are kept as the API
returned them: all sanitising happens at restore, so each restore decides."""
import fnmatch
import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass, field

import yaml
from django.utils.translation import gettext as _

from .kube import Client, Resource

FORMAT_VERSION = "1"
EXCLUDE_LABEL = "velero.io/exclude-from-backup"
# Collected once, from the group that is not deprecated (Velero's "cohabitating" resources).
_COHABITATING = {("extensions", "deployments"), ("extensions", "daemonsets"), ("extensions", "replicasets"),
                 ("extensions", "networkpolicies"), ("extensions", "ingresses"), ("events.k8s.io", "events")}
# Intermediates of volume snapshots, never backed up; metrics are not objects.
_NEVER = {"volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io"}
_CORE_FIRST = ["pods", "persistentvolumeclaims", "persistentvolumes"]

try:
    _Dumper = yaml.CSafeDumper
    _Loader = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _Dumper, _Loader = yaml.SafeDumper, yaml.SafeLoader


def dump(obj: dict) -> bytes:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=False, allow_unicode=True).encode()


def load(data: bytes) -> dict:
    return yaml.load(data, Loader=_Loader)


def matches_kind(resource: Resource, specs) -> bool:
    """A kind as the user writes it: `Deployment`, `deployments` or `deployments.apps`."""
    names = {resource.kind.lower(), resource.name, resource.group_resource}
    return any(spec.strip().lower() in names for spec in specs if spec.strip())


def namespace_chosen(namespace: str, patterns) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(namespace, p) for p in patterns)


def backed_up_resources(resources: list[Resource], included=(), excluded=()) -> list[Resource]:
    chosen = []
    for r in resources:
        if "list" not in r.verbs or "get" not in r.verbs:
            continue
        if (r.group, r.name) in _COHABITATING or r.group_resource in _NEVER or r.group.endswith("metrics.k8s.io"):
            continue
        if included and not matches_kind(r, included):
            continue
        if excluded and matches_kind(r, excluded):
            continue
        chosen.append(r)
    core = [r for r in chosen if r.group == ""]
    core.sort(key=lambda r: _CORE_FIRST.index(r.name) if r.name in _CORE_FIRST else len(_CORE_FIRST))
    return core + [r for r in chosen if r.group != ""]


@dataclass
class Collected:
    path: str
    size: int
    checksum: str
    manifest: dict
    items: int = 0
    warnings: list = field(default_factory=list)


def _keep(obj: dict) -> bool:
    meta = obj.get("metadata") or {}
    return not meta.get("deletionTimestamp") and (meta.get("labels") or {}).get(EXCLUDE_LABEL) != "true"


def collect(client: Client, cluster, filters: dict, out, progress=lambda done, total: None) -> Collected:
    """Write the backup tarball of `cluster` (per `filters`) to the binary file `out`."""
    started = time.time()
    namespaces = [n for n in filters.get("namespaces") or [] if n]
    selector = filters.get("label_selector", "")
    resources = backed_up_resources(client.discover(), filters.get("included_kinds") or (),
                                    filters.get("excluded_kinds") or ())
    version = client.version()
    namespace_resource = next((r for r in resources if r.group == "" and r.name == "namespaces"), None)
    # Namespaces present, minus those labelled to stay out of backups.
    all_namespaces = [ns for ns in client.list_all(Resource("", "v1", "namespaces", "Namespace", False))
                      if _keep(ns)]
    chosen = [ns["metadata"]["name"] for ns in all_namespaces if namespace_chosen(ns["metadata"]["name"], namespaces)]
    checksums, counts = {}, {}
    items = 0
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=6) as tar:
        def add(name: str, data: bytes):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), int(started), 0o644
            tar.addfile(info, io.BytesIO(data))
            checksums[name] = hashlib.sha256(data).hexdigest()

        for index, resource in enumerate(resources):
            folder = f"resources/{resource.group_resource}"
            count = 0
            if resource is namespace_resource:
                # The chosen namespaces themselves (their labels and annotations come back with them).
                objects = (ns for ns in all_namespaces if ns["metadata"]["name"] in chosen)
            elif not resource.namespaced:
                # Cluster-scoped objects only when every namespace is backed up (Velero's "auto").
                objects = client.list_all(resource, label_selector=selector) if not namespaces else iter(())
            elif not namespaces:
                objects = client.list_all(resource, label_selector=selector)
            else:
                objects = (obj for ns in chosen for obj in client.list_all(resource, ns, selector))
            for obj in objects:
                if not _keep(obj) or (resource.namespaced and obj["metadata"].get("namespace") not in chosen):
                    continue
                meta = obj["metadata"]
                where = f"namespaces/{meta['namespace']}" if resource.namespaced else "cluster"
                add(f"{folder}/{where}/{meta['name']}.yaml", dump(obj))
                count += 1
            if count:
                counts[resource.group_resource] = {"group": resource.group, "version": resource.version,
                                                   "resource": resource.name, "kind": resource.kind,
                                                   "namespaced": resource.namespaced, "count": count}
            items += count
            progress(index + 1, len(resources))
        manifest = {
            "format": FORMAT_VERSION,
            "source": {"cluster_id": cluster.pk, "cluster": cluster.name, "kubernetes_version": version},
            "filters": filters,
            "volume_data": "not included: manifests only" if filters.get("include_pv_data") else "not requested",
            "namespaces": chosen,
            "resources": counts,
            "api_versions": sorted({v["group"] + "/" + v["version"] if v["group"] else v["version"]
                                    for v in counts.values()}),
            "items": items,
            "files": checksums,
            "started": started,
            "finished": time.time(),
        }
        add("manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())
    return Collected(path=getattr(out, "name", ""), size=0, checksum="", manifest=manifest, items=items)


def sha256_of(fileobj) -> tuple[str, int]:
    fileobj.seek(0)
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: fileobj.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    fileobj.seek(0)
    return digest.hexdigest(), size


def read_tarball(fileobj) -> tuple[dict, list[tuple[str, dict]]]:
    """(manifest, [(path, object)]) of a backup tarball, every file's SHA-256 checked against
    the manifest; a ValueError says what is wrong."""
    try:
        with tarfile.open(fileobj=fileobj, mode="r:gz") as tar:
            files = {}
            for member in tar:
                if member.isfile():
                    files[member.name] = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ValueError(_("it is not a complete gzip-compressed tar archive (%(error)s)") % {"error": error}) \
            from error
    try:
        manifest = json.loads(files.pop("manifest.json"))
    except KeyError:
        raise ValueError(_("the archive has no manifest.json")) from None
    except ValueError as error:
        raise ValueError(_("its manifest.json cannot be read")) from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION or "resources" not in manifest:
        raise ValueError(_("its manifest is not one of a CCE One backup"))
    expected = manifest.get("files", {})
    for name, data in files.items():
        if expected.get(name) != hashlib.sha256(data).hexdigest():
            raise ValueError(_("%(file)s does not match its checksum in the manifest") % {"file": name})
    missing = set(expected) - set(files) - {"manifest.json"}
    if missing:
        raise ValueError(_("%(count)d files of the manifest are missing, e.g. %(file)s")
                         % {"count": len(missing), "file": sorted(missing)[0]})
    return manifest, [(name, load(data)) for name, data in sorted(files.items())]
