"""The rule catalog: shipped rules, samples, overrides, and errors that name file:line:col."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import re2
import yaml

from eagle3_monitor.config import load_config_and_catalog
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.rules import Catalog, RuleKind
from eagle3_monitor.rules.catalog import re2_options, render_template, scan_form
from eagle3_monitor.rules.regex_tail import without_tail
from eagle3_monitor.rules.selftest import check_rule_samples
from eagle3_monitor.vocabulary import Category
from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parent.parent
ACCURACY_CASES = ROOT / "bench" / "accuracy" / "cases"
FAILURE_FIXTURES = ROOT / "tests" / "fixtures" / "failures"
COMPUTED_CATEGORIES = {
    Category.LOW_ACCEPTANCE,  # from the acceptance length against the threshold
    Category.DEPENDENCY_NEVER_SATISFIED,  # from the run: a task after a failure never ran
    Category.UNKNOWN,  # the fallback
}


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(text)
    return path


def test_catalog_every_rule_passes_its_samples(catalog: Catalog) -> None:
    assert check_rule_samples(catalog) == []


def test_catalog_has_rules_for_every_category_not_computed(catalog: Catalog) -> None:
    causes = (RuleKind.ERROR, RuleKind.TERMINATION)
    covered = {c.rule.category for c in catalog.rules if c.rule.kind in causes}

    assert set(Category) - COMPUTED_CATEGORIES - covered == set()


def test_catalog_every_error_rule_has_summary_and_fix(catalog: Catalog) -> None:
    for compiled in catalog.rules:
        if compiled.rule.kind in (RuleKind.ERROR, RuleKind.TERMINATION):
            assert compiled.rule.summary and compiled.rule.fix, compiled.id


def test_catalog_patterns_avoid_unicode_classes_that_slow_ripgrep(catalog: Catalog) -> None:
    for pattern in catalog.scan_patterns():
        assert not re.search(r"\\[wdsbWDSB]", pattern), pattern


def test_scan_form_lets_anchors_match_at_carriage_returns() -> None:
    assert scan_form("^job (?P<code>[0-9]+)$") == r"(?:^|\r)job (?:[0-9]+)(?:$|\r)"


@pytest.mark.parametrize(
    ("pattern", "cut"),
    [
        (r"NCCL WARN (?:[^\r\n]{1,160})", r"NCCL WARN (?:[^\r\n])"),
        (r"Error: [^\r\n]*", r"Error: "),
        (r"x(?:y|z+?)", r"x(?:y|z)"),
        (r"code [0-9]{2,5}|(?:fatal)?", r"code [0-9]{2}|(?:fatal)?"),  # not cut to nothing
        (r"(?:^|\r)job (?:[0-9]+)(?:$|\r)", r"(?:^|\r)job (?:[0-9]+)(?:$|\r)"),
        (r"(?i)oom[[:alpha:]\]]*", r"(?i)oom"),
    ],
)
def test_scan_patterns_drop_the_tail_that_only_lengthens_a_match(pattern: str, cut: str) -> None:
    assert without_tail(pattern) == cut


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _log_lines() -> list[bytes]:
    """Lines the rules were not written from: the held-out accuracy set's logs (public bug
    reports) and the failure fixtures."""
    documents = sorted(ACCURACY_CASES.glob("*.yaml")) + sorted(FAILURE_FIXTURES.glob("*.yaml"))
    texts = [text for path in documents for text in _strings(yaml.safe_load(path.read_text()))]
    lines = [line for text in texts for line in re.split(r"[\r\n]", text)]
    return [line.encode() for line in lines if line.strip()]


def test_cut_scan_patterns_find_exactly_the_lines_the_full_ones_do(catalog: Catalog) -> None:
    options = re2_options()
    samples = [
        line.encode()
        for compiled in catalog.rules
        for line in [*compiled.rule.samples.match, *compiled.rule.samples.no_match]
    ]
    lines = samples + _log_lines()
    assert len(lines) > 1000
    changed = 0
    for compiled in catalog.scan_rules:
        full = scan_form(compiled.rule.regex, cut_tail=False)
        cut = scan_form(compiled.rule.regex)
        changed += cut != full
        find_full = re2.compile(full.encode(), options).search
        find_cut = re2.compile(cut.encode(), options).search
        for line in lines:
            assert (find_full(line) is None) == (find_cut(line) is None), (compiled.id, line)
    assert changed >= 10  # the cut does happen


def test_render_template_drops_optional_parts_with_missing_groups() -> None:
    template = "CUDA out of memory[ on GPU {gpu}][ ({size})]"

    assert render_template(template, {"size": "2 GiB"}) == "CUDA out of memory (2 GiB)"
    assert render_template(template, {}) == "CUDA out of memory"


def test_config_rule_overrides_change_only_named_fields(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "review:\n  rules:\n    - {id: cuda-oom, priority: 12}\n    - {id: nccl-warn, enabled: false}\n",
    )

    _, catalog = load_config_and_catalog(config)

    assert catalog.by_id["cuda-oom"].rule.priority == 12
    assert catalog.by_id["cuda-oom"].rule.category is Category.GPU_OOM
    assert "nccl-warn" not in catalog.by_id


def test_config_rule_files_add_rules(tmp_path: Path) -> None:
    (tmp_path / "site-rules.yaml").write_text(
        "rules:\n"
        "  - id: site-lustre-eviction\n"
        "    category: disk_full\n"
        "    regex: 'LustreError: .* evicted'\n"
        "    summary: 'Lustre evicted the client'\n"
        "    fix: 'Re-run; tell the storage admins.'\n"
        "    samples: {match: ['LustreError: 11-0: client evicted'], no_match: ['Lustre ok']}\n"
    )
    config = write_config(tmp_path, "review:\n  rule_files: [site-rules.yaml]\n")

    _, catalog = load_config_and_catalog(config)

    assert catalog.by_id["site-lustre-eviction"].rule.category is Category.DISK_FULL


def test_config_invalid_regex_names_file_line_column_and_rule(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "review:\n  rules:\n    - id: broken\n      category: unknown\n"
        "      regex: 'oops (unclosed'\n      samples: {match: [x]}\n",
    )

    with pytest.raises(ConfigError) as raised:
        load_config_and_catalog(config)

    assert re.match(
        rf"^{re.escape(str(config))}:5:14: at 'review\.rules\[0\]\.regex' \(rule broken\): "
        r"invalid regex: missing \)",
        str(raised.value),
    )


def test_config_reports_every_problem_at_once_in_file_order(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "review:\n"
        "  acceptance_threshold: 0\n"
        "  rules:\n"
        "    - {id: a-rule, category: nope, regex: x, samples: {match: [x]}}\n"
        "    - {id: b-rule, kind: metric, regex: 'v (?P<x>[0-9])', samples: {match: [v 1]}}\n"
        "  colour: red\n",
    )

    with pytest.raises(ConfigError) as raised:
        load_config_and_catalog(config)

    lines = str(raised.value).splitlines()
    assert [line.split(": at ")[1].split("'")[1] for line in lines] == [
        "review.acceptance_threshold",
        "review.rules[0].category",
        "review.rules[1]",
        "review.colour",
    ]


def test_config_duplicate_ids_in_one_file_are_an_error(tmp_path: Path) -> None:
    rule = "{id: twice, category: unknown, regex: x, samples: {match: [x]}}"
    config = write_config(tmp_path, f"review:\n  rules:\n    - {rule}\n    - {rule}\n")

    with pytest.raises(ConfigError, match="duplicate rule id 'twice'"):
        load_config_and_catalog(config)


def test_rules_test_on_a_log_shows_each_rules_matches_and_the_judgement(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    log.write_text(
        "RANK 0 GPU count: 8\n"
        "{'loss': 2.41, 'grad_norm': 0.9, 'learning_rate': 1e-4, 'epoch': 0.1}\n"
        # pytorch/pytorch#113245-style OOM on one rank, then the others' watchdog timeouts
        "[rank3]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.95 GiB. GPU 3 "
        "has a total capacity of 79.11 GiB of which 1.02 GiB is free.\n"
        "[rank0]:[E ProcessGroupNCCL.cpp:577] [Rank 0] Watchdog caught collective operation "
        "timeout: WorkNCCL(SeqNum=77, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, "
        "Timeout(ms)=600000) ran for 600541 milliseconds before timing out.\n"
    )

    done = run_cli("rules", "test", log)

    assert done.status == 0, done
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{log}: 4 lines;")
    [oom] = [line for line in lines if line.lstrip().startswith("cuda-oom ")]
    assert "gpu_oom" in oom and oom.rstrip().endswith("1 lines")
    assert any(line.strip().startswith("3: [rank3]: torch.OutOfMemoryError") for line in lines)
    assert (
        lines[-1]
        == "  judged: fail: gpu_oom (cuda-oom): CUDA out of memory on GPU 3 (tried to allocate 1.95 GiB)"
    )


def test_rules_test_on_a_missing_log_is_a_one_line_error(tmp_path: Path) -> None:
    done = run_cli("rules", "test", tmp_path / "nope.log")

    assert done.status == 2
    assert (
        done.stderr.strip()
        == f"eagle3-monitor: error: {tmp_path / 'nope.log'}: No such file or directory"
    )
