"""The web console and Keycloak in the manifests and the Compose file: hardened Deployments, their
databases, the realm without sample users in prod, one issuer everywhere, the people's Gateway
routing every console page and nothing else, the network paths (each check fed a broken copy)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
from deploy_testkit import (
    CONSOLE_POD,
    OVERLAYS,
    PREFIX,
    REPO,
    SERVICES,
    WEB_COMPONENTS,
    Resource,
    by_name,
    env_of,
    hadolint,
    job_problems,
    load_compose,
    network_problems,
    of_kind,
    render,
    selects,
    web_deployment_problems,
    web_deployments,
)

per_overlay = pytest.mark.parametrize("overlay", OVERLAYS)
REALM = "backoffice"
IN_CLUSTER_KEYCLOAK = "http://backoffice-keycloak:8080"
KEYCLOAK_DOCKERFILE = REPO / "deploy" / "keycloak" / "Dockerfile"


def _realms_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("k8s_realms", REPO / "deploy" / "keycloak" / "k8s_realms.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config(resources: Any, component: str) -> dict[str, str]:
    data: dict[str, str] = by_name(resources, "ConfigMap", f"backoffice-{component}-config")["data"]
    return data


# ----------------------------------------------------------------------------- workloads


@per_overlay
def test_the_console_and_keycloak_run_hardened_with_two_replicas_probes_and_secrets(overlay: str) -> None:
    resources = render(overlay)
    deployments = web_deployments(resources)
    assert set(deployments) == set(WEB_COMPONENTS)
    problems = [p for name, d in deployments.items() for p in web_deployment_problems(name, d)]
    assert problems == [], "\n".join(problems)
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = by_name(resources, "Service", f"backoffice-{name}")
        assert all(labels.get(k) == v for k, v in service["spec"]["selector"].items())
        assert selects(by_name(resources, "PodDisruptionBudget", f"backoffice-{name}")["spec"]["selector"], labels)
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image.startswith(f"registry.example.com/backoffice/{name}:"), image
        assert not any(
            s["spec"]["scaleTargetRef"]["name"] == f"backoffice-{name}" for s in of_kind(resources, "ScaledObject")
        )
    keycloak = deployments["keycloak"]["spec"]["template"]
    ports = {p["name"] for p in keycloak["spec"]["containers"][0]["ports"]}
    assert any(
        selects(m["spec"]["selector"], keycloak["metadata"]["labels"])
        and {e["port"] for e in m["spec"]["podMetricsEndpoints"]} == {"management"} <= ports
        for m in of_kind(resources, "PodMonitor")
    ), "Prometheus scrapes Keycloak's management port"
    job = by_name(resources, "Job", "backoffice-console-migrate")
    assert job_problems(job) == []
    job_container = job["spec"]["template"]["spec"]["containers"][0]
    console_container = deployments["console"]["spec"]["template"]["spec"]["containers"][0]
    assert job_container["image"] == console_container["image"]
    assert env_of(job_container)["CONSOLE_DATABASE_URL"] == env_of(console_container)["CONSOLE_DATABASE_URL"]
    annotations = job["metadata"]["annotations"]
    assert annotations["argocd.argoproj.io/hook"] == "Sync"
    assert int(annotations["argocd.argoproj.io/sync-wave"]) < int(
        deployments["console"]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
    )
    service = by_name(resources, "Service", "backoffice-console")
    assert not all(
        job["spec"]["template"]["metadata"]["labels"].get(k) == v for k, v in service["spec"]["selector"].items()
    )


def _set(path: str, value: Any) -> Any:
    def mutate(deployment: Resource) -> None:
        *parents, last = path.split(".")
        node: Any = deployment
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        index: Any = int(last) if last.isdigit() else last
        if value is None:
            del node[index]
        else:
            node[index] = value

    return mutate


CONTAINER = "spec.template.spec.containers.0"
BROKEN = {
    ("console", "one replica"): _set("spec.replicas", 1),
    ("console", "readiness on /healthz"): _set(f"{CONTAINER}.readinessProbe.httpGet.path", "/healthz"),
    ("console", "no bound on the HTTP drain"): _set(f"{CONTAINER}.args", ["backoffice_console.main:create_app"]),
    ("console", "writable root"): _set(f"{CONTAINER}.securityContext.readOnlyRootFilesystem", False),
    ("console", "session key literal"): _set(
        f"{CONTAINER}.env.5", {"name": "CONSOLE_SESSION_ENCRYPTION_KEY", "value": "x"}
    ),
    ("keycloak", "start-dev"): _set(f"{CONTAINER}.args", ["start-dev", "--import-realm"]),
    ("keycloak", "no readiness"): _set(f"{CONTAINER}.readinessProbe", None),
    ("keycloak", "runs as root"): _set(f"{CONTAINER}.securityContext.runAsUser", 0),
    ("keycloak", "no memory limit"): _set(f"{CONTAINER}.resources.limits.memory", None),
    ("keycloak", "no realm volume"): _set("spec.template.spec.volumes.2", {"name": "realm", "emptyDir": {}}),
    ("keycloak", "token mounted"): _set("spec.template.spec.automountServiceAccountToken", True),
}


@pytest.mark.parametrize(("component", "breakage"), sorted(BROKEN))
def test_the_web_deployment_check_catches_a_broken_copy(component: str, breakage: str) -> None:
    original = web_deployments(render("prod"))[component]
    broken = copy.deepcopy(original)
    BROKEN[component, breakage](broken)
    assert web_deployment_problems(component, original) == []
    assert web_deployment_problems(component, broken), f"the check missed: {component} {breakage}"


# ----------------------------------------------------------------------------- configuration


@per_overlay
def test_every_console_variable_is_a_setting_and_the_settings_accept_the_overlay(overlay: str) -> None:
    from backoffice_console.settings import Settings

    resources = render(overlay)
    fields = {f"CONSOLE_{field}".upper() for field in Settings.model_fields}
    configured = {
        name
        for name in set(_config(resources, "console")) | configured_variables_of(resources, "console")
        if name.startswith("CONSOLE_")
    }
    assert configured - fields == set(), f"backoffice_console has no setting for {sorted(configured - fields)}"
    assert set(_config(resources, "console")) - fields == {"PG_HOST", "PG_DATABASE", "FORWARDED_ALLOW_IPS"}
    # The rendered ConfigMap plus the Secrets' values make settings the console starts with.
    env = dict(_config(resources, "console"))
    env |= {
        "CONSOLE_DATABASE_URL": "postgresql+asyncpg://console:pw@backoffice-pg-rw:5432/console",
        "CONSOLE_SESSION_ENCRYPTION_KEY": "a" * 43 + "=",
        "CONSOLE_OIDC_CLIENT_SECRET": "b" * 64,
    }
    settings = Settings(**{k.removeprefix("CONSOLE_").lower(): v for k, v in env.items() if k.startswith("CONSOLE_")})
    assert settings.environment == {"dev": "development", "prod": "production"}[overlay]
    assert settings.cookie_secure is True
    assert settings.database_url is not None
    for svc in SERVICES:
        url = getattr(settings, f"{svc}_url")
        assert url == f"http://backoffice-{svc}", url
        ports = {p["port"] for p in by_name(resources, "Service", f"backoffice-{svc}")["spec"]["ports"]}
        assert 80 in ports
    assert {f"{svc}_url" for svc in SERVICES} == {f for f in Settings.model_fields if f.endswith("_url")} - {
        "public_base_url",
        "oidc_discovery_url",
        "database_url",
    }


def configured_variables_of(resources: Any, component: str) -> set[str]:
    names: set[str] = set()
    for resource in resources:
        if resource.get("kind") in ("Deployment", "Job") and resource["metadata"]["name"].startswith(
            f"backoffice-{component}"
        ):
            for container in resource["spec"]["template"]["spec"]["containers"]:
                names |= set(env_of(container))
    return names


@per_overlay
def test_one_issuer_everywhere_and_the_jwks_the_services_read_is_keycloaks(overlay: str) -> None:
    resources = render(overlay)
    keycloak = _config(resources, "keycloak")
    console = _config(resources, "console")
    issuer = f"{keycloak['KC_HOSTNAME']}/realms/{REALM}"
    assert issuer.startswith("https://")
    assert console["CONSOLE_OIDC_ISSUER"] == issuer
    assert (
        console["CONSOLE_OIDC_DISCOVERY_URL"]
        == f"{IN_CLUSTER_KEYCLOAK}/realms/{REALM}/.well-known/openid-configuration"
    )
    assert keycloak["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"] == "true", "back-channel URLs must stay in the cluster"
    assert {p["port"] for p in by_name(resources, "Service", "backoffice-keycloak")["spec"]["ports"]} == {8080}
    assert keycloak["BACKOFFICE_CONSOLE_URL"] == console["CONSOLE_PUBLIC_BASE_URL"]
    for svc in SERVICES:
        data = _config(resources, svc)
        p = PREFIX[svc]
        assert data[f"{p}JWT_ALGORITHM"] == "RS256"
        assert data[f"{p}JWT_AUDIENCE"] == console.get("CONSOLE_OIDC_AUDIENCE", "backoffice")
        if overlay == "prod":
            assert data[f"{p}JWT_ISSUER"] == issuer
            assert data[f"{p}JWT_JWKS_URL"] == f"{issuer}/protocol/openid-connect/certs"
        else:
            assert data[f"{p}JWT_JWKS_URL"] == f"{IN_CLUSTER_KEYCLOAK}/realms/{REALM}/protocol/openid-connect/certs"
    listeners = {x["name"]: x["hostname"] for x in by_name(resources, "Gateway", "backoffice-web")["spec"]["listeners"]}
    assert listeners == {
        "console": urlsplit(console["CONSOLE_PUBLIC_BASE_URL"]).hostname,
        "idp": urlsplit(keycloak["KC_HOSTNAME"]).hostname,
    }


@per_overlay
def test_the_console_and_keycloak_have_their_own_database_and_login_role(overlay: str) -> None:
    resources = render(overlay)
    roles = {role["name"]: role for role in by_name(resources, "Cluster", "backoffice-pg")["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d for d in of_kind(resources, "Database")}
    for name in WEB_COMPONENTS:
        assert roles[name]["login"] is True
        assert roles[name]["passwordSecret"]["name"] == f"backoffice-{name}-db"
        assert databases[name]["spec"]["owner"] == name
    assert _config(resources, "console")["PG_DATABASE"] == "console"
    assert _config(resources, "console")["PG_HOST"] == "backoffice-pg-rw"
    assert _config(resources, "keycloak")["KC_DB_URL_DATABASE"] == "keycloak"
    assert _config(resources, "keycloak")["KC_DB_URL_HOST"] == "backoffice-pg-rw"


# ----------------------------------------------------------------------------- the realm


def _imported_realm(resources: Any) -> dict[str, Any]:
    realm_maps = [
        c for c in of_kind(resources, "ConfigMap") if c["metadata"]["name"].startswith("backoffice-keycloak-realm")
    ]
    assert len(realm_maps) == 1
    realm: dict[str, Any] = json.loads(realm_maps[0]["data"]["backoffice-realm.json"])
    return realm


def test_prod_imports_the_realm_without_sample_users_and_dev_with_them() -> None:
    source = json.loads((REPO / "deploy" / "keycloak" / "backoffice-realm.json").read_text("utf-8"))
    prod = _imported_realm(render("prod"))
    dev = _imported_realm(render("dev"))
    assert "users" not in prod
    assert "credentials" not in json.dumps(prod)
    assert prod["sslRequired"] == "external"
    assert prod["bruteForceProtected"] is True
    assert {k: v for k, v in prod.items() if k not in ("sslRequired", "bruteForceProtected")} == {
        k: v for k, v in source.items() if k not in ("users", "sslRequired", "bruteForceProtected")
    }
    assert dev == source
    assert {u["username"] for u in dev["users"]} >= {"rita", "max", "paul", "ada"}
    console_client = next(c for c in prod["clients"] if c["clientId"] == "backoffice-console")
    assert console_client["secret"] == "${BACKOFFICE_CONSOLE_CLIENT_SECRET}"
    assert console_client["redirectUris"] == ["${BACKOFFICE_CONSOLE_URL}/auth/callback"]


def test_the_realm_copies_under_k8s_are_what_the_script_writes() -> None:
    script = _realms_script()
    for path, text in script.expected_files().items():
        assert Path(path).read_text("utf-8") == text, f"{path} is stale: run python deploy/keycloak/k8s_realms.py"
    broken = script.production_realm({"realm": REALM, "users": [{"username": "x"}], "sslRequired": "none"})
    assert "users" not in broken
    assert broken["sslRequired"] == "external"


# ----------------------------------------------------------------------------- the people's Gateway


def _routed(resources: Any, gateway: str, host: str, path: str) -> set[str]:
    """Backends a GET on ``host`` reaches through ``gateway`` (host-aware, unlike test_production's)."""
    backends: set[str] = set()
    for route in of_kind(resources, "HTTPRoute"):
        if gateway not in {p["name"] for p in route["spec"]["parentRefs"]} or host not in route["spec"]["hostnames"]:
            continue
        for rule in route["spec"]["rules"]:
            for match in rule.get("matches") or [{}]:
                kind, value = match["path"]["type"], match["path"]["value"]
                if (kind == "Exact" and path == value) or (
                    kind == "PathPrefix" and (path == value.rstrip("/") or path.startswith(value.rstrip("/") + "/"))
                ):
                    backends |= {b["name"] for b in rule.get("backendRefs") or []}
    return backends


def console_paths() -> set[str]:
    """Every path of the console app (one sample per route; path parameters filled in)."""
    from backoffice_console.main import create_app

    app = create_app()
    paths: set[str] = set()
    for route in app.routes:
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        for item in nested if nested is not None else [route]:
            path = getattr(item, "path", None)
            if path:
                paths.add(re.sub(r"\{[^}]+\}", "x", path))
    return paths


def web_gateway_problems(resources: list[Resource]) -> list[str]:
    problems: list[str] = []
    gateway = by_name(resources, "Gateway", "backoffice-web")
    hosts = {x["name"]: x["hostname"] for x in gateway["spec"]["listeners"]}
    pages = console_paths()
    assert len(pages) > 30
    for path in sorted(pages - {"/healthz", "/readyz", "/metrics"}):
        if _routed(resources, "backoffice-web", hosts["console"], path) != {"backoffice-console"}:
            problems.append(f"console page {path} is not routed to backoffice-console")
    for path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json"):
        if reached := _routed(resources, "backoffice-web", hosts["console"], path):
            problems.append(f"console host: {path} reaches {sorted(reached)}")
    for path in (
        f"/realms/{REALM}/.well-known/openid-configuration",
        f"/realms/{REALM}/protocol/openid-connect/auth",
        f"/realms/{REALM}/protocol/openid-connect/certs",
        "/resources/x/login/keycloak.v2/css/styles.css",
    ):
        if _routed(resources, "backoffice-web", hosts["idp"], path) != {"backoffice-keycloak"}:
            problems.append(f"idp host: {path} does not reach backoffice-keycloak")
    for path in ("/admin/master/console/", "/realms/master/protocol/openid-connect/token", "/metrics", "/health/ready"):
        if reached := _routed(resources, "backoffice-web", hosts["idp"], path):
            problems.append(f"idp host: {path} reaches {sorted(reached)}")
    for route in of_kind(resources, "HTTPRoute"):
        parents = {p["name"] for p in route["spec"]["parentRefs"]}
        backends = {b["name"] for rule in route["spec"]["rules"] for b in rule.get("backendRefs") or []}
        if backends & {"backoffice-console", "backoffice-keycloak"} and parents != {"backoffice-web"}:
            problems.append(f"{route['metadata']['name']}: the console or Keycloak on {sorted(parents)}")
    return problems


@per_overlay
def test_the_web_gateway_routes_every_console_page_and_the_realm_and_nothing_else(overlay: str) -> None:
    problems = web_gateway_problems(list(render(overlay)))
    assert problems == [], "\n".join(problems)


def test_the_web_gateway_check_catches_a_missing_page_and_an_exposed_admin_console() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    console = by_name(resources, "HTTPRoute", "backoffice-web-console")
    console["spec"]["rules"][0]["matches"] = [
        m for m in console["spec"]["rules"][0]["matches"] if m["path"]["value"] != "/checklists"
    ]
    idp = by_name(resources, "HTTPRoute", "backoffice-web-idp")
    idp["spec"]["rules"][0]["matches"].append({"path": {"type": "PathPrefix", "value": "/"}})
    problems = "\n".join(web_gateway_problems(resources))
    assert "console page /checklists/mine is not routed" in problems
    assert "idp host: /admin/master/console/ reaches ['backoffice-keycloak']" in problems
    assert "idp host: /health/ready reaches" in problems


# ----------------------------------------------------------------------------- network


def test_the_network_check_catches_opened_console_and_keycloak_policies() -> None:
    resources = [copy.deepcopy(r) for r in render("prod")]
    assert network_problems(resources, "prod") == []
    console = by_name(resources, "NetworkPolicy", "backoffice-console")
    console["spec"]["ingress"][0]["from"].append({"podSelector": {}})
    console["spec"]["egress"][0]["to"][0]["podSelector"]["matchExpressions"][0]["values"].remove("backoffice-budgets")
    console["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]})
    keycloak = by_name(resources, "NetworkPolicy", "backoffice-keycloak")
    keycloak["spec"]["ingress"][0]["from"].append({"namespaceSelector": {}})
    keycloak["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}], "ports": [{"port": 587}]})
    budgets = by_name(resources, "NetworkPolicy", "backoffice-budgets")
    budgets["spec"]["ingress"][0]["from"][2]["podSelector"] = {}
    problems = "\n".join(network_problems(resources, "prod"))
    assert "console: ingress from ['<any>', 'envoy-gateway-system', 'monitoring']" in problems
    assert "console: reaches the APIs of" in problems
    assert "console: egress to addresses (ipBlock)" in problems
    assert "keycloak: HTTP (8080) from ['<any>'," in problems
    assert "keycloak: egress to addresses (ipBlock)" in problems
    assert "budgets: ingress from namespaces ['<any>'" in problems


def test_dev_services_reach_keycloak_for_the_jwks_and_nothing_else_on_its_port() -> None:
    resources = [copy.deepcopy(r) for r in render("dev")]
    assert network_problems(resources, "dev") == []
    selected = by_name(resources, "NetworkPolicy", "backoffice-allow-keycloak")
    selected["spec"]["egress"][0]["to"][0]["podSelector"] = {"matchLabels": CONSOLE_POD}
    problems = "\n".join(network_problems(resources, "dev"))
    assert "requests: egress on 8080 to [{'app.kubernetes.io/name': 'backoffice-console'" in problems


# ----------------------------------------------------------------------------- images and Compose


def test_the_keycloak_image_is_built_for_start_optimized_and_passes_hadolint() -> None:
    code, findings = hadolint(KEYCLOAK_DOCKERFILE)
    assert findings == [], findings
    assert code == 0
    text = KEYCLOAK_DOCKERFILE.read_text("utf-8")
    for option in ("KC_DB=postgres", "KC_HEALTH_ENABLED=true", "KC_METRICS_ENABLED=true", "kc.sh build"):
        assert option in text, option
    assert re.search(r'^CMD \["start", "--optimized"', text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users
    assert users[-1] not in ("0", "root")


def test_compose_gives_the_console_a_session_database_migrated_before_it_starts() -> None:
    from backoffice_console.settings import Settings

    services = load_compose()["services"]
    fields = {f"CONSOLE_{field}".upper() for field in Settings.model_fields}
    migrate, console = services["console-migrate"], services["console"]
    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["build"] == console["build"]
    assert migrate["image"] == console["image"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert console["depends_on"]["console-migrate"]["condition"] == "service_completed_successfully"
    assert console["environment"]["CONSOLE_DATABASE_URL"].endswith("@postgres:5432/console")
    assert migrate["environment"]["CONSOLE_DATABASE_URL"] == console["environment"]["CONSOLE_DATABASE_URL"]
    for name in ("console", "console-migrate"):
        unknown = set(services[name]["environment"]) - fields
        assert unknown == set(), f"{name}: backoffice_console has no setting for {sorted(unknown)}"
    init = REPO / "deploy" / "compose" / "postgres-init"
    assert re.search(r"CREATE DATABASE console;", "".join(p.read_text("utf-8") for p in sorted(init.glob("*.sql"))))


def test_the_web_components_are_documented() -> None:
    doc = (REPO / "docs" / "deployment.md").read_text("utf-8")
    for fact in ("k8s/base/console", "k8s/base/keycloak", "backoffice-web", "deploy/keycloak/k8s_realms.py"):
        assert fact in doc, fact
