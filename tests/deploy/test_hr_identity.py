"""The HR system's Kafka identity: it may publish on backoffice.hr and do nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
USERS = ROOT / "k8s" / "base" / "kafka" / "users.yaml"


def kafka_users() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(USERS.read_text()) if d and d.get("kind") == "KafkaUser"]
    return {d["metadata"]["name"]: d for d in docs}


def test_the_hr_system_may_only_write_the_hr_topic() -> None:
    hr = kafka_users()["backoffice-hr-kafka"]["spec"]
    assert hr["authentication"]["type"] == "scram-sha-512"
    granted = {
        (acl["resource"]["type"], acl["resource"]["name"], acl["resource"]["patternType"], op)
        for acl in hr["authorization"]["acls"]
        for op in acl["operations"]
    }
    assert granted == {
        ("topic", "backoffice.hr", "literal", "Write"),
        ("topic", "backoffice.hr", "literal", "Describe"),
    }


def test_only_checklists_reads_the_hr_topic_and_nobody_else_writes_it() -> None:
    readers, writers = set(), set()
    for name, user in kafka_users().items():
        for acl in user["spec"]["authorization"]["acls"]:
            if acl["resource"]["name"] == "backoffice.hr":
                readers |= {name} if "Read" in acl["operations"] else set()
                writers |= {name} if "Write" in acl["operations"] else set()
    assert (readers, writers) == ({"backoffice-checklists-kafka"}, {"backoffice-hr-kafka"})


def test_the_local_secured_cluster_provisions_the_hr_identity_with_the_run_prefix(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("local_security", ROOT / "deploy" / "kafka" / "local_security.py")
    assert spec is not None
    assert spec.loader is not None
    local_security = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(local_security)
    monkeypatch.setenv("BACKOFFICE_KAFKA_SECRETS_DIR", str(tmp_path))
    lines = [line.split("\t") for line in local_security.spec_lines("t1.")]
    hr = [line for line in lines if line[1] == "backoffice-hr-kafka"]
    assert hr[0][0] == "user"
    assert {tuple(line[2:]) for line in hr[1:]} == {
        ("TOPIC", "t1.backoffice.hr", "LITERAL", op) for op in ("WRITE", "DESCRIBE", "CREATE")
    }
