"""Keycloak and the console started as the prod overlay configures them, on this machine.

No cluster and no Docker here, so the pods' processes are run directly: Keycloak's distribution
(the version of the overlay's image, from Maven Central like ``deploy/infra.sh``) built with the
build options of ``deploy/keycloak/Dockerfile``, started with the Deployment's arguments, the
rendered ConfigMap and the realm ConfigMap's file, as an unprivileged user that cannot write the
distribution (the pod's read-only root; only ``data/`` and ``/tmp`` are writable, as the
emptyDirs); then the console with the Deployment's command and its ConfigMap, after the migration
Job's command. Only addresses change (loopback ports, the test profile's PostgreSQL, a database of
its own). Needs the test profile's PostgreSQL (``make infra-up``) and a Java 21+ (as ``make run``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_testkit import REPO, Resource, by_name, env_of, render, web_deployments

STATE = REPO / ".state" / "k8s-keycloak"
DOCKERFILE = REPO / "deploy" / "keycloak" / "Dockerfile"
SECRET = "k8s-runtime-check-console-client-secret-0123456789"
ADMIN = ("bootstrap-admin", "k8s-runtime-check-admin-password")
NOBODY = 65534


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _java_home() -> str:
    for candidate in (
        os.environ.get("BACKOFFICE_KEYCLOAK_JAVA_HOME", ""),
        "/usr/lib/jvm/temurin-25-jdk-amd64",
        "/usr/lib/jvm/temurin-21-jdk-amd64",
        "/usr/lib/jvm/java-25-openjdk-amd64",
        "/usr/lib/jvm/java-21-openjdk-amd64",
    ):
        if candidate and Path(candidate, "bin", "java").exists():
            return candidate
    raise RuntimeError("Keycloak needs Java 21+: set BACKOFFICE_KEYCLOAK_JAVA_HOME (deploy/infra.sh finds the same)")


def _build_options() -> dict[str, str]:
    """The ``ENV KC_*`` build options of the Dockerfile's builder stage."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    builder = text.split(" AS builder", 1)[1].split("\nFROM ", 1)[0]
    options = dict(re.findall(r"(KC_[A-Z_]+)=(\S+)", builder))
    assert options.get("KC_DB") == "postgres", options
    return options


