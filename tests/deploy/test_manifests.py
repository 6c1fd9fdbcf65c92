"""Static checks of the deployment artefacts: Dockerfile, Compose file, Kubernetes manifests.

No Docker engine and no cluster: every overlay is rendered with `kubectl kustomize`, core
resources are validated against the Kubernetes OpenAPI schemas (kubernetes-validate, strict),
Strimzi/CloudNativePG resources against their CRD schemas (npm packages, run by node), the
Compose file against the Compose specification schema, the Dockerfile with hadolint; the
rest checks what the platform relies on. Each validator is also shown to reject a broken copy.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

import pytest
from deploy_testkit import (
    COMPOSE_FILE,
    CRD_TYPES,
    DEPLOYMENT_DOC,
    DOCKERFILE,
    K8S,
    KUBERNETES_VERSIONS,
    OVERLAYS,
    PREFIX,
    REPO,
    SERVICES,
    VENDORED_KINDS,
    Resource,
    by_name,
    compose_errors,
    configured_variables,
    consumers_from_events_doc,
    crd_results,
    crd_type_errors,
    deployment_problems,
    env_of,
    hadolint,
    is_core,
    job_problems,
    kubernetes_errors,
    load_compose,
    name_of,
    network_problems,
    of_kind,
    render,
    secret_problems,
    selects,
    service_deployments,
    settings_variables,
    topic_problems,
    topics_from_events_doc,
    walk,
)

per_overlay = pytest.mark.parametrize("overlay", OVERLAYS)


# ----------------------------------------------------------------------------- rendering


@per_overlay
def test_the_overlay_renders_with_kubectl_kustomize(overlay: str) -> None:
    resources = render(overlay)
    kinds = {r["kind"] for r in resources}
    for kind in (
        "Namespace",
        "Deployment",
        "Service",
        "ConfigMap",
        "ScaledObject",
        "PodDisruptionBudget",
        "Job",
        "NetworkPolicy",
        "Kafka",
        "KafkaNodePool",
        "KafkaTopic",
        "KafkaUser",
        "Cluster",
        "Database",
        "ObjectStore",
        "ScheduledBackup",
        "Gateway",
        "HTTPRoute",
        "Certificate",
        "BackendTrafficPolicy",
        "ClientTrafficPolicy",
        "PodMonitor",
        "PrometheusRule",
    ):
        assert kind in kinds, f"{kind} missing from k8s/overlays/{overlay}"
    expected_namespace = {"dev": "backoffice-dev", "prod": "backoffice"}[overlay]
    for resource in resources:
        if resource["kind"] != "Namespace":
            assert resource["metadata"].get("namespace") == expected_namespace, name_of(resource)


@per_overlay
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_resource_is_valid_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    core = [r for r in render(overlay) if is_core(r)]
    assert len(core) > 40
    errors = [error for resource in core for error in kubernetes_errors(resource, version)]
    assert errors == [], f"invalid against Kubernetes {version}:\n" + "\n".join(errors)


def test_the_kubernetes_validation_rejects_a_broken_deployment() -> None:
    deployment = copy.deepcopy(service_deployments(render("prod"))["requests"])
    assert kubernetes_errors(deployment) == []
    unknown_field = copy.deepcopy(deployment)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    assert kubernetes_errors(unknown_field), "strict mode must reject an unknown field"
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "three"
    assert kubernetes_errors(wrong_type)


@per_overlay
def test_strimzi_and_cloudnativepg_resources_match_their_crd_schemas(overlay: str) -> None:
    custom = [r for r in render(overlay) if not is_core(r) and r["kind"] != "Namespace"]
    assert {(r["apiVersion"], r["kind"]) for r in custom} == set(CRD_TYPES) | VENDORED_KINDS
    results = crd_results(custom)
    not_validated = [f"{r['kind']}/{r['name']}" for r in results if not r["validated"]]
    assert not_validated == [], "no CRD schema for these resources"
    errors = [f"{r['kind']}/{r['name']}: {e}" for r in results for e in r["errors"]]
    assert errors == [], "\n".join(errors)


def test_the_crd_validation_rejects_broken_custom_resources() -> None:
    resources = render("prod")
    topic = copy.deepcopy(by_name(resources, "KafkaTopic", "backoffice.requests"))
    topic["spec"]["partitions"] = "six"
    kafka = copy.deepcopy(by_name(resources, "Kafka", "backoffice"))
    kafka["spec"]["kafka"]["listeners"][0]["type"] = "public"
    cluster = copy.deepcopy(by_name(resources, "Cluster", "backoffice-pg"))
    cluster["spec"]["instances"] = 0
    pool = copy.deepcopy(by_name(resources, "KafkaNodePool", "brokers"))
    del pool["spec"]["roles"]
    store = copy.deepcopy(by_name(resources, "ObjectStore", "backoffice-pg-backups"))
    store["spec"]["configuration"]["destinationPth"] = store["spec"]["configuration"].pop("destinationPath")
    limits = copy.deepcopy(by_name(resources, "BackendTrafficPolicy", "backoffice-public-vendor-webhook"))
    limits["spec"]["rateLimit"]["local"]["rules"][0]["limit"]["unit"] = "Fortnight"
    route = copy.deepcopy(by_name(resources, "HTTPRoute", "backoffice-public-vendor-webhook"))
    route["spec"]["rules"][0]["matches"][0]["path"]["type"] = "Glob"
    scaler = copy.deepcopy(by_name(resources, "ScaledObject", "backoffice-requests"))
    del scaler["spec"]["scaleTargetRef"]
    rule = copy.deepcopy(by_name(resources, "PrometheusRule", "backoffice"))
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    backup = copy.deepcopy(by_name(resources, "ScheduledBackup", "backoffice-pg-nightly"))
    backup["spec"]["method"] = "tape"
    user = copy.deepcopy(by_name(resources, "KafkaUser", "backoffice-requests-kafka"))
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Steal"]
    broken = [topic, kafka, cluster, pool, store, limits, route, scaler, rule, backup, user]
    results = crd_results(broken)
    assert all(r["validated"] for r in results), results
    missed = [name_of(b) for b, r in zip(broken, results, strict=True) if not r["errors"]]
    assert missed == [], f"the CRD validation accepted broken copies of {missed}"


@per_overlay
def test_strimzi_and_cloudnativepg_resources_have_no_unknown_fields(overlay: str) -> None:
    custom = [r for r in render(overlay) if (r["apiVersion"], r["kind"]) in CRD_TYPES]
    errors = crd_type_errors(custom, overlay)
    assert errors == {}, "\n".join(f"{name}: {e}" for name, found in errors.items() for e in found)


def test_the_unknown_field_check_catches_a_misspelled_field() -> None:
    resources = render("prod")
    kafka = copy.deepcopy(by_name(resources, "Kafka", "backoffice"))
    kafka["spec"]["entityOperator"]["topicOperators"] = {}
    cluster = copy.deepcopy(by_name(resources, "Cluster", "backoffice-pg"))
    cluster["spec"]["storage"]["sizee"] = "1Gi"
    topic = copy.deepcopy(by_name(resources, "KafkaTopic", "backoffice.requests"))
    errors = crd_type_errors([kafka, topic, cluster], "broken")
    assert set(errors) == {"Kafka/backoffice", "Cluster/backoffice-pg"}, errors
    assert "topicOperators" in " ".join(errors["Kafka/backoffice"])
    assert "sizee" in " ".join(errors["Cluster/backoffice-pg"])


# ----------------------------------------------------------------------------- Kafka


@per_overlay
def test_every_topic_and_its_dlq_is_a_kafka_topic_with_replication_3_and_min_isr_2(overlay: str) -> None:
    assert set(topics_from_events_doc()) == {
        "backoffice.requests",
        "backoffice.approvals",
        "backoffice.notifications",
        "backoffice.contracts",
        "backoffice.vendors",
        "backoffice.budgets",
        "backoffice.cost_centres",
        "backoffice.hr",
        "backoffice.checklists",
    }
    resources = render(overlay)
    assert len(of_kind(resources, "KafkaTopic")) == 18
    problems = topic_problems(resources)
    assert problems == [], "\n".join(problems)


def test_the_topic_check_catches_missing_and_misconfigured_topics() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    by_name(resources, "KafkaTopic", "backoffice.approvals")["spec"]["replicas"] = 2
    by_name(resources, "KafkaTopic", "backoffice.requests")["spec"]["config"]["min.insync.replicas"] = 1
    by_name(resources, "KafkaTopic", "backoffice.vendors")["spec"]["config"]["cleanup.policy"] = "delete"
    resources.remove(by_name(resources, "KafkaTopic", "backoffice.contracts.dlq"))
    problems = "\n".join(topic_problems(resources))
    assert "no KafkaTopic for backoffice.contracts.dlq" in problems
    assert "backoffice.approvals: replicas 2" in problems
    assert "backoffice.requests: min.insync.replicas 1" in problems
    assert "backoffice.vendors: cleanup.policy delete, not compact" in problems


@per_overlay
def test_the_kafka_cluster_has_three_kraft_brokers_and_safe_defaults(overlay: str) -> None:
    resources = render(overlay)
    kafka = by_name(resources, "Kafka", "backoffice")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    config = kafka["spec"]["kafka"]["config"]
    assert int(config["min.insync.replicas"]) == 2
    assert int(config["default.replication.factor"]) == 3
    assert str(config["auto.create.topics.enable"]) == "false"
    assert "topicOperator" in kafka["spec"]["entityOperator"]
    assert "zookeeper" not in kafka["spec"]
    pools = [
        p for p in of_kind(resources, "KafkaNodePool") if p["metadata"]["labels"]["strimzi.io/cluster"] == "backoffice"
    ]
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    controllers = sum(p["spec"]["replicas"] for p in pools if "controller" in p["spec"]["roles"])
    assert brokers == 3
    assert controllers == 3
    for svc in SERVICES:
        config_map = by_name(resources, "ConfigMap", f"backoffice-{svc}-config")
        assert config_map["data"][f"{PREFIX[svc]}KAFKA_REPLICATION_FACTOR"] == "3"


@per_overlay
def test_no_service_scales_beyond_the_partitions_it_consumes(overlay: str) -> None:
    resources = render(overlay)
    partitions = {t["spec"]["topicName"]: t["spec"]["partitions"] for t in of_kind(resources, "KafkaTopic")}
    consumed = consumers_from_events_doc()
    compacted = {topic for topic, is_compacted in topics_from_events_doc().items() if is_compacted}
    assert set(consumed) == set(SERVICES)
    for svc in SERVICES:
        scaler = by_name(resources, "ScaledObject", f"backoffice-{svc}")
        # Compacted read-model topics (vendors, cost centres) feed small tables; lag there is not load.
        lifecycle = [t for t in consumed[svc] if t not in compacted]
        assert lifecycle, svc
        assert scaler["spec"]["maxReplicaCount"] <= min(partitions[t] for t in lifecycle), (
            f"backoffice-{svc} may scale beyond the partitions of {lifecycle}: the extra replicas would idle"
        )


# ----------------------------------------------------------------------------- PostgreSQL


@per_overlay
def test_postgres_has_a_database_and_a_login_role_per_service(overlay: str) -> None:
    resources = render(overlay)
    cluster = by_name(resources, "Cluster", "backoffice-pg")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["instances"] == (3 if overlay == "prod" else 1)
    roles = {role["name"]: role for role in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind(resources, "Database")}
    for svc in SERVICES:
        assert roles[svc]["login"] is True
        assert roles[svc]["passwordSecret"]["name"] == f"backoffice-{svc}-db"
        assert databases[svc]["spec"]["owner"] == svc
        assert databases[svc]["spec"]["cluster"]["name"] == "backoffice-pg"
        config = by_name(resources, "ConfigMap", f"backoffice-{svc}-config")["data"]
        assert config["PG_HOST"] == "backoffice-pg-rw"
        assert config["PG_DATABASE"] == svc


# ----------------------------------------------------------------------------- workloads


@per_overlay
def test_every_service_deployment_has_probes_limits_and_a_non_root_security_context(overlay: str) -> None:
    deployments = service_deployments(render(overlay))
    assert set(deployments) == set(SERVICES)
    problems = [p for deployment in deployments.values() for p in deployment_problems(deployment)]
    assert problems == [], "\n".join(problems)


def _drop(path: str) -> Callable[[Resource], None]:
    def mutate(deployment: Resource) -> None:
        *parents, last = path.split(".")
        node: Any = deployment
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[last]

    return mutate


def _set(path: str, value: Any) -> Callable[[Resource], None]:
    def mutate(deployment: Resource) -> None:
        *parents, last = path.split(".")
        node: Any = deployment
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[last] = value

    return mutate


CONTAINER = "spec.template.spec.containers.0"
BROKEN_DEPLOYMENTS = {
    "no liveness probe": _drop(f"{CONTAINER}.livenessProbe"),
    "no readiness probe": _drop(f"{CONTAINER}.readinessProbe"),
    "readiness on the liveness path": _set(f"{CONTAINER}.readinessProbe.httpGet.path", "/healthz"),
    "readiness includes Kafka": _set(f"{CONTAINER}.readinessProbe.httpGet.path", "/readyz"),
    "grace period shorter than the shutdown budget": _set("spec.template.spec.terminationGracePeriodSeconds", 30),
    "no bound on the HTTP drain": _set(f"{CONTAINER}.args", ["serve", "--host", "0.0.0.0", "--port", "8000"]),
    "no resource limits": _drop(f"{CONTAINER}.resources.limits"),
    "no memory limit": _drop(f"{CONTAINER}.resources.limits.memory"),
    "no container security context": _drop(f"{CONTAINER}.securityContext"),
    "runs as root": _set(f"{CONTAINER}.securityContext.runAsUser", 0),
    "runAsNonRoot false": _set(f"{CONTAINER}.securityContext.runAsNonRoot", False),
    "privilege escalation": _set(f"{CONTAINER}.securityContext.allowPrivilegeEscalation", True),
    "writable root filesystem": _set(f"{CONTAINER}.securityContext.readOnlyRootFilesystem", False),
    "capabilities kept": _set(f"{CONTAINER}.securityContext.capabilities", {"drop": ["NET_RAW"]}),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_DEPLOYMENTS))
def test_the_deployment_check_catches_a_deliberately_broken_copy(breakage: str) -> None:
    original = service_deployments(render("prod"))["notifications"]
    broken = copy.deepcopy(original)
    BROKEN_DEPLOYMENTS[breakage](broken)
    assert deployment_problems(original) == []
    assert deployment_problems(broken), f"the check missed: {breakage}"


@per_overlay
def test_migrations_run_once_per_release_in_a_hardened_job(overlay: str) -> None:
    resources = render(overlay)
    for svc in SERVICES:
        job = by_name(resources, "Job", f"backoffice-{svc}-migrate")
        assert job_problems(job) == []
        deployment = service_deployments(resources)[svc]
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["args"][0] == "serve"
        assert not deployment["spec"]["template"]["spec"].get("initContainers"), "no migration on replica start"
        job_container = job["spec"]["template"]["spec"]["containers"][0]
        assert job_container["image"] == container["image"]
        assert f"{PREFIX[svc]}DATABASE_URL" in env_of(job_container)


@per_overlay
def test_services_hpas_and_pdbs_select_the_service_pods(overlay: str) -> None:
    resources = render(overlay)
    for svc, deployment in service_deployments(resources).items():
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"], pod_labels)
        service = by_name(resources, "Service", f"backoffice-{svc}")
        assert all(pod_labels.get(k) == v for k, v in service["spec"]["selector"].items())
        job_labels = by_name(resources, "Job", f"backoffice-{svc}-migrate")["spec"]["template"]["metadata"]["labels"]
        assert not all(job_labels.get(k) == v for k, v in service["spec"]["selector"].items()), (
            "Service selects the Job"
        )
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        port_names = {p["name"] for p in container["ports"]}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= port_names
        scaler = by_name(resources, "ScaledObject", f"backoffice-{svc}")
        assert scaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"backoffice-{svc}",
        }
        assert 1 <= scaler["spec"]["minReplicaCount"] <= scaler["spec"]["maxReplicaCount"]
        pdb = by_name(resources, "PodDisruptionBudget", f"backoffice-{svc}")
        assert selects(pdb["spec"]["selector"], pod_labels)
        assert container["image"].startswith("registry.example.com/backoffice/")
        assert not container["image"].endswith(":latest")


@per_overlay
def test_the_overlay_configures_the_environment_it_is_for(overlay: str) -> None:
    resources = render(overlay)
    for svc in SERVICES:
        data = by_name(resources, "ConfigMap", f"backoffice-{svc}-config")["data"]
        p = PREFIX[svc]
        assert data[f"{p}ENVIRONMENT"] == {"dev": "development", "prod": "production"}[overlay]
        if overlay == "prod":
            assert data[f"{p}JWT_ALGORITHM"] == "RS256"
            assert data[f"{p}JWT_JWKS_URL"].startswith("https://")
        for key in data:
            assert key.startswith(p) or key in ("PG_HOST", "PG_DATABASE"), f"{key} lacks the {p} prefix"
    contracts = service_deployments(resources)["contracts"]["spec"]["template"]["spec"]
    signing_env = {"CONTRACTS_SIGNING_KEY_PATH", "CONTRACTS_SIGNING_CERT_PATH"}
    if overlay == "prod":
        assert signing_env <= set(env_of(contracts["containers"][0]))
        assert "backoffice-contracts-signing" in {v.get("secret", {}).get("secretName") for v in contracts["volumes"]}


@per_overlay
def test_every_configured_variable_is_a_setting_of_its_service(overlay: str) -> None:
    resources = render(overlay)
    for svc in SERVICES:
        unknown = configured_variables(resources, svc) - settings_variables(svc)
        assert unknown == set(), f"backoffice_{svc}.settings.Settings has no field for {sorted(unknown)}"


def test_every_compose_variable_is_a_setting_of_its_service() -> None:
    services = load_compose()["services"]
    for svc in SERVICES:
        for name in (svc, f"{svc}-migrate"):
            unknown = set(services[name]["environment"]) - settings_variables(svc)
            assert unknown == set(), f"{name}: backoffice_{svc} has no setting for {sorted(unknown)}"


# ----------------------------------------------------------------------------- secrets


@per_overlay
def test_no_secret_value_is_committed(overlay: str) -> None:
    problems = secret_problems(render(overlay))
    assert problems == [], "\n".join(problems)
    for path in K8S.rglob("*.yaml"):
        text = path.read_text("utf-8")
        assert not re.search(r"^kind:\s*Secret\s*$", text, re.MULTILINE), f"{path} commits a Secret"


def test_the_secret_check_catches_committed_secret_material() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    resources.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "oops"}, "stringData": {"a": "b"}})
    by_name(resources, "ConfigMap", "backoffice-contracts-config")["data"]["CONTRACTS_LINK_SECRET"] = "x" * 40
    container = service_deployments(resources)["requests"]["spec"]["template"]["spec"]["containers"][0]
    container["env"].append({"name": "REQUESTS_JWT_SECRET", "value": "hard-coded"})
    problems = "\n".join(secret_problems(resources))
    assert "Secret/oops" in problems
    assert "CONTRACTS_LINK_SECRET belongs in a Secret" in problems
    assert "REQUESTS_JWT_SECRET has a literal value" in problems


@per_overlay
def test_every_referenced_secret_is_documented(overlay: str) -> None:
    referenced: set[str] = set()
    keys: set[str] = set()
    for resource in render(overlay):
        for node in walk(resource):
            if isinstance(node, dict):
                if "secretKeyRef" in node:
                    referenced.add(node["secretKeyRef"]["name"])
                    keys.add(node["secretKeyRef"]["key"])
                if isinstance(node.get("secret"), dict) and "secretName" in node["secret"]:
                    referenced.add(node["secret"]["secretName"])
                if isinstance(node.get("passwordSecret"), dict):
                    referenced.add(node["passwordSecret"]["name"])
    assert {f"backoffice-{svc}-db" for svc in SERVICES} <= referenced
    doc = DEPLOYMENT_DOC.read_text("utf-8")
    templated = {name: re.sub(rf"-({'|'.join(SERVICES)})-", "-<svc>-", name) for name in referenced}
    undocumented = sorted(name for name in referenced if name not in doc and templated[name] not in doc)
    assert undocumented == [], f"docs/deployment.md does not say how to create {undocumented}"
    missing_keys = sorted(key for key in keys if f"`{key}`" not in doc)
    assert missing_keys == [], f"docs/deployment.md does not name the Secret keys {missing_keys}"


# ----------------------------------------------------------------------------- network policies


@per_overlay
def test_network_policies_deny_by_default_and_allow_only_what_the_architecture_needs(overlay: str) -> None:
    resources = list(render(overlay))
    problems = network_problems(resources, overlay)
    assert problems == [], "\n".join(problems)


def test_the_network_check_catches_an_opened_policy() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    assert network_problems(resources, "prod") == []
    allow_all = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-all-egress"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]},
    }
    approvals = by_name(resources, "NetworkPolicy", "backoffice-approvals")
    approvals["spec"]["ingress"][0]["ports"].append({"protocol": "TCP", "port": 5005})
    resources.append(allow_all)
    resources.remove(by_name(resources, "NetworkPolicy", "backoffice-default-deny"))
    problems = "\n".join(network_problems(resources, "prod"))
    assert "no namespace-wide default deny" in problems
    assert "approvals: ingress" in problems
    assert "requests: unexpected egress [('any', None)]" in problems
    assert "migration Job may reach more" in problems


def test_the_network_check_compares_addresses_not_only_ports() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    idp = by_name(resources, "NetworkPolicy", "backoffice-allow-idp")
    idp["spec"]["egress"][0]["to"][0]["ipBlock"] = {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}
    smtp = by_name(resources, "NetworkPolicy", "backoffice-notifications-smtp")
    smtp["spec"]["egress"][0]["to"][0]["ipBlock"] = {"cidr": "0.0.0.0/0"}
    webhooks = by_name(resources, "NetworkPolicy", "backoffice-notifications")
    for rule in webhooks["spec"]["egress"]:
        for peer in rule.get("to") or []:
            if "except" in peer.get("ipBlock", {}):  # the internet's rule, not the object store's address
                peer["ipBlock"]["except"].remove("127.0.0.0/8")
    postgres = by_name(resources, "NetworkPolicy", "backoffice-postgres")
    postgres["spec"]["egress"][1]["to"][0]["ipBlock"]["cidr"] = "0.0.0.0/0"
    problems = "\n".join(network_problems(resources, "prod"))
    assert "requests: identity provider egress ['0.0.0.0/0 port 443']" in problems
    assert "notifications: HTTPS egress reaches 10.0.0.0/8" in problems
    assert "notifications: HTTPS egress reaches 127.0.0.0/8" in problems
    assert "notifications: SMTP egress to ['0.0.0.0/0 port 465', '0.0.0.0/0 port 587']" in problems
    assert "postgres: egress to wide address ranges" in problems


# ----------------------------------------------------------------------------- Compose


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    document = load_compose()
    errors = compose_errors(document)
    assert errors == [], "\n".join(errors)


def test_the_compose_schema_rejects_a_broken_copy() -> None:
    document = load_compose()
    broken = copy.deepcopy(document)
    broken["services"]["requests"]["depends_on"]["requests-migrate"]["condition"] = "service_finished"
    broken["services"]["kafka"]["healthcheck"]["retry"] = 3
    errors = compose_errors(broken)
    assert any("service_finished" in e for e in errors), errors
    assert any("retry" in e for e in errors), errors


def test_compose_starts_every_component_and_migrates_before_the_services() -> None:
    services = load_compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")
    init_mounts = [v for v in services["postgres"]["volumes"] if "/docker-entrypoint-initdb.d" in v]
    assert init_mounts
    init_dir = COMPOSE_FILE.parent / init_mounts[0].split(":")[0]
    init_sql = "".join(p.read_text("utf-8") for p in sorted(init_dir.glob("*.sql")))
    for svc in SERVICES:
        assert re.search(rf"CREATE DATABASE {svc};", init_sql), svc
        p = PREFIX[svc]
        migrate = services[f"{svc}-migrate"]
        assert migrate["command"] == ["migrate"]
        assert migrate["restart"] == "no"
        assert migrate["build"]["target"] == svc
        assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
        service = services[svc]
        assert service["build"] == migrate["build"]
        assert service["image"] == migrate["image"]
        assert service["depends_on"][f"{svc}-migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert "/healthz" in " ".join(service["healthcheck"]["test"])
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        env = service["environment"]
        assert env[f"{p}DATABASE_URL"].endswith(f"@postgres:5432/{svc}")
        assert env[f"{p}DATABASE_URL"] == migrate["environment"][f"{p}DATABASE_URL"]
        assert env[f"{p}KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env[f"{p}ENVIRONMENT"] == "development"
        assert all(key.startswith(p) for key in env), svc
    assert services["notifications"]["environment"]["NOTIFICATIONS_SMTP_HOST"] == "mailpit"


# ----------------------------------------------------------------------------- Dockerfile


def test_the_dockerfile_passes_hadolint() -> None:
    code, findings = hadolint(DOCKERFILE)
    assert findings == [], findings
    assert code == 0


def test_hadolint_flags_a_broken_dockerfile(tmp_path: Any) -> None:
    broken = tmp_path / "Dockerfile"
    broken.write_text(
        "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y gcc\nUSER root\nCMD python -m x\n",
        "utf-8",
    )
    code, findings = hadolint(broken)
    codes = {f["code"] for f in findings}
    assert code != 0
    assert {"DL3008", "DL3015", "DL3009", "DL3002", "DL3025"} <= codes, codes


def _stages(dockerfile: str) -> dict[str, list[str]]:
    """Instructions per build stage (continuation lines joined)."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = match.group(2)
            stages[current] = [line]
        elif current:
            stages[current].append(line)
    return stages


