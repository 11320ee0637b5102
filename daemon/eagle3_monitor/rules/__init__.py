"""The rule catalog: what log lines mean. Start at catalog.yaml to add a rule."""

from eagle3_monitor.rules.catalog import Catalog, CompiledRule, load_catalog
from eagle3_monitor.rules.model import Rule, RuleKind

__all__ = ["Catalog", "CompiledRule", "Rule", "RuleKind", "load_catalog"]
