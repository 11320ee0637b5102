"""Renderers of a RunReview: text for terminals, Markdown triage reports, JSON for machines."""

from eagle3_monitor.report.json_report import REVIEW_SCHEMA, review_to_json
from eagle3_monitor.report.markdown import review_to_markdown
from eagle3_monitor.report.text import review_to_text

__all__ = ["REVIEW_SCHEMA", "review_to_json", "review_to_markdown", "review_to_text"]
