"""`eagle3-monitor rules test`: every rule against its own sample lines."""

from __future__ import annotations

from dataclasses import dataclass

from eagle3_monitor.rules.catalog import Catalog, CompiledRule
from eagle3_monitor.rules.model import RuleKind


@dataclass(frozen=True)
class SampleFailure:
    rule_id: str
    line: str
    problem: str


def check_rule_samples(catalog: Catalog) -> list[SampleFailure]:
    """Every `match` sample must match its rule (alone and in the one-pass scan form); no
    `no_match` sample may; and a sample of a non-benign rule must not be hidden as benign."""
    failures: list[SampleFailure] = []
    for compiled in catalog.rules:
        failures.extend(_check_one(catalog, compiled))
    return failures


def _check_one(catalog: Catalog, compiled: CompiledRule) -> list[SampleFailure]:
    failures = []
    scanned = compiled in catalog.scan_rules
    index = catalog.scan_rules.index(compiled) if scanned else -1
    samples = compiled.rule.samples
    for line in samples.match:
        data = line.encode()
        if compiled.pattern.search(data) is None:
            failures.append(SampleFailure(compiled.id, line, "does not match"))
        elif scanned and index not in catalog.engine.present(data + b"\n"):
            failures.append(SampleFailure(compiled.id, line, "is not found by the scan engine"))
        elif compiled.rule.kind is not RuleKind.BENIGN and catalog.is_benign(data):
            failures.append(SampleFailure(compiled.id, line, "is hidden by a benign rule"))
    for line in samples.no_match:
        if compiled.pattern.search(line.encode()) is not None:
            failures.append(SampleFailure(compiled.id, line, "matches but must not"))
    return failures
