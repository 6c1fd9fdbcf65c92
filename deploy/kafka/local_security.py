"""The secured local Kafka cluster: TLS, SCRAM-SHA-512 users and ACLs, as in Kubernetes.

Used by deploy/infra.sh when ``BACKOFFICE_KAFKA_SECURITY=scram`` (the default of the 3-broker mode,
so the chaos run goes through the same client path as production: SASL_SSL, one identity per
service, each allowed only what k8s/base/kafka/users.yaml grants it).

    local_security.py tls                 CA + broker certificate (PEM) in $BACKOFFICE_KAFKA_TLS_DIR
    local_security.py password NAME       a user's password (created on first use, mode 600)
    local_security.py provision           SCRAM users and ACLs from users.yaml (idempotent)

Python clients of the tools (wait_kafka.py, the chaos harness) connect as the super user ``admin``
with ``admin_options()``.

The one local difference from Kubernetes: there is no topic operator, so each service may also
create the topics it may describe (``Create`` on the same literal names); with the prefix of a test
run (``BACKOFFICE_TOPIC_PREFIX``) every topic and group name gets that prefix.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
USERS_YAML = ROOT / "k8s" / "base" / "kafka" / "users.yaml"
ADMIN = "admin"


def enabled(env: Mapping[str, str] | None = None) -> bool:
    return (env or os.environ).get("BACKOFFICE_KAFKA_SECURITY", "none") == "scram"


def _dir(var: str, env: Mapping[str, str] | None = None) -> Path:
    value = (env or os.environ).get(var)
    if not value:
        raise SystemExit(f"local_security: {var} is not set (source deploy/env.sh)")
    return Path(value)


def tls_dir(env: Mapping[str, str] | None = None) -> Path:
    return _dir("BACKOFFICE_KAFKA_TLS_DIR", env)


def secrets_dir(env: Mapping[str, str] | None = None) -> Path:
    return _dir("BACKOFFICE_KAFKA_SECRETS_DIR", env)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def password(name: str, env: Mapping[str, str] | None = None) -> str:
    path = secrets_dir(env) / f"{name}.password"
    if not path.exists():
        _write_private(path, secrets.token_urlsafe(24).encode())
    return path.read_text().strip()


def make_tls() -> None:
    """A CA and a broker certificate for 127.0.0.1/localhost, valid 90 days; kept if present."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    out = tls_dir()
    if (out / "ca.pem").exists() and (out / "broker.pem").exists():
        return
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backoffice local Kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_private(out / "broker.pem", key_pem + cert.public_bytes(pem) + ca.public_bytes(pem))
    _write_private(out / "ca.pem", ca.public_bytes(pem))


def client_options(user: str = ADMIN, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """aiokafka client arguments: SASL_SSL as ``user`` (the tools: ``admin``); nothing when security is off."""
    if not enabled(env):
        return {}
    from aiokafka.helpers import create_ssl_context

    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password(user, env),
        "ssl_context": create_ssl_context(cafile=str(tls_dir(env) / "ca.pem")),
    }


def admin_options(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    return client_options(ADMIN, env)


def _snake(operation: str) -> str:
    """Strimzi's operation names (``DescribeConfigs``) as Kafka's enum (``DESCRIBE_CONFIGS``)."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(operation))


def spec_lines(prefix: str) -> list[str]:
    """The users and ACL bindings of users.yaml, names prefixed, plus the local ``Create`` rights."""
    import yaml

    lines: list[str] = []
    for doc in yaml.safe_load_all(USERS_YAML.read_text()):
        if not doc or doc.get("kind") != "KafkaUser":
            continue
        user = doc["metadata"]["name"]
        lines.append(f"user\t{user}\t{password(user)}")
        for acl in doc["spec"]["authorization"]["acls"]:
            resource = acl["resource"]
            name = prefix + resource["name"] if resource["type"] in ("topic", "group") else resource["name"]
            pattern = resource.get("patternType", "literal")
            operations = list(acl["operations"])
            if resource["type"] == "topic" and "Create" not in operations:
                operations.append("Create")
            for operation in operations:
                kind, how, what = resource["type"].upper(), pattern.upper(), _snake(operation).upper()
                lines.append(f"acl\t{user}\t{kind}\t{name}\t{how}\t{what}")
    return lines


def provision() -> None:
    libs = _dir("BACKOFFICE_KAFKA_LIBS")
    work = secrets_dir()
    spec = work / "spec.tsv"
    content = ("\n".join(spec_lines(os.environ.get("BACKOFFICE_TOPIC_PREFIX", ""))) + "\n").encode()
    # The users and ACLs live in the cluster's metadata log: a broker restarted later finds them there.
    if spec.exists() and spec.read_bytes() == content and (work / "provisioned").exists():
        print("kafka security: users and ACLs already in place")
        return
    (work / "provisioned").unlink(missing_ok=True)
    _write_private(spec, content)
    props = work / "admin.properties"
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{ADMIN}" password="{password(ADMIN)}";'
    )
    _write_private(
        props,
        "\n".join(
            [
                f"bootstrap.servers={os.environ['BACKOFFICE_KAFKA_BOOTSTRAP']}",
                "security.protocol=SASL_SSL",
                "sasl.mechanism=SCRAM-SHA-512",
                f"sasl.jaas.config={jaas}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={tls_dir() / 'ca.pem'}",
                "",
            ]
        ).encode(),
    )
    result = subprocess.run(
        ["java", "-cp", f"{libs}/*", str(Path(__file__).with_name("LocalSecurity.java")), str(props), str(spec)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"local_security: provisioning failed (exit {result.returncode})")
    (work / "provisioned").touch()
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "kafka security: provisioned")


def main(argv: list[str]) -> int:
    if argv[:1] == ["tls"]:
        make_tls()
    elif argv[:1] == ["password"] and len(argv) == 2:
        print(password(argv[1]))
    elif argv[:1] == ["provision"]:
        provision()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