def _distribution(version: str) -> Path:
    """Keycloak ``version`` unpacked and built with the Dockerfile's options (cached in .state)."""
    options = _build_options()
    built = STATE / f"keycloak-{version}"
    marker = json.dumps(options, sort_keys=True)
    if (built / ".built").exists() and (built / ".built").read_text() == marker:
        return built
    repository = Path(os.environ.get("BACKOFFICE_M2_REPO", Path.home() / ".m2" / "repository"))
    archive = repository / f"org/keycloak/keycloak-quarkus-dist/{version}/keycloak-quarkus-dist-{version}.zip"
    if not archive.exists():
        subprocess.run(
            ["mvn", "-q", "-B", "dependency:get", f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{version}:zip"],
            check=True,
            timeout=600,
        )
    shutil.rmtree(built, ignore_errors=True)
    STATE.mkdir(parents=True, exist_ok=True)
    subprocess.run(["unzip", "-q", "-o", str(archive), "-d", str(STATE)], check=True, timeout=300)
    env = {**os.environ, **options, "JAVA_HOME": _java_home()}
    subprocess.run([str(built / "bin" / "kc.sh"), "build"], env=env, check=True, timeout=1200, capture_output=True)
    (built / ".built").write_text(marker)
    return built


def _psql(sql: str) -> None:
    port = os.environ.get("BACKOFFICE_PG_PORT")
    if not port:
        raise RuntimeError("run with the test profile (make test-only ...; make infra-up starts its PostgreSQL)")
    subprocess.run(
        ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", port, "-U", "backoffice", "-d", "postgres", "-c", sql],
        check=True,
        timeout=60,
        capture_output=True,
    )


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    response = httpx.get(url, headers=headers or {}, timeout=timeout)
    body = response.content
    return response.status_code, json.loads(body) if body[:1] in (b"{", b"[") else body


def _wait(url: str, process: subprocess.Popen[bytes], log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"the process exited ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            if _get(url, timeout=3)[0] == 200:
                return
        except httpx.HTTPError:
            time.sleep(1)
    raise AssertionError(f"{url} not up after {seconds} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _secret_values(container: Resource) -> dict[str, str]:
    """The container's environment with the Secrets' values this check makes up."""
    made_up = {
        ("backoffice-keycloak-db", "username"): "backoffice",
        ("backoffice-keycloak-db", "password"): "unused-with-trust",
        ("backoffice-console-db", "username"): "backoffice",
        ("backoffice-console-db", "password"): "unused-with-trust",
        ("backoffice-keycloak-admin", "username"): ADMIN[0],
        ("backoffice-keycloak-admin", "password"): ADMIN[1],
        ("backoffice-console", "oidc-client-secret"): SECRET,
        ("backoffice-console", "session-encryption-key"): "kVrP3oWnS2yD4Qm6cB7xT9uZ1aE5fH8jL0gN2pR4sU8=",
    }
    env: dict[str, str] = {}
    for name, entry in env_of(container).items():
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        field = (entry.get("valueFrom") or {}).get("fieldRef")
        if ref and ref.get("optional") and (ref["name"], ref["key"]) not in made_up:
            continue  # an optional key the Secret does not have: unset in the pod too (no rotation under way)
        if ref:
            env[name] = made_up[ref["name"], ref["key"]]
        elif field:
            env[name] = "127.0.0.1"
        elif "value" in entry:
            env[name] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), entry["value"])
    return env


@pytest.fixture(scope="module")
def keycloak() -> Iterator[dict[str, Any]]:
    resources = render("prod")
    deployment = web_deployments(resources)["keycloak"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    version = container["image"].rsplit(":", 1)[1]
    dist = _distribution(version)
    database = f"keycloak_k8s_{uuid.uuid4().hex[:8]}"
    work = STATE / f"pod-{database}"
    (work / "data" / "import").mkdir(parents=True)
    (work / "tmp").mkdir()
    realm = next(c for c in resources if c["metadata"]["name"].startswith("backoffice-keycloak-realm"))
    (work / "data" / "import" / "backoffice-realm.json").write_text(realm["data"]["backoffice-realm.json"])
    # The pod's filesystem: the distribution read-only, data/ (an emptyDir with the realm inside) writable.
    data_link = dist / "data"
    if data_link.is_symlink() or data_link.exists():
        data_link.unlink() if data_link.is_symlink() else shutil.rmtree(data_link)
    data_link.symlink_to(work / "data")
    http, management, jgroups = _free_port(), _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "JAVA_OPTS"))}
    env |= by_name(resources, "ConfigMap", "backoffice-keycloak-config")["data"]
    env |= _secret_values(container)
    env |= {
        "KC_DB_URL_HOST": "127.0.0.1",
        "KC_DB_URL_PORT": os.environ["BACKOFFICE_PG_PORT"],
        "KC_DB_URL_DATABASE": database,
        "KC_HTTP_PORT": str(http),
        "KC_HTTP_MANAGEMENT_PORT": str(management),
        "JAVA_OPTS_KC_HEAP": "-Xms256m -Xmx768m",  # the pod's is a share of its memory limit
        "JAVA_OPTS_APPEND": env["JAVA_OPTS_APPEND"] + f" -Djgroups.bind.port={jgroups} -Djava.io.tmpdir={work / 'tmp'}",
        "JAVA_HOME": _java_home(),
    }
    command = [str(dist / "bin" / "kc.sh"), *container["args"]]
    if os.geteuid() == 0:  # root writes anywhere: run as nobody, who owns only data/ and tmp/
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(work)], check=True)
        command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *command]
    else:  # the distribution is ours: take the write permission away while it runs
        subprocess.run(["chmod", "-R", "a-w", str(dist)], check=True)
    log = work / "keycloak.log"
    probes = {kind: container[f"{kind}Probe"]["httpGet"]["path"] for kind in ("startup", "liveness", "readiness")}
    _psql(f'CREATE DATABASE "{database}"')
    process: subprocess.Popen[bytes] | None = None
    try:
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        _wait(f"http://127.0.0.1:{management}{probes['startup']}", process, log, 600)
        yield {
            "resources": resources,
            "http": f"http://127.0.0.1:{http}",
            "management": f"http://127.0.0.1:{management}",
            "probes": probes,
            "started_in": time.monotonic() - started,
            "work": work,
        }
    finally:
        if process is not None:
            _stop(process)
        if os.geteuid() != 0:
            subprocess.run(["chmod", "-R", "u+w", str(dist)], check=True)
        data_link.unlink()
        shutil.rmtree(work, ignore_errors=True)
        _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_keycloak_starts_optimized_read_only_and_serves_the_issuer_with_back_channel_urls(
    keycloak: dict[str, Any],
) -> None:
    for path in keycloak["probes"].values():
        assert _get(keycloak["management"] + path)[0] == 200, path
    console = by_name(keycloak["resources"], "ConfigMap", "backoffice-console-config")["data"]
    issuer = console["CONSOLE_OIDC_ISSUER"]
    # The console's discovery URL, with the in-cluster host replaced by this process's address.
    discovery = console["CONSOLE_OIDC_DISCOVERY_URL"].replace("http://backoffice-keycloak:8080", keycloak["http"])
    _, metadata = _get(discovery)
    assert metadata["issuer"] == issuer
    assert metadata["authorization_endpoint"] == f"{issuer}/protocol/openid-connect/auth"
    assert metadata["token_endpoint"] == f"{keycloak['http']}/realms/backoffice/protocol/openid-connect/token"
    assert metadata["jwks_uri"].startswith(keycloak["http"])
    _, jwks = _get(metadata["jwks_uri"])
    assert "RS256" in {key["alg"] for key in jwks["keys"]}
    # The prod services' JWKS URL is the same path on the issuer's public name.
    service = by_name(keycloak["resources"], "ConfigMap", "backoffice-requests-config")["data"]
    assert (
        urllib.parse.urlsplit(service["REQUESTS_JWT_JWKS_URL"]).path == urllib.parse.urlsplit(metadata["jwks_uri"]).path
    )
    _, metrics = _get(keycloak["management"] + "/metrics")
    assert b"jvm_" in metrics
    print(f"keycloak started in {keycloak['started_in']:.0f} s")


