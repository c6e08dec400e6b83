"""deploy/prometheus/alerts.yaml: every rule is complete, and names only metrics and
labels that allegro-feed (a live registry, every metric counted once) or Dramatiq's
Prometheus middleware export, so that a renamed metric cannot leave an alert that never
fires."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import dramatiq.middleware.prometheus as dramatiq_prometheus
import pytest
import yaml
from prometheus_client import REGISTRY

from workers import metrics

ALERTS = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yaml"
#: Dramatiq's metrics, all labelled by queue and actor.
DRAMATIQ_LABELS = {"queue_name", "actor_name"}
#: A metric name, and the label selector that may follow it.
SELECTOR = re.compile(r"\b((?:allegro_feed|dramatiq)_[a-z_]+)\b(\{[^}]*\})?")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


@pytest.fixture
def exported(counting: None) -> dict[str, set[str]]:
    """The metric names (samples as Prometheus shows them) with their label names."""
    metrics.count_status("PUBLISHED")
    metrics.count_call("GET", 200, 0.1)
    metrics.batch_backlog("default", 1, 0.5)
    metrics.count_batch_items("quantity", "succeeded", 1)
    metrics.count_budget_wait("client", 0.1, rescheduled=False)
    found: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name.startswith("allegro_feed_"):
                found.setdefault(sample.name, set()).update(sample.labels)
    source = inspect.getsource(dramatiq_prometheus)
    for name in re.findall(r'"(dramatiq_[a-z_]+)"', source):
        if not name.startswith("dramatiq_prom_"):  # its settings, not metrics
            found[name] = set(DRAMATIQ_LABELS)
    return found


def test_every_rule_says_what_fired_how_bad_and_what_to_do() -> None:
    rules = _rules()
    assert rules
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"page", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert len(rule["annotations"]["description"]) > 80, rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}")


def test_the_rules_name_only_exported_metrics_and_their_labels(
    exported: dict[str, set[str]],
) -> None:
    for rule in _rules():
        expr = rule["expr"]
        used = SELECTOR.findall(expr)
        assert used, f"{rule['alert']}: names no metric"
        labels_of_rule: set[str] = set()
        for name, selector in used:
            assert name in exported, f"{rule['alert']}: {name} is not exported"
            wanted = set(re.findall(r"(\w+)\s*[=!]~?", selector))
            assert wanted <= exported[name], f"{rule['alert']}: {name} has no {wanted}"
            labels_of_rule |= exported[name]
        for grouping in GROUPING.findall(expr):
            wanted = {label.strip() for label in grouping.split(",") if label.strip()}
            assert wanted <= labels_of_rule, f"{rule['alert']}: grouped by {wanted}"
        # A label a rule's text refers to is one its expression keeps.
        text = " ".join(rule["annotations"].values())
        for label in re.findall(r"\$labels\.(\w+)", text):
            assert any(label in group for group in GROUPING.findall(expr)), (
                f"{rule['alert']}: {label} is not kept by the expression"
            )