def test_the_dockerfile_builds_a_slim_non_root_image_per_service() -> None:
    text = DOCKERFILE.read_text("utf-8")
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    stages = _stages(text)
    assert stages["builder"][0].startswith("FROM ${PYTHON_IMAGE}")
    assert any("pip wheel" in line for line in stages["builder"])
    runtime = stages["runtime"]
    assert runtime[0].startswith("FROM ${PYTHON_IMAGE}"), "the runtime must not start from the builder"
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line and "urllib" in line for line in runtime)
    for svc in SERVICES:
        stage = stages[svc]
        joined = "\n".join(stage)
        assert stage[0] == f"FROM runtime AS {svc}"
        assert "apt-get" not in joined, f"{svc}: no packages (build tools) in the final image"
        assert "--no-index" in joined, f"{svc}: installs only the builder's wheels"
        assert f'ENTRYPOINT ["python", "-m", "backoffice_{svc}"]' in stage
        assert 'CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]' in stage
        users = [line.split()[1] for line in stage if line.startswith("USER ")]
        assert users, f"{svc}: no USER"
        assert users[-1].split(":")[0] not in ("0", "root"), f"{svc}: last USER is root"
        assert stage.index(next(line for line in stage if line.startswith("USER "))) > max(
            i for i, line in enumerate(stage) if line.startswith("RUN")
        )


def test_the_docker_build_context_leaves_out_state_and_caches() -> None:
    patterns = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".state", ".venv", "**/__pycache__", "**/.pytest_cache", "**/.mypy_cache", ".git"):
        assert required in patterns, required


def test_the_deployment_doc_covers_compose_kubernetes_and_scaling() -> None:
    doc = DEPLOYMENT_DOC.read_text("utf-8")
    for heading in ("## Docker Compose", "## Kubernetes", "## How scaling works", "no Docker engine"):
        assert heading in doc, heading
    for fact in ("advisory lock", "SKIP LOCKED", "rebalance", "inbox", "partitions", "## README section"):
        assert fact in doc, fact