def test_the_imported_realm_has_no_users_and_the_console_client_secret_from_the_secret(
    keycloak: dict[str, Any],
) -> None:
    form = {"grant_type": "password", "client_id": "admin-cli", "username": ADMIN[0], "password": ADMIN[1]}
    answer = httpx.post(f"{keycloak['http']}/realms/master/protocol/openid-connect/token", data=form, timeout=30)
    token = answer.raise_for_status().json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    admin = f"{keycloak['http']}/admin/realms/backoffice"
    _, count = _get(f"{admin}/users/count", auth)
    assert int(count) == 0
    _, realm = _get(admin, auth)
    assert (realm["sslRequired"], realm["bruteForceProtected"]) == ("external", True)
    _, clients = _get(f"{admin}/clients?clientId=backoffice-console", auth)
    console = by_name(keycloak["resources"], "ConfigMap", "backoffice-console-config")["data"]
    assert clients[0]["secret"] == SECRET
    assert clients[0]["redirectUris"] == [f"{console['CONSOLE_PUBLIC_BASE_URL']}/auth/callback"]
    written = {p.relative_to(keycloak["work"]).parts[0] for p in keycloak["work"].rglob("*")}
    assert written <= {"data", "tmp", "keycloak.log"}


def test_the_console_migrates_and_starts_with_its_deployment_command_against_keycloak(
    keycloak: dict[str, Any],
) -> None:
    resources = keycloak["resources"]
    deployment = web_deployments(resources)["console"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    job = by_name(resources, "Job", "backoffice-console-migrate")["spec"]["template"]["spec"]["containers"][0]
    pg_port = os.environ["BACKOFFICE_PG_PORT"]
    database = f"console_k8s_{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_")}
    env |= by_name(resources, "ConfigMap", "backoffice-console-config")["data"]
    env |= _secret_values(container)
    env |= {
        "CONSOLE_DATABASE_URL": f"postgresql+asyncpg://backoffice@127.0.0.1:{pg_port}/{database}",
        "CONSOLE_OIDC_DISCOVERY_URL": env["CONSOLE_OIDC_DISCOVERY_URL"].replace(
            "http://backoffice-keycloak:8080", keycloak["http"]
        ),
    }
    log = keycloak["work"] / "console.log"
    _psql(f'CREATE DATABASE "{database}"')
    try:
        migrate = subprocess.run(
            [sys.executable, "-m", "backoffice_console", *job["args"]], env=env, capture_output=True, timeout=120
        )
        assert migrate.returncode == 0, migrate.stderr[-2000:]
        command = [sys.executable if c == "python" else c for c in container["command"]] + list(container["args"])
        command[command.index("--port") + 1] = str(port)
        command[command.index("--host") + 1] = "127.0.0.1"
        process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(base + container["livenessProbe"]["httpGet"]["path"], process, log, 120)
            status, ready = _get(base + container["readinessProbe"]["httpGet"]["path"])
            assert (status, ready["status"]) == (200, "ready")
            answer = httpx.get(f"{base}/auth/login?next=/inbox", timeout=10, follow_redirects=False)
            assert answer.status_code == 303
            location = urllib.parse.urlsplit(answer.headers["location"])
            query = urllib.parse.parse_qs(location.query)
            issuer = env["CONSOLE_OIDC_ISSUER"]
            assert f"{location.scheme}://{location.netloc}{location.path}" == f"{issuer}/protocol/openid-connect/auth"
            assert query["redirect_uri"] == [env["CONSOLE_PUBLIC_BASE_URL"] + "/auth/callback"]
            assert query["code_challenge_method"] == ["S256"]
            cookie = answer.headers["set-cookie"]
            assert "Secure" in cookie
            assert "HttpOnly" in cookie
            assert _get(base + "/readyz")[1]["sessions"] == 1, "the session is in the database"
        finally:
            stopping = time.monotonic()
            _stop(process)
            assert time.monotonic() - stopping < 20, "the drain bound (--timeout-graceful-shutdown 20) was not kept"
            assert b"Application shutdown complete" in log.read_bytes()
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
