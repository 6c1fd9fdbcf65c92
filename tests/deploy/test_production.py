"""What production needs beyond valid manifests: backups, Kafka security, the Gateway, failure
domains, monitoring, tracing, release safety and secrets (each check also fed a broken copy)."""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from deploy_testkit import (
    CONSOLE_POD,
    DEPLOYMENT_DOC,
    DOCKERFILE,
    K8S,
    MIGRATES_ITSELF,
    OVERLAYS,
    PREFIX,
    REPO,
    SERVICES,
    WORKLOADS,
    Resource,
    by_name,
    consumers_from_events_doc,
    crd_results,
    database_problems,
    env_of,
    of_kind,
    owners_from_events_doc,
    policies_for,
    render,
    selects,
    service_deployments,
    topics_from_events_doc,
    web_deployments,
    workload_deployments,
    workload_problems,
)

per_overlay = pytest.mark.parametrize("overlay", OVERLAYS)
RUNBOOKS = REPO / "docs" / "runbooks.md"
OPERATIONS_PATHS = ("/metrics", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")
PUBLIC_PATHS = {
    "/vendor-webhook": "backoffice-notifications",
    "/vendor-links/x": "backoffice-notifications",
    "/vendor-secrets/x": "backoffice-notifications",
    "/contracts/0b5f3a3e-0000-4000-8000-000000000001/executed.pdf": "backoffice-contracts",
}


# ----------------------------------------------------------------------------- 1 backups


@per_overlay
def test_postgres_archives_wal_and_takes_nightly_base_backups_to_an_object_store(overlay: str) -> None:
    resources = render(overlay)
    cluster = by_name(resources, "Cluster", "backoffice-pg")
    archivers = [p for p in cluster["spec"]["plugins"] if p.get("isWALArchiver")]
    assert [p["name"] for p in archivers] == ["barman-cloud.cloudnative-pg.io"]
    store = by_name(resources, "ObjectStore", archivers[0]["parameters"]["barmanObjectName"])
    assert store["spec"]["configuration"]["destinationPath"].startswith("s3://")
    assert re.fullmatch(r"\d+d", store["spec"]["retentionPolicy"])
    backup = by_name(resources, "ScheduledBackup", "backoffice-pg-nightly")
    assert backup["spec"]["cluster"]["name"] == "backoffice-pg"
    assert backup["spec"]["method"] == "plugin"
    assert backup["spec"]["pluginConfiguration"]["name"] == "barman-cloud.cloudnative-pg.io"
    assert len(backup["spec"]["schedule"].split()) == 6, "CloudNativePG cron has a seconds field"


def test_the_restore_drill_manifest_recovers_from_the_same_object_store() -> None:
    drill = [d for d in yaml.safe_load_all((K8S / "drills" / "restore-cluster.yaml").read_text("utf-8")) if d]
    cluster = next(d for d in drill if d["kind"] == "Cluster")
    results = crd_results([cluster])
    assert results[0]["validated"], results
    assert results[0]["errors"] == [], results
    source = cluster["spec"]["externalClusters"][0]["plugin"]["parameters"]
    assert (
        source["barmanObjectName"]
        == by_name(render("prod"), "ObjectStore", "backoffice-pg-backups")["metadata"]["name"]
    )
    assert source["serverName"] == "backoffice-pg"
    assert "plugins" not in cluster["spec"], "a drill must never archive into the production backup path"
    doc = DEPLOYMENT_DOC.read_text("utf-8")
    for step in ("### Restore drill", "k8s/drills/restore-cluster.yaml", "recoveryTarget", "--reset-offsets"):
        assert step in doc, step


# ----------------------------------------------------------------------------- 4 Kafka security


def expected_acls() -> dict[str, set[tuple[str, str, str]]]:
    """(resource type, name, operation) per KafkaUser, from docs/events.md."""
    owners = owners_from_events_doc()
    assert set(owners) == set(topics_from_events_doc()), "every topic heading names its service"
    acls: dict[str, set[tuple[str, str, str]]] = {}
    for svc, consumed in consumers_from_events_doc().items():
        granted = {("group", f"backoffice-{svc}", op) for op in ("Read", "Describe")}
        for topic, owner in owners.items():
            if owner == svc:
                granted |= {
                    ("topic", topic, "Write"),
                    ("topic", topic, "Describe"),
                    ("topic", f"{topic}.dlq", "Describe"),
                }
        for topic in consumed:
            granted |= {("topic", topic, "Read"), ("topic", topic, "Describe")}
            granted |= {("topic", f"{topic}.dlq", "Write"), ("topic", f"{topic}.dlq", "Describe")}
        acls[f"backoffice-{svc}-kafka"] = granted
    return acls


def acl_problems(resources: list[Resource]) -> list[str]:
    problems = []
    users = {u["metadata"]["name"]: u for u in of_kind(resources, "KafkaUser")}
    for name, expected in expected_acls().items():
        if name not in users:
            problems.append(f"no KafkaUser {name}")
            continue
        spec = users[name]["spec"]
        granted = set()
        for acl in spec["authorization"]["acls"]:
            if acl["resource"].get("patternType", "literal") != "literal" or acl.get("type", "allow") != "allow":
                problems.append(f"{name}: only literal allow ACLs, got {acl}")
            granted |= {(acl["resource"]["type"], acl["resource"].get("name"), op) for op in acl["operations"]}
        if extra := granted - expected:
            problems.append(f"{name}: more than it needs: {sorted(extra, key=str)}")
        if missing := expected - granted:
            problems.append(f"{name}: lacks {sorted(missing, key=str)}")
        if spec["authentication"]["type"] not in ("scram-sha-512", "tls"):
            problems.append(f"{name}: authentication {spec['authentication']['type']}")
    return problems


@per_overlay
def test_kafka_is_encrypted_authenticated_and_authorised_per_service(overlay: str) -> None:
    resources = list(render(overlay))
    kafka = by_name(resources, "Kafka", "backoffice")["spec"]["kafka"]
    assert kafka["authorization"]["type"] == "simple"
    for listener in kafka["listeners"]:
        assert listener["tls"] is True, f"listener {listener['name']} is plaintext"
        assert listener["authentication"]["type"] in ("scram-sha-512", "tls"), listener["name"]
    assert acl_problems(resources) == []
    deployments = service_deployments(resources)
    for svc in SERVICES:
        p = PREFIX[svc]
        data = by_name(resources, "ConfigMap", f"backoffice-{svc}-config")["data"]
        assert data[f"{p}KAFKA_BOOTSTRAP_SERVERS"] == "backoffice-kafka-bootstrap:9093"
        assert data[f"{p}KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert data[f"{p}KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert data[f"{p}KAFKA_SASL_USERNAME"] == f"backoffice-{svc}-kafka"
        for workload in (deployments[svc], by_name(resources, "Job", f"backoffice-{svc}-migrate")):
            env = env_of(workload["spec"]["template"]["spec"]["containers"][0])
            ref = env[f"{p}KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert (ref["name"], ref["key"]) == (f"backoffice-{svc}-kafka", "password")
        pod = deployments[svc]["spec"]["template"]["spec"]
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        ca = next(v for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "backoffice-cluster-ca-cert")
        assert data[f"{p}KAFKA_SSL_CAFILE"] == f"{mounts[ca['name']]}/ca.crt"


def test_the_acl_check_catches_a_user_with_too_much_or_too_little() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    assert acl_problems(resources) == []
    approvals = by_name(resources, "KafkaUser", "backoffice-approvals-kafka")
    approvals["spec"]["authorization"]["acls"][0]["resource"]["name"] = "backoffice.contracts"
    contracts = by_name(resources, "KafkaUser", "backoffice-contracts-kafka")
    contracts["spec"]["authorization"]["acls"][0]["resource"]["patternType"] = "prefix"
    resources.remove(by_name(resources, "KafkaUser", "backoffice-requests-kafka"))
    problems = "\n".join(acl_problems(resources))
    assert "no KafkaUser backoffice-requests-kafka" in problems
    assert "backoffice-approvals-kafka: more than it needs: [('topic', 'backoffice.contracts', 'Describe')" in problems
    assert "backoffice-approvals-kafka: lacks [('topic', 'backoffice.approvals', 'Describe')" in problems
    assert "backoffice-contracts-kafka: only literal allow ACLs" in problems


# ----------------------------------------------------------------------------- 3 Gateway


def _matches(match: dict[str, Any], path: str, method: str, query: dict[str, str]) -> bool:
    rule = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = rule["type"], rule["value"]
    if kind == "Exact" and path != value:
        return False
    if kind == "PathPrefix" and not (path == value.rstrip("/") or path.startswith(value.rstrip("/") + "/")):
        return False
    if kind == "RegularExpression" and not re.fullmatch(value, path):
        return False
    if match.get("method", method) != method:
        return False
    for param in match.get("queryParams") or []:
        if param["name"] not in query or (
            param.get("type", "Exact") == "Exact" and query[param["name"]] != param["value"]
        ):
            return False
    return True


def routed(resources: list[Resource], gateway: str, path: str, method: str = "GET", query: Any = None) -> set[str]:
    """Backends a request on a Gateway reaches (any hostname of the route)."""
    backends: set[str] = set()
    for route in of_kind(resources, "HTTPRoute"):
        if gateway not in {p["name"] for p in route["spec"]["parentRefs"]}:
            continue
        for rule in route["spec"]["rules"]:
            if any(_matches(m, path, method, query or {}) for m in rule.get("matches") or [{}]):
                backends |= {b["name"] for b in rule.get("backendRefs") or []}
    return backends


def gateway_problems(resources: list[Resource]) -> list[str]:
    problems = []
    certificates = {c["spec"]["secretName"]: c for c in of_kind(resources, "Certificate")}
    for gateway in of_kind(resources, "Gateway"):
        for listener in gateway["spec"]["listeners"]:
            if listener["protocol"] != "HTTPS":
                problems.append(f"{gateway['metadata']['name']}: listener {listener['name']} is not HTTPS")
                continue
            for ref in listener["tls"]["certificateRefs"]:
                cert = certificates.get(ref["name"])
                if cert is None or listener["hostname"] not in cert["spec"]["dnsNames"]:
                    problems.append(f"{gateway['metadata']['name']}: no cert-manager Certificate for {ref['name']}")
    for gateway in ("backoffice-public", "backoffice-internal", "backoffice-web"):
        for path in OPERATIONS_PATHS:
            if reached := routed(resources, gateway, path):
                problems.append(f"{gateway}: {path} reaches {sorted(reached)}")
    for path, backend in PUBLIC_PATHS.items():
        method = "POST" if path == "/vendor-webhook" else "GET"
        query = {"token": "t"} if path.endswith(".pdf") else {}
        if routed(resources, "backoffice-public", path, method, query) != {backend}:
            problems.append(f"backoffice-public: {method} {path} does not reach {backend}")
    for method, path, query in (
        ("GET", "/requests", {}),
        ("POST", "/requests", {}),
        ("GET", "/requests/x/chain", {}),
        ("GET", "/tasks", {}),
        ("POST", "/policies", {}),
        ("POST", "/directory/approvers/import", {}),
        ("POST", "/vendors", {}),
        ("POST", "/vendors/v/secrets", {}),
        ("GET", "/deliveries", {}),
        ("POST", "/contract-templates", {}),
        ("GET", "/contracts/0b5f3a3e-0000-4000-8000-000000000001/executed.pdf", {}),
    ):
        if reached := routed(resources, "backoffice-public", path, method, query):
            problems.append(f"backoffice-public: {method} {path} is public ({sorted(reached)})")
    seen: dict[tuple[str, str, str], str] = {}
    for route in of_kind(resources, "HTTPRoute"):
        parent = route["spec"]["parentRefs"][0]["name"]
        for host in route["spec"]["hostnames"]:
            for rule in route["spec"]["rules"]:
                for match in rule["matches"]:
                    key = (parent, host, f"{match.get('method', '*')} {match['path']['type']} {match['path']['value']}")
                    if key in seen:
                        problems.append(f"{key} is routed by {seen[key]} and {route['metadata']['name']}")
                    seen[key] = route["metadata"]["name"]
    limited = {
        ref["name"]: policy["spec"]
        for policy in of_kind(resources, "BackendTrafficPolicy")
        for ref in policy["spec"]["targetRefs"]
        if ref["kind"] == "HTTPRoute"
    }
    for route in of_kind(resources, "HTTPRoute"):
        name = route["metadata"]["name"]
        spec = limited.get(name) or {}
        if not (spec.get("requestBuffer") or {}).get("limit"):
            problems.append(f"{name}: no request body limit")
        facing_people = route["spec"]["parentRefs"][0]["name"] in ("backoffice-public", "backoffice-web")
        if facing_people and not (spec.get("rateLimit") or {}).get("local"):
            problems.append(f"{name}: public without a rate limit")
    return problems


@per_overlay
def test_the_gateways_expose_only_vendor_paths_publicly_with_tls_limits_and_no_collisions(overlay: str) -> None:
    problems = gateway_problems(list(render(overlay)))
    assert problems == [], "\n".join(problems)


def _bytes(quantity: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if quantity.endswith(suffix):
            return int(quantity.removesuffix(suffix)) * factor
    return int(quantity)


@per_overlay
def test_only_the_budgets_rate_upload_gets_a_body_limit_of_20_mb(overlay: str) -> None:
    resources = list(render(overlay))
    limits = {
        ref["name"]: _bytes(policy["spec"]["requestBuffer"]["limit"])
        for policy in of_kind(resources, "BackendTrafficPolicy")
        for ref in policy["spec"]["targetRefs"]
        if ref["kind"] == "HTTPRoute" and "requestBuffer" in policy["spec"]
    }
    assert routed(resources, "backoffice-internal", "/admin/rates", "PUT") == {"backoffice-budgets"}
    assert routed(resources, "backoffice-internal", "/admin/rates", "GET") == set()
    assert routed(resources, "backoffice-internal", "/admin/dlq/redrive", "POST") == set()
    assert limits["backoffice-internal-budgets-rates"] >= 20_000_000  # BUDGETS_RATES_MAX_BODY_BYTES
    assert limits["backoffice-internal-budgets"] == 2_000_000
    for path in ("/cost-centres", "/budgets/b/ledger.csv", "/transfers", "/rates", "/requests/r/checks"):
        assert routed(resources, "backoffice-internal", path) >= {"backoffice-budgets"}, path


def test_the_gateway_check_catches_exposed_and_colliding_routes() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    links = by_name(resources, "HTTPRoute", "backoffice-public-vendor-links")
    links["spec"]["rules"][0]["matches"].append({"path": {"type": "PathPrefix", "value": "/"}})
    pdfs = by_name(resources, "HTTPRoute", "backoffice-public-contract-pdfs")
    del pdfs["spec"]["rules"][0]["matches"][0]["queryParams"]
    approvals = by_name(resources, "HTTPRoute", "backoffice-internal-approvals")
    approvals["spec"]["hostnames"] = ["requests.backoffice.internal.example.com"]
    resources.remove(by_name(resources, "BackendTrafficPolicy", "backoffice-public-vendor-webhook"))
    problems = "\n".join(gateway_problems(resources))
    assert "backoffice-public: /metrics reaches ['backoffice-notifications']" in problems
    assert "backoffice-public: POST /vendors is public" in problems
    assert "backoffice-public: GET /contracts/0b5f3a3e-0000-4000-8000-000000000001/executed.pdf is public" in problems
    assert re.search(
        r"'\* PathPrefix /requests/'\) is routed by backoffice-internal-(requests|approvals) and", problems
    )
    assert "backoffice-public-vendor-webhook: public without a rate limit" in problems
    assert "backoffice-public-vendor-webhook: no request body limit" in problems


@per_overlay
def test_the_services_accept_traffic_from_the_gateway_proxies_only(overlay: str) -> None:
    for svc in SERVICES:
        policy = by_name(render(overlay), "NetworkPolicy", f"backoffice-{svc}")
        peers = [peer for rule in policy["spec"]["ingress"] for peer in rule["from"]]
        namespaces = {
            peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for peer in peers
            if "namespaceSelector" in peer
        }
        assert namespaces == {"envoy-gateway-system", "monitoring"}
        # Besides those, only the web console's pods (exactly them), which call the APIs for people.
        others = [peer for peer in peers if "namespaceSelector" not in peer]
        assert others == [{"podSelector": {"matchLabels": CONSOLE_POD}}], others


# ----------------------------------------------------------------------------- 5 failure domains

ZONE = "topology.kubernetes.io/zone"


@per_overlay
def test_kafka_postgres_and_the_services_spread_over_zones(overlay: str) -> None:
    resources = render(overlay)
    assert by_name(resources, "Kafka", "backoffice")["spec"]["kafka"]["rack"]["topologyKey"] == ZONE
    for pool in of_kind(resources, "KafkaNodePool"):
        spreads = pool["spec"]["template"]["pod"]["topologySpreadConstraints"]
        assert ZONE in {s["topologyKey"] for s in spreads}, pool["metadata"]["name"]
    for svc, deployment in service_deployments(resources).items():
        spreads = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        zone = [s for s in spreads if s["topologyKey"] == ZONE]
        assert zone, svc
        assert selects(zone[0]["labelSelector"], labels), svc
    cluster = by_name(resources, "Cluster", "backoffice-pg")["spec"]
    assert cluster["affinity"]["topologyKey"] == ZONE
    parameters = cluster["postgresql"]["parameters"]
    assert (
        int(parameters["tcp_keepalives_idle"])
        + int(parameters["tcp_keepalives_interval"]) * int(parameters["tcp_keepalives_count"])
        <= 60
    ), "a dead client's session (and its advisory lock) must go within a minute"
    if overlay == "prod":
        assert cluster["instances"] >= 3
        synchronous = cluster["postgresql"]["synchronous"]
        assert synchronous["number"] >= 1
        assert synchronous.get("dataDurability", "required") == "required"


# ----------------------------------------------------------------------------- 6 monitoring


def alert_problems(resources: list[Resource]) -> list[str]:
    problems = []
    anchors = set(re.findall(r"^### ([A-Za-z]+)$", RUNBOOKS.read_text("utf-8"), re.MULTILINE))
    rules = [r for rule in of_kind(resources, "PrometheusRule") for g in rule["spec"]["groups"] for r in g["rules"]]
    alerts = {r["alert"]: r for r in rules if "alert" in r}
    required = {
        "outbox backlog age": "cnpg_backoffice_outbox_oldest_unsent_age_seconds",
        "consumer lag": "kafka_consumergroup_lag",
        "DLQ growth": "backoffice_events_dead_lettered_total",
        "no relay leader": "backoffice_outbox_relay_leader",
        "replication lag": "cnpg_pg_replication_lag",
        "backup age": "barman_cloud_cloudnative_pg_io_last_available_backup_timestamp",
        "a scraped workload down (every PodMonitor's pods)": "up{",
    }
    for what, metric in required.items():
        if not any(metric in r["expr"] for r in alerts.values()):
            problems.append(f"no alert on {what} ({metric})")
    for name, rule in alerts.items():
        url = (rule.get("annotations") or {}).get("runbook_url", "")
        anchor = url.partition("docs/runbooks.md#")[2]
        if anchor != name.lower() or name not in anchors:
            problems.append(f"{name}: runbook_url {url!r} does not point at '### {name}' in docs/runbooks.md")
    return problems


@per_overlay
def test_prometheus_scrapes_everything_and_every_alert_has_a_runbook(overlay: str) -> None:
    resources = list(render(overlay))
    assert alert_problems(resources) == []
    monitors = of_kind(resources, "PodMonitor")
    for svc, deployment in service_deployments(resources).items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        ports = {p["name"] for p in deployment["spec"]["template"]["spec"]["containers"][0]["ports"]}
        assert any(
            selects(m["spec"]["selector"], labels) and {e["port"] for e in m["spec"]["podMetricsEndpoints"]} <= ports
            for m in monitors
        ), svc
    assert any(selects(m["spec"]["selector"], {"cnpg.io/cluster": "backoffice-pg"}) for m in monitors)
    assert any(selects(m["spec"]["selector"], {"strimzi.io/cluster": "backoffice"}) for m in monitors)
    kafka = by_name(resources, "Kafka", "backoffice")["spec"]
    assert kafka["kafka"]["metricsConfig"]["type"] == "strimziMetricsReporter"
    assert kafka["kafkaExporter"]["groupRegex"] == "backoffice-.*"
    queries = yaml.safe_load(by_name(resources, "ConfigMap", "backoffice-pg-monitoring")["data"]["queries"])
    assert set(queries["backoffice_outbox"]["target_databases"]) == set(SERVICES)
    cluster = by_name(resources, "Cluster", "backoffice-pg")["spec"]
    assert cluster["monitoring"]["customQueriesConfigMap"][0]["name"] == "backoffice-pg-monitoring"
    for deployment in service_deployments(resources).values():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
        assert not any(key.startswith("prometheus.io/") for key in annotations), "annotations are ignored: PodMonitor"


def test_the_alert_check_catches_a_missing_alert_and_a_dead_runbook_link() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    rules = by_name(resources, "PrometheusRule", "backoffice")["spec"]["groups"]
    rules[0]["rules"] = [r for r in rules[0]["rules"] if r["alert"] != "ConsumerLagHigh"]
    rules[0]["rules"][0]["annotations"]["runbook_url"] = "https://wiki/somewhere"
    problems = "\n".join(alert_problems(resources))
    assert "no alert on consumer lag" in problems
    assert "OutboxBacklogOld: runbook_url 'https://wiki/somewhere'" in problems


# ----------------------------------------------------------------------------- 7 tracing

OTEL_CONFIG = "backoffice-otel"
OTLP_HTTP_PORT = 4318


def tracing_problems(resources: list[Resource]) -> list[str]:
    """Every service reads the OTEL_* ConfigMap, whose endpoint is OTLP/HTTP, and may reach the collector."""
    problems: list[str] = []
    config = next((c for c in of_kind(resources, "ConfigMap") if c["metadata"]["name"] == OTEL_CONFIG), None)
    if config is None:
        return [f"no ConfigMap {OTEL_CONFIG}"]
    data = config.get("data") or {}
    endpoint = urlsplit(data.get("OTEL_EXPORTER_OTLP_ENDPOINT", ""))
    if endpoint.scheme not in ("http", "https") or endpoint.port != OTLP_HTTP_PORT:
        problems.append(f"{OTEL_CONFIG}: OTEL_EXPORTER_OTLP_ENDPOINT is not OTLP/HTTP on port {OTLP_HTTP_PORT}")
    if data.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf") != "http/protobuf":
        problems.append(f"{OTEL_CONFIG}: the services export http/protobuf only")
    traced = {**service_deployments(resources), "console": web_deployments(resources)["console"]}
    for svc, deployment in traced.items():
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        sources = {(e.get("configMapRef") or {}).get("name") for e in container.get("envFrom") or []}
        if OTEL_CONFIG not in sources:
            problems.append(f"{svc}: does not read the ConfigMap {OTEL_CONFIG}")
        selected = policies_for(resources, deployment["spec"]["template"]["metadata"]["labels"])
        collector = [
            rule
            for policy in selected
            for rule in policy["spec"].get("egress") or []
            if OTLP_HTTP_PORT in {p.get("port") for p in rule.get("ports") or []}
            and any(
                (peer.get("podSelector") or {}).get("matchLabels", {}).get("app.kubernetes.io/name")
                == "opentelemetry-collector"
                for peer in rule.get("to") or []
            )
        ]
        if not collector:
            problems.append(f"{svc}: no egress to the OpenTelemetry Collector on {OTLP_HTTP_PORT}")
    return problems


@per_overlay
def test_every_service_sends_its_traces_to_the_collector(overlay: str) -> None:
    problems = tracing_problems(list(render(overlay)))
    assert problems == [], "\n".join(problems)


def test_the_tracing_check_catches_a_service_without_the_collector() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    container = service_deployments(resources)["contracts"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [e for e in container["envFrom"] if (e.get("configMapRef") or {}).get("name") != OTEL_CONFIG]
    by_name(resources, "ConfigMap", OTEL_CONFIG)["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4317"
    resources.remove(by_name(resources, "NetworkPolicy", "backoffice-allow-otel-collector"))
    problems = "\n".join(tracing_problems(resources))
    assert "contracts: does not read the ConfigMap backoffice-otel" in problems
    assert "not OTLP/HTTP on port 4318" in problems
    assert "requests: no egress to the OpenTelemetry Collector" in problems
    assert "console: no egress to the OpenTelemetry Collector" not in problems  # its own policy allows it


def test_the_tracing_check_catches_a_console_that_sends_no_traces() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    container = web_deployments(resources)["console"]["spec"]["template"]["spec"]["containers"][0]
    container["envFrom"] = [e for e in container["envFrom"] if (e.get("configMapRef") or {}).get("name") != OTEL_CONFIG]
    egress = by_name(resources, "NetworkPolicy", "backoffice-console")["spec"]["egress"]
    egress[:] = [rule for rule in egress if 4318 not in {p.get("port") for p in rule.get("ports") or []}]
    problems = "\n".join(tracing_problems(resources))
    assert "console: does not read the ConfigMap backoffice-otel" in problems
    assert "console: no egress to the OpenTelemetry Collector" in problems


# ----------------------------------------------------------------------------- 8 release safety


def scaling_problems(resources: list[Resource]) -> list[str]:
    problems = []
    deployments = service_deployments(resources)
    for svc, deployment in deployments.items():
        scaler = next(
            (
                s
                for s in of_kind(resources, "ScaledObject")
                if s["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
            ),
            None,
        )
        if scaler is None:
            problems.append(f"{svc}: no ScaledObject")
            continue
        if "replicas" in deployment["spec"]:
            problems.append(f"{svc}: spec.replicas on a Deployment the ScaledObject scales (reset on every apply)")
        triggers = {t["type"]: t for t in scaler["spec"]["triggers"]}
        if "cpu" not in triggers:
            problems.append(f"{svc}: does not scale on CPU")
        lag = triggers.get("prometheus", {}).get("metadata", {}).get("query", "")
        if f'consumergroup="backoffice-{svc}"' not in lag or "kafka_consumergroup_lag" not in lag:
            problems.append(f"{svc}: does not scale on its consumer group's lag")
    for hpa in of_kind(resources, "HorizontalPodAutoscaler"):
        problems.append(f"{hpa['metadata']['name']}: a HorizontalPodAutoscaler next to KEDA's")
    for pdb in of_kind(resources, "PodDisruptionBudget"):
        if pdb["spec"].get("unhealthyPodEvictionPolicy") != "AlwaysAllow":
            problems.append(f"{pdb['metadata']['name']}: unhealthy pods block node drains")
    return problems


@per_overlay
def test_keda_scales_on_cpu_and_lag_and_nothing_else_sets_the_replica_count(overlay: str) -> None:
    problems = scaling_problems(list(render(overlay)))
    assert problems == [], "\n".join(problems)


def test_the_scaling_check_catches_fixed_replicas_a_second_hpa_and_blocking_pdbs() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    service_deployments(resources)["approvals"]["spec"]["replicas"] = 3
    by_name(resources, "ScaledObject", "backoffice-contracts")["spec"]["triggers"].pop()
    del by_name(resources, "PodDisruptionBudget", "backoffice-requests")["spec"]["unhealthyPodEvictionPolicy"]
    resources.append({"kind": "HorizontalPodAutoscaler", "metadata": {"name": "extra"}, "spec": {}})
    problems = "\n".join(scaling_problems(resources))
    assert "approvals: spec.replicas" in problems
    assert "contracts: does not scale on its consumer group's lag" in problems
    assert "backoffice-requests: unhealthy pods block node drains" in problems
    assert "extra: a HorizontalPodAutoscaler next to KEDA's" in problems


@per_overlay
def test_migrations_are_ordered_before_the_new_pods(overlay: str) -> None:
    resources = render(overlay)

    def wave(resource: Resource) -> int:
        return int((resource["metadata"].get("annotations") or {}).get("argocd.argoproj.io/sync-wave", "0"))

    infrastructure = max(
        wave(by_name(resources, "Cluster", "backoffice-pg")), wave(by_name(resources, "Kafka", "backoffice"))
    )
    for svc, deployment in service_deployments(resources).items():
        job = by_name(resources, "Job", f"backoffice-{svc}-migrate")
        annotations = job["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/hook"] == "Sync"
        assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"
        assert infrastructure < wave(job) < wave(deployment), svc
        probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
        assert probe == "/readyz?probe=db", "readiness that knows the schema revision and ignores Kafka"


def test_the_images_are_built_from_a_hash_locked_dependency_set() -> None:
    lock = (REPO / "deploy" / "requirements.lock").read_text("utf-8")
    pinned = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", lock, re.MULTILINE)
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[2])
    assert len(pinned) == len(blocks) > 40
    assert all("--hash=sha256:" in block for block in blocks), "every pinned package has hashes"

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    names = {norm(n) for n, _ in pinned}
    for pyproject in sorted(REPO.glob("services/*/pyproject.toml")):
        import tomllib

        deps = tomllib.loads(pyproject.read_text("utf-8"))["project"]["dependencies"]
        for dep in deps:
            name = norm(re.split(r"[\[<>=!~ ;]", dep, maxsplit=1)[0])
            if not name.startswith("backoffice-"):
                assert name in names, f"{pyproject}: {dep} is not in deploy/requirements.lock"
    dockerfile = DOCKERFILE.read_text("utf-8")
    assert "--require-hashes" in dockerfile
    assert "-r deploy/requirements.lock" in dockerfile
    assert "--no-deps --no-build-isolation" in dockerfile, "the five packages must not resolve anything"


# ----------------------------------------------------------------------------- 9 secrets + placeholders


@per_overlay
def test_tokens_are_checked_for_their_issuer_in_prod_and_dev_has_no_optional_secret(overlay: str) -> None:
    resources = render(overlay)
    for svc, deployment in service_deployments(resources).items():
        p = PREFIX[svc]
        data = by_name(resources, "ConfigMap", f"backoffice-{svc}-config")["data"]
        for workload in (deployment, by_name(resources, "Job", f"backoffice-{svc}-migrate")):
            env = env_of(workload["spec"]["template"]["spec"]["containers"][0])
            for name, entry in env.items():
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef") or {}
                assert not (ref.get("optional") and "JWT" in name), f"{name} is optional"
            if overlay == "dev":
                assert env[f"{p}JWT_SECRET"]["valueFrom"]["secretKeyRef"]["name"] == "backoffice-jwt"
            else:
                assert f"{p}JWT_SECRET" not in env, "RS256 in prod: no HS256 secret at all"
        if overlay == "prod":
            assert data[f"{p}JWT_ISSUER"].startswith("https://")


def _release_check(overlay: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "deploy" / "k8s_release_check.py"), str(overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _filled_in(resources: list[Resource]) -> list[Resource]:
    text = yaml.safe_dump_all(resources)
    text = text.replace("example.com", "acme-corp.test")
    for doc, real in (
        ("192.0.2.1/", "10.0.0.1/"),
        ("192.0.2.10/", "52.219.0.10/"),
        ("198.51.100.10/", "34.1.2.3/"),
        ("203.0.113.25/", "10.20.0.25/"),
        ("203.0.113.80/", "52.219.0.80/"),
    ):
        text = text.replace(doc, real)
    text = re.sub(r"(image: \S+?):[\w.-]+\n", r"\1@sha256:" + "a" * 64 + "\n", text)
    resources = [d for d in yaml.safe_load_all(text) if d]
    for resource in resources:
        if resource["kind"] == "Cluster":
            resource["spec"]["imageName"] = "ghcr.io/cloudnative-pg/postgresql:17.6@sha256:" + "b" * 64
        if resource["kind"] == "Kafka":
            resource["spec"]["kafka"]["version"] = "4.1.0"
    return resources


def test_the_prod_template_does_not_render_for_a_cluster_until_its_placeholders_are_set() -> None:
    result = _release_check(K8S / "overlays" / "prod")
    assert result.returncode == 1
    assert result.stdout == "", "nothing rendered for kubectl apply"
    for expected in (
        "ConfigMap/backoffice-requests-config .data.REQUESTS_JWT_JWKS_URL: placeholder domain",
        "Gateway/backoffice-public .spec.listeners[0].hostname: placeholder domain",
        "NetworkPolicy/backoffice-allow-idp .spec.egress[0].to[0].ipBlock.cidr: documentation address 198.51.100.10/32",
        "ObjectStore/backoffice-pg-backups .spec.configuration.endpointURL: placeholder domain",
        "ConfigMap/backoffice-contracts-config .data.CONTRACTS_OBJECT_STORE_ENDPOINT: placeholder domain",
        "NetworkPolicy/backoffice-contracts .spec.egress[2].to[0].ipBlock.cidr: documentation address 203.0.113.80/32",
        "registry.example.com/backoffice/requests:0.1.0 is not pinned by digest",
        "ConfigMap/backoffice-console-config .data.CONSOLE_PUBLIC_BASE_URL: placeholder domain",
        "ConfigMap/backoffice-keycloak-config .data.KC_HOSTNAME: placeholder domain",
        "Gateway/backoffice-web .spec.listeners[1].hostname: placeholder domain",
        "registry.example.com/backoffice/keycloak:26.5.0 is not pinned by digest",
        "Cluster/backoffice-pg .spec.imageName: unset (the operator default) is not pinned by digest",
        "Kafka/backoffice .spec.kafka.version: unset (an operator upgrade would upgrade the brokers)",
    ):
        assert expected in result.stderr, expected
    sys.path.insert(0, str(REPO / "deploy"))
    try:
        from k8s_release_check import operator_image_problems, placeholder_problems
    finally:
        sys.path.remove(str(REPO / "deploy"))
    filled = _filled_in(list(render("prod")))
    assert placeholder_problems(filled) == []
    assert operator_image_problems(filled) == []
    by_name(filled, "Cluster", "backoffice-pg")["spec"]["imageName"] = "ghcr.io/cloudnative-pg/postgresql:17.6"
    assert operator_image_problems(filled) == [
        "Cluster/backoffice-pg .spec.imageName: ghcr.io/cloudnative-pg/postgresql:17.6 is not pinned by digest"
    ]


# ----------------------------------------------------------------------------- every workload, every rule


def test_every_service_of_the_repository_is_a_workload_the_rules_cover() -> None:
    """A new service directory (or web component) must join SERVICES/WEB_COMPONENTS, and so every rule."""
    packages = {p.parent.name for p in (REPO / "services").glob("*/pyproject.toml")} - {"common"}
    assert packages == set(WORKLOADS) - MIGRATES_ITSELF, packages ^ (set(WORKLOADS) - MIGRATES_ITSELF)
    bases = {p.name for p in (K8S / "base").iterdir() if (p / "deployment.yaml").exists()}
    assert bases == set(WORKLOADS), bases ^ set(WORKLOADS)


@per_overlay
def test_every_deployment_follows_the_production_rules(overlay: str) -> None:
    problems = workload_problems(list(render(overlay)), overlay)
    assert problems == [], "\n".join(problems)


def _container(resources: list[Resource], workload: str) -> Resource:
    container: Resource = workload_deployments(resources)[workload]["spec"]["template"]["spec"]["containers"][0]
    return container


def test_the_workload_check_catches_each_rule_broken_on_a_new_or_web_workload() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    assert workload_problems(resources, "prod") == []
    # a new service rendered with none of the rules, as a copy of insights without its companions
    stray = copy.deepcopy(by_name(resources, "Deployment", "backoffice-insights"))
    stray["metadata"]["name"] = "backoffice-travel"
    resources.append(stray)
    console = workload_deployments(resources)["console"]
    console["spec"]["template"]["spec"]["topologySpreadConstraints"].pop(0)  # the zone spread
    console["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] = "0"
    del _container(resources, "keycloak")["lifecycle"]
    budgets = workload_deployments(resources)["budgets"]
    budgets["spec"]["replicas"] = 3
    _container(resources, "budgets")["readinessProbe"]["httpGet"]["path"] = "/readyz"
    resources.remove(by_name(resources, "ScaledObject", "backoffice-checklists"))
    resources.remove(by_name(resources, "PodMonitor", "backoffice-console"))
    resources.remove(by_name(resources, "Job", "backoffice-insights-migrate"))
    del by_name(resources, "PodDisruptionBudget", "backoffice-keycloak")["spec"]["unhealthyPodEvictionPolicy"]
    resources.remove(by_name(resources, "PodDisruptionBudget", "backoffice-console"))
    workload_deployments(resources)["contracts"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 30
    kafka = by_name(resources, "Kafka", "backoffice")["spec"]["kafka"]["listeners"][0]
    kafka["networkPolicyPeers"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] = "backoffice-requests"
    problems = "\n".join(workload_problems(resources, "prod"))
    for expected in (
        "Deployments ['travel'] are neither in SERVICES nor in WEB_COMPONENTS",
        "Deployment/backoffice-console: no zone spread over its own pods",
        "Deployment/backoffice-console: sync wave 0 is not after Kafka and PostgreSQL",
        "Deployment/backoffice-keycloak: no preStop pause",
        "Deployment/backoffice-budgets: spec.replicas on a Deployment KEDA scales",
        "Deployment/backoffice-budgets: readiness is not /readyz?probe=db",
        "Deployment/backoffice-checklists: a service without a ScaledObject",
        "Deployment/backoffice-console: no PodMonitor scrapes it",
        "Deployment/backoffice-insights: no migration Job backoffice-insights-migrate",
        "Deployment/backoffice-keycloak: PodDisruptionBudget/backoffice-keycloak is not unhealthyPodEvictionPolicy",
        "Deployment/backoffice-console: no PodDisruptionBudget",
        "Deployment/backoffice-contracts: terminationGracePeriodSeconds 30 < preStop 5 + drain 20 + 15",
        "Deployment/backoffice-approvals: the Kafka listener's networkPolicyPeers do not admit it",
    ):
        assert expected in problems, expected
    unlabelled = [copy.deepcopy(r) for r in render("prod")]
    del by_name(unlabelled, "Deployment", "backoffice-console")["metadata"]["labels"]["app.kubernetes.io/part-of"]
    unlabelled.append({"kind": "StatefulSet", "metadata": {"name": "cache"}, "spec": {}})
    problems = "\n".join(workload_problems(unlabelled, "prod"))
    assert "Deployment/backoffice-console is not labelled app.kubernetes.io/part-of=backoffice" in problems
    assert "workloads ['console'] are not rendered" in problems
    assert "StatefulSet/cache: a StatefulSet no rule of tests/deploy covers" in problems


@per_overlay
def test_every_workloads_database_is_backed_up_replicated_and_monitored(overlay: str) -> None:
    problems = database_problems(list(render(overlay)), overlay)
    assert problems == [], "\n".join(problems)


def test_the_database_check_catches_a_database_or_cluster_left_out() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    assert database_problems(resources, "prod") == []
    resources.remove(next(d for d in of_kind(resources, "Database") if d["spec"]["name"] == "keycloak"))
    console = next(d for d in of_kind(resources, "Database") if d["spec"]["name"] == "console")
    console["spec"]["cluster"]["name"] = "backoffice-console-pg"
    # a second cluster, for a new service, with none of the rules
    second = copy.deepcopy(by_name(resources, "Cluster", "backoffice-pg"))
    second["metadata"]["name"] = "backoffice-travel-pg"
    del second["spec"]["plugins"]
    second["spec"]["affinity"] = {}
    second["spec"]["postgresql"]["parameters"].pop("tcp_keepalives_idle")
    second["spec"]["postgresql"]["synchronous"]["number"] = 0
    resources.append(second)
    problems = "\n".join(database_problems(resources, "prod"))
    for expected in (
        "keycloak: no Database",
        "console: its Database is on cluster backoffice-console-pg, not rendered",
        "Cluster/backoffice-travel-pg: WAL is not archived by the Barman Cloud plugin",
        "Cluster/backoffice-travel-pg: no ScheduledBackup",
        "Cluster/backoffice-travel-pg: no PodMonitor",
        "Cluster/backoffice-travel-pg: instances are not kept in different zones",
        "Cluster/backoffice-travel-pg: a dead client's session (and advisory lock) lives 7200 s",
        "Cluster/backoffice-travel-pg: no synchronous standby",
    ):
        assert expected in problems, expected
    assert "Cluster/backoffice-pg:" not in problems


# ----------------------------------------------------------------------------- 9 key rotation in the manifests


def _rotation_settings() -> dict[str, list[tuple[str, str]]]:
    """workload -> (previous-keys variable, current-key variable) of every rotation setting."""
    import importlib

    found: dict[str, list[tuple[str, str]]] = {}
    for workload in (*SERVICES, "console"):
        settings = importlib.import_module(f"backoffice_{workload}.settings").Settings
        prefix = settings.model_config.get("env_prefix", "")
        for field in settings.model_fields:
            if "previous_" in field:
                current = field.replace("previous_", "").removesuffix("s")
                assert current in settings.model_fields, f"{workload}: {field} rotates no {current}"
                found.setdefault(workload, []).append((f"{prefix}{field}".upper(), f"{prefix}{current}".upper()))
    return found


def rotation_problems(resources: list[Resource]) -> list[str]:
    """Every previous-keys setting is wired, from the Secret of its current key, optional: a
    rotation is a change of Secret and a rollout, not of the manifests."""
    problems = []
    deployments = workload_deployments(resources)
    for workload, pairs in _rotation_settings().items():
        env = env_of(deployments[workload]["spec"]["template"]["spec"]["containers"][0])
        for previous, current in pairs:
            current_ref = ((env.get(current) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            ref = ((env.get(previous) or {}).get("valueFrom") or {}).get("secretKeyRef")
            if ref is None:
                problems.append(f"{workload}: {previous} is not set from a Secret (rotation needs a manifest change)")
            elif ref.get("name") != current_ref.get("name") or ref.get("optional") is not True:
                problems.append(f"{workload}: {previous} is not an optional key of Secret {current_ref.get('name')}")
    return problems


@per_overlay
def test_every_key_with_previous_keys_can_be_rotated_through_its_secret(overlay: str) -> None:
    pairs = _rotation_settings()
    assert {w: sorted(p for p, _ in found) for w, found in pairs.items()} == {
        "notifications": ["NOTIFICATIONS_LINK_SIGNING_PREVIOUS_KEYS", "NOTIFICATIONS_SECRET_ENCRYPTION_PREVIOUS_KEYS"],
        "contracts": ["CONTRACTS_LINK_PREVIOUS_SECRETS"],
        "console": ["CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS"],
    }
    problems = rotation_problems(list(render(overlay)))
    assert problems == [], "\n".join(problems)


def test_the_rotation_check_catches_an_unwired_or_required_previous_key() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    console = _container(resources, "console")
    console["env"] = [e for e in console["env"] if e["name"] != "CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS"]
    contracts = env_of(_container(resources, "contracts"))
    del contracts["CONTRACTS_LINK_PREVIOUS_SECRETS"]["valueFrom"]["secretKeyRef"]["optional"]
    problems = "\n".join(rotation_problems(resources))
    assert "console: CONSOLE_SESSION_ENCRYPTION_PREVIOUS_KEYS is not set from a Secret" in problems
    assert (
        "contracts: CONTRACTS_LINK_PREVIOUS_SECRETS is not an optional key of Secret backoffice-contracts" in problems
    )
