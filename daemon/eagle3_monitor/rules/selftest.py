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
    kind: str = "match"  # which list of the rule's samples: match or no_match
    index: int = 0  # the sample's place in that list


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
    for place, line in enumerate(samples.match):
        data = line.encode()
        problem = None
        if compiled.pattern.search(data) is None:
            problem = "does not match"
        elif scanned and index not in catalog.engine.present(data + b"\n"):
            problem = "is not found by the scan engine"
        elif compiled.rule.kind is not RuleKind.BENIGN and catalog.is_benign(data):
            problem = "is hidden by a benign rule"
        if problem is not None:
            failures.append(SampleFailure(compiled.id, line, problem, "match", place))
    for place, line in enumerate(samples.no_match):
        if compiled.pattern.search(line.encode()) is not None:
            failures.append(
                SampleFailure(compiled.id, line, "matches but must not", "no_match", place)
            )
    return failures
