"""The insights service, Prometheus and Grafana in the Compose file, and the provisioned dashboard.

Static like the other checks: each rule is also run against a broken copy and must fail.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import yaml
from deploy_testkit import COMPOSE_FILE, load_compose

from backoffice_insights.settings import Settings

DEPLOY = COMPOSE_FILE.parent
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "insights.json"
INSIGHTS_METRICS = {
    "backoffice_insights_stage_duration_seconds_bucket",
    "backoffice_insights_stage_duration_seconds_sum",
    "backoffice_insights_open_tasks",
    "backoffice_insights_open_requests",
    "backoffice_insights_spend_total",
}
COMMON_METRICS = {"backoffice_events_consumed_total", "backoffice_consumer_lag"}
APP_SERVICES = ("requests", "approvals", "notifications", "contracts", "insights")


def dashboard_problems(dashboard: dict[str, Any], datasource_uids: set[str]) -> list[str]:
    problems = []
    ids = [p.get("id") for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("panel ids repeat")
    for panel in dashboard["panels"]:
        title = panel.get("title", "?")
        if panel.get("datasource", {}).get("uid") not in datasource_uids:
            problems.append(f"{title}: no provisioned data source")
        if not panel.get("targets"):
            problems.append(f"{title}: no query")
        for target in panel.get("targets", []):
            names = set(re.findall(r"\b(backoffice_[a-z_]+)\b", target.get("expr", "")))
            if not names:
                problems.append(f"{title}: a query reads no backoffice metric")
            unknown = names - INSIGHTS_METRICS - COMMON_METRICS
            if unknown:
                problems.append(f"{title}: unknown metrics {sorted(unknown)}")
    return problems


def provisioned_uids() -> set[str]:
    path = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    return {d["uid"] for d in yaml.safe_load(path.read_text("utf-8"))["datasources"]}


def test_the_dashboard_reads_only_metrics_the_services_expose_from_the_provisioned_source() -> None:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    assert dashboard["uid"] == "backoffice-insights"
    assert dashboard_problems(dashboard, provisioned_uids()) == []
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for needed in ("stage", "cycle", "open approval tasks", "spend"):
        assert needed in titles


def test_the_dashboard_check_rejects_a_broken_copy() -> None:
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    broken = copy.deepcopy(dashboard)
    broken["panels"][0]["targets"][0]["expr"] = "sum(backoffice_insights_no_such_metric)"
    broken["panels"][1]["datasource"]["uid"] = "elsewhere"
    problems = dashboard_problems(broken, provisioned_uids())
    assert any("unknown metrics" in p for p in problems)
    assert any("no provisioned data source" in p for p in problems)


def test_the_insights_metric_names_are_the_ones_the_service_declares() -> None:
    source = (Path(__file__).resolve().parents[2] / "services/insights/src/backoffice_insights/metrics.py").read_text()
    for name in INSIGHTS_METRICS:
        base = re.sub(r"_(bucket|sum|total)$", "", name)
        assert f'"{base}"' in source, name


def test_compose_runs_insights_like_the_other_services_and_grafana_with_prometheus() -> None:
    services = load_compose()["services"]
    insights, migrate = services["insights"], services["insights-migrate"]
    assert migrate["command"] == ["migrate"]
    assert insights["build"] == migrate["build"]
    assert insights["build"]["target"] == "insights"
    assert insights["depends_on"]["insights-migrate"]["condition"] == "service_completed_successfully"
    assert insights["environment"]["INSIGHTS_DATABASE_URL"].endswith("@postgres:5432/insights")
    assert insights["read_only"] is True
    assert insights["cap_drop"] == ["ALL"]
    settings = {f"INSIGHTS_{f}".upper() for f in Settings.model_fields}
    assert set(insights["environment"]) - settings == set()
    assert set(migrate["environment"]) - settings == set()
    init_sql = (DEPLOY / "compose" / "postgres-init" / "10-create-databases.sql").read_text("utf-8")
    assert "CREATE DATABASE insights;" in init_sql

    grafana, prometheus = services["grafana"], services["prometheus"]
    mounts = {v.split(":")[1]: DEPLOY / v.split(":")[0] for v in grafana["volumes"] if v.startswith("./")}
    assert mounts["/etc/grafana/provisioning"].joinpath("datasources", "prometheus.yml").is_file()
    provider = yaml.safe_load(mounts["/etc/grafana/provisioning"].joinpath("dashboards", "backoffice.yml").read_text())
    dashboards_path = provider["providers"][0]["options"]["path"]
    assert mounts[dashboards_path].joinpath("insights.json").is_file()
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    assert all(p.startswith("127.0.0.1:") for p in grafana["ports"] + prometheus["ports"])

    config_mount = next(v for v in prometheus["volumes"] if v.endswith("/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((DEPLOY / config_mount.split(":")[0]).read_text("utf-8"))
    targets = {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}
    assert targets == {f"{svc}:8000" for svc in APP_SERVICES}
    assert set(APP_SERVICES) <= set(services)
