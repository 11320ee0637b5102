"""Documentation and shipped examples stay true to the code."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.config import load_config_and_catalog
from eagle3_monitor.rules import Catalog
from eagle3_monitor.rules.docs import categories_markdown
from eagle3_monitor.rules.selftest import check_rule_samples
from eagle3_monitor.vocabulary import Category

REPO = Path(__file__).resolve().parent.parent


def test_docs_categories_page_is_generated_from_the_catalog(catalog: Catalog) -> None:
    committed = (REPO / "docs" / "categories.md").read_text()

    assert committed == categories_markdown(catalog), (
        "run: eagle3-monitor rules docs -o docs/categories.md"
    )


def test_docs_categories_page_documents_every_category_with_an_example(catalog: Catalog) -> None:
    page = categories_markdown(catalog)

    for category in Category:
        section = page.split(f"## `{category}`", 1)[1].split("\n## ", 1)[0]
        assert "e.g. `" in section or "Example: `" in section, category


def test_example_config_validates_and_its_rules_pass_their_samples() -> None:
    loaded, catalog = load_config_and_catalog(REPO / "config" / "eagle3-monitor.example.yaml")

    assert loaded.config.review.acceptance_threshold == 2.1
    assert "site-lustre-eviction" in catalog.by_id
    assert "command-not-found" not in catalog.by_id
    assert check_rule_samples(catalog) == []
