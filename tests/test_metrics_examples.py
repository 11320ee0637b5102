"""The shipped Prometheus/Grafana examples stay true to the daemon's metrics: the alerting
rules pass `promtool check rules` and their own `promtool test rules`, and every metric the
dashboard and the rules query is one the daemon exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from eagle3_monitor.service.metrics import Metrics, StoreFigures, metric_names

REPO = Path(__file__).resolve().parents[1]
DASHBOARD = REPO / "examples" / "grafana" / "eagle3-monitor.json"
RULES = REPO / "examples" / "prometheus" / "eagle3-monitor-rules.yml"
RULE_TESTS = REPO / "examples" / "prometheus" / "eagle3-monitor-rules.test.yml"
METRIC = re.compile(r"\beagle3_monitor_[a-z0-9_]+")
PROMTOOL = shutil.which("promtool")
NO_PROMTOOL = "promtool not found: install Debian's `prometheus` package (scripts/ensure-promtool)"


def exported_names() -> set[str]:
    """Every sample name the daemon's registry exports, histograms' series included."""
    metrics = Metrics()
    metrics.slurm_call("sacct", 0.1, ok=True)
    metrics.accepted("final", 1.0)
    metrics.reviewed(0.5, 100)
    metrics.store.figures = StoreFigures(  # as read from a store holding one run
        runs=Counter({("pass", "none"): 1}),
        tasks=Counter({("pass", "none"): 4}),
        jobs=Counter({"COMPLETED": 4}),
    )
    return set(metric_names(metrics.registry))


def dashboard_queries(node: Any) -> Iterator[str]:
    """Every `expr` of the dashboard's panels and every templating query, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("expr", "definition") and isinstance(value, str):
                yield value
            elif key == "query" and isinstance(value, str | dict):
                yield value if isinstance(value, str) else str(value.get("query", ""))
            else:
                yield from dashboard_queries(value)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_queries(item)


def test_every_dashboard_query_asks_only_for_metrics_the_daemon_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = list(dashboard_queries(dashboard))
    exported = exported_names()

    assert len(queries) >= 20
    for query in queries:
        names = set(METRIC.findall(query))
        assert names, f"a query that asks for no eagle3-monitor metric: {query}"
        assert names <= exported, (query, names - exported)


def test_the_dashboard_is_importable_with_a_prometheus_datasource_input() -> None:
    dashboard = json.loads(DASHBOARD.read_text())

    [source] = dashboard["__inputs"]
    assert (source["type"], source["pluginId"]) == ("datasource", "prometheus")
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    for panel in panels:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]


def test_the_alerting_rules_ask_only_for_metrics_the_daemon_exports() -> None:
    rules = yaml.safe_load(RULES.read_text())["groups"][0]["rules"]

    assert [rule["alert"] for rule in rules] == [
        "Eagle3MonitorNotPolling",
        "Eagle3MonitorOutboxStuck",
    ]
    for rule in rules:
        assert set(METRIC.findall(rule["expr"])) <= exported_names(), rule["expr"]


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_promtool_accepts_the_example_alerting_rules() -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rules found" in done.stdout + done.stderr


@pytest.mark.skipif(PROMTOOL is None, reason=NO_PROMTOOL)
def test_the_alerts_fire_when_polls_stop_or_messages_wait_and_not_before() -> None:
    assert PROMTOOL is not None
    done = subprocess.run([PROMTOOL, "test", "rules", RULE_TESTS.name], capture_output=True,
                          text=True, timeout=60, check=False, cwd=RULE_TESTS.parent)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
