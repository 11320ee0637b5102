"""The lint checks: each looks at the pipeline (and the model's facts) and yields findings.

The keys and value types are checked in `lint/keys.py`; these checks are about what the tasks
do: scripts, parallelism, and what the target model needs from each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from eagle3_monitor.launcher.conventions import ScriptKind, has_trust_remote_code, script_kind
from eagle3_monitor.launcher.schema import LauncherSchema, closest
from eagle3_monitor.lint.draft_config import DECODER_TYPE, draft_settings
from eagle3_monitor.lint.findings import LintFinding, Severity
from eagle3_monitor.lint.model_config import ModelFacts
from eagle3_monitor.lint.pipeline import PipelineSpec, TaskSpec
from eagle3_monitor.vocabulary import Role
from eagle3_monitor.yamlpos import KeyPath

HF_DUMP = "common/eagle3/dump_offline_data_hf.sh"
VLLM_DUMP = "common/eagle3/dump_offline_data_vllm.sh"
TIKTOKEN_CACHE = "TIKTOKEN_RS_CACHE_DIR"
_TRUST_ARGS = ("--trust-remote-code", "--trust_remote_code")

__all__ = ["LintFinding", "Severity"]


def kind_of(task: TaskSpec) -> ScriptKind:
    return script_kind(task.script)


def arg_path(task: TaskSpec, names: tuple[str, ...]) -> KeyPath:
    """The key path of the last argument that sets one of `names` (else of `args`)."""
    found = [
        index
        for index, arg in enumerate(task.args)
        if arg.strip().split(" ", 1)[0].split("=", 1)[0] in names
    ]
    return (*task.path, "args", found[-1]) if found else (*task.path, "args")


def structure_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    for path, message in spec.problems:
        task = str(path[1]) if len(path) > 1 else None
        yield _finding(
            spec,
            Severity.ERROR,
            "pipeline-structure",
            task,
            message,
            "Fix the pipeline YAML.",
            path,
        )


def missing_script_findings(spec: PipelineSpec, intended: set[KeyPath]) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if task.script is None and (*task.path, "script") not in intended:
            yield _finding(
                spec,
                Severity.ERROR,
                "pipeline-structure",
                task.key,
                f"{task.key} has no `script`",
                "Name the launcher script, e.g. `script: common/vllm/query.sh`.",
                task.path,
            )


def dependency_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    if spec.allow_to_fail:
        yield _finding(
            spec,
            Severity.WARNING,
            "allow-to-fail",
            None,
            "allow_to_fail: true lets a task start after its upstream task failed, on missing "
            "or partial input (where the launcher chains tasks with afterany)",
            "Keep it only if partial results are useful (e.g. a task_0 that may time out with "
            "its .done shards kept); the monitor then reports later tasks' missing_input "
            "against the upstream failure.",
            ("pipeline", "allow_to_fail"),
        )


def time_limit_findings(spec: PipelineSpec, intended: set[KeyPath]) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if task.skip or "time" in task.slurm_config:
            continue
        if {(*task.path, "slurm_config"), (*task.path, "slurm_config", "time")} & intended:
            continue  # a misspelt slurm_config or time: reported as an unknown key
        yield _finding(
            spec,
            Severity.WARNING,
            "no-time-limit",
            task.key,
            f"{task.key} sets no slurm_config.time: it gets the launcher's default, 04:00:00 "
            "(or the partition's)",
            'Set slurm_config.time (e.g. "08:00:00"): data synthesis and training often need '
            "more than 4 hours.",
            (*task.path, "slurm_config"),
        )


def script_findings(
    spec: PipelineSpec, schema: LauncherSchema, launcher_dir: Path | None
) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if task.script is None:
            continue
        where = (*task.path, "script")
        stale = schema.is_stale(task.script)
        if stale:
            yield _finding(
                spec,
                Severity.WARNING,
                "stale-script",
                task.key,
                f"{task.script} is out of date: {stale}",
                _script_fix(task.script, schema, launcher_dir),
                where,
            )
        elif launcher_dir is not None and not (launcher_dir / task.script).is_file():
            yield _finding(
                spec,
                Severity.ERROR,
                "unknown-script",
                task.key,
                f"{task.script} does not exist in {launcher_dir}",
                _script_fix(task.script, schema, launcher_dir),
                where,
            )
        elif launcher_dir is None and task.script not in schema.scripts:
            yield _finding(
                spec,
                Severity.WARNING,
                "unknown-script",
                task.key,
                f"{task.script} is not one of the launcher's scripts",
                _script_fix(task.script, schema, None),
                where,
            )


def _script_fix(script: str, schema: LauncherSchema, launcher_dir: Path | None) -> str:
    if launcher_dir is not None:
        candidates = {str(p.relative_to(launcher_dir)) for p in launcher_dir.glob("common/**/*.sh")}
    else:
        candidates = set(schema.scripts) - set(schema.stale_scripts)
    renamed = script.replace("services/pipeline/", "common/").replace("services/", "common/")
    if "offline_training.sh" in script:
        renamed = "common/eagle3/train_eagle.sh"
    suggestion = closest(renamed, candidates)
    hint = f"did you mean {suggestion}? " if suggestion else ""
    where = "" if launcher_dir else " (pass --launcher-dir to check against a checkout)"
    return f"{hint}Scripts live under common/ in the launcher{where}."


def parallelism_findings(spec: PipelineSpec, model: ModelFacts | None) -> Iterator[LintFinding]:
    for task in spec.tasks:
        kind = kind_of(task)
        if kind.role is Role.DUMP and kind.backend == "trtllm":
            yield from _trtllm_dump_findings(spec, task, model)
        tp = task.int_option(kind.tp_flags) if kind.tp_flags else None
        if tp is None:
            continue
        gpus = task.gpus_per_node * task.nodes
        if tp > gpus:
            yield _finding(
                spec,
                Severity.ERROR,
                "tp-exceeds-gpus",
                task.key,
                f"{task.key} asks for tensor parallelism {tp} on {gpus} GPU(s) "
                f"({task.nodes} node(s) × gpus_per_node {task.gpus_per_node})",
                f"Lower the TP to {gpus} or raise gpus_per_node to {tp}.",
                arg_path(task, kind.tp_flags),
            )
        heads = model.attention.heads if model and model.attention else None
        if heads and heads % tp:
            yield _finding(
                spec,
                Severity.ERROR,
                "tp-does-not-divide-heads",
                task.key,
                f"tensor parallelism {tp} does not divide the model's {heads} "
                "attention heads: the engine refuses to start",
                f"Use a TP that divides {heads}.",
                arg_path(task, kind.tp_flags),
            )


def _trtllm_dump_findings(
    spec: PipelineSpec, task: TaskSpec, model: ModelFacts | None
) -> Iterator[LintFinding]:
    tp, moe_ep = task.int_option(("--tp",)), task.int_option(("--moe-ep",))
    where = (*task.path, "args")
    if tp is None:
        gpus = task.gpus_per_node * task.nodes
        yield _finding(
            spec,
            Severity.WARNING,
            "trtllm-dump-parallelism",
            task.key,
            f"the TRT-LLM dump runs with --tp 1 unless told: one of the task's {gpus} "
            "GPU(s) holds the whole model",
            f"Add `--tp {gpus}` (and `--moe-ep` for an MoE model).",
            where,
        )
        return
    if moe_ep is not None and (moe_ep < 1 or tp % moe_ep):
        yield _finding(
            spec,
            Severity.ERROR,
            "trtllm-dump-parallelism",
            task.key,
            f"--moe-ep {moe_ep} does not divide --tp {tp} (moe_ep × moe_tp must equal tp)",
            f"Use a --moe-ep that divides {tp}, e.g. {tp} or 1.",
            where,
        )
    if moe_ep is None and model is not None and model.is_moe:
        yield _finding(
            spec,
            Severity.WARNING,
            "trtllm-dump-parallelism",
            task.key,
            f"MoE model ({model.experts} experts) without --moe-ep: TRT-LLM shards the "
            "experts by tensor parallelism only",
            f"Add `--moe-ep {tp}` (experts spread over the {tp} GPUs) or `--moe-ep 1`.",
            where,
        )


def model_findings(
    spec: PipelineSpec, model: ModelFacts, search_roots: list[Path]
) -> Iterator[LintFinding]:
    yield from _backend_findings(spec, model)
    if model.custom_code:
        yield from _trust_remote_code_findings(spec)
    yield from _draft_findings(spec, model, search_roots)
    if model.harmony:
        yield from _tokenizer_findings(spec, model)
    if model.is_nvfp4:
        yield from _nvfp4_findings(spec, model)


def _unsupported_traits(model: ModelFacts, backend: str) -> str | None:
    """Why a dump backend cannot take the model: `it is a VLM and uses sliding-window
    attention`, or None."""
    traits = []
    if model.is_vlm:
        traits.append("is a VLM")
    if model.sliding_window and backend == "trtllm":
        traits.append("uses sliding-window attention")
    return f"it {' and '.join(traits)}" if traits else None


def _backend_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    for task in spec.tasks:
        kind = kind_of(task)
        if kind.role is not Role.DUMP or kind.backend not in ("trtllm", "vllm"):
            continue
        name = "TRT-LLM" if kind.backend == "trtllm" else "vLLM"
        where = (*task.path, "script")
        reason = _unsupported_traits(model, kind.backend)
        if reason:
            fix = f"Use {HF_DUMP} (HF, device_map=auto: the text path of a VLM)"
            if not model.is_vlm:
                fix += f" or {VLLM_DUMP}"
            yield _finding(
                spec,
                Severity.ERROR,
                f"{kind.backend}-dump-unsupported",
                task.key,
                f"the {name} hidden-state dump cannot handle this model: {reason}",
                fix + ".",
                where,
            )
        elif model.sliding_window and kind.backend == "vllm":
            yield _finding(
                spec,
                Severity.WARNING,
                "vllm-dump-sliding-window",
                task.key,
                "the model uses sliding-window attention: the EAGLE3 guide "
                "recommends the HF dump for it",
                f"Prefer {HF_DUMP}; keep the vLLM dump only if it has worked for this model.",
                where,
            )


def _trust_remote_code_findings(spec: PipelineSpec) -> Iterator[LintFinding]:
    for task in spec.tasks:
        kind = kind_of(task)
        if kind.role is None or kind.trusts_by_itself or task.skip:
            continue
        if kind.role is Role.DUMP:
            if task.environment.get("TRUST_REMOTE_CODE", "").lower() not in ("1", "true"):
                yield _finding(
                    spec,
                    Severity.ERROR,
                    "trust-remote-code",
                    task.key,
                    f"the model ships custom code (auto_map) but {task.key}'s TRT-LLM "
                    "dump does not trust it",
                    f'Add `- TRUST_REMOTE_CODE: "1"` to the task\'s environment, or use {HF_DUMP}.',
                    (*task.path, "environment"),
                )
            continue
        if has_trust_remote_code(task.args, kind):
            continue
        flag = kind.trust_flag
        late = [i for i, arg in enumerate(task.args) if arg.strip() in _TRUST_ARGS]
        after_separator = kind.role is Role.SYNTHESIS and bool(late)
        message = (
            f"{task.key} passes trust_remote_code after the `--` separator: it goes to "
            "query.py, not to the server"
            if after_separator
            else f"the model ships custom code (auto_map) but {task.key} does not pass `{flag}`"
        )
        where = " before the `--` separator" if kind.role is Role.SYNTHESIS else ""
        severity = Severity.WARNING if kind.role is Role.TRAINING else Severity.ERROR
        at = (*task.path, "args", late[0]) if after_separator else (*task.path, "args")
        yield _finding(
            spec,
            severity,
            "trust-remote-code",
            task.key,
            message,
            f"Add `{flag}` to the task's args{where}.",
            at,
        )


def _draft_findings(
    spec: PipelineSpec, model: ModelFacts, search_roots: list[Path]
) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if kind_of(task).role is not Role.TRAINING or task.skip:
            continue
        settings = draft_settings(task, search_roots)
        where = (*task.path, "args")
        if task.option(("--eagle_config",)) and task.script and "offline_training" in task.script:
            yield _finding(
                spec,
                Severity.WARNING,
                "eagle-config-ignored",
                task.key,
                "offline_training.sh ignores --eagle_config (deprecated): the draft "
                "gets the recipe's defaults",
                "Use common/eagle3/train_eagle.sh and set the draft with "
                "`eagle.eagle_architecture_config.<field>=<value>` overrides.",
                arg_path(task, ("--eagle_config", "--eagle-config")),
            )
        expected = model.moe_intermediate_size
        if model.is_moe and expected and settings.intermediate_size != expected:
            current = (
                f"is {settings.intermediate_size} ({settings.sources['intermediate_size']})"
                if settings.intermediate_size
                else f"defaults to the dense size ({model.intermediate_size})"
            )
            yield _finding(
                spec,
                Severity.WARNING,
                "moe-draft-intermediate-size",
                task.key,
                f"MoE model ({model.experts} experts, moe_intermediate_size "
                f"{expected}): the draft's intermediate_size {current}",
                f"Set the draft's intermediate_size to {expected}: "
                f"`eagle.eagle_architecture_config.intermediate_size={expected}` "
                "(or in eagle_config.json).",
                where,
            )
        if model.hidden_size and settings.hidden_size not in (None, model.hidden_size):
            yield _finding(
                spec,
                Severity.ERROR,
                "draft-hidden-size",
                task.key,
                f"the draft's hidden_size {settings.hidden_size} "
                f"({settings.sources['hidden_size']}) is not the model's "
                f"{model.hidden_size}: the draft reads the target's hidden states",
                f"Set hidden_size to {model.hidden_size} or drop it (the default "
                "follows the target).",
                where,
            )
        if model.is_mla and settings.decoder_type in (None, "llama"):
            rank = model.attention.kv_lora_rank if model.attention else None
            yield _finding(
                spec,
                Severity.WARNING,
                "mla-decoder-type",
                task.key,
                f"the model uses MLA attention (kv_lora_rank {rank}) but the draft's "
                f"eagle_decoder_type is {settings.decoder_type or 'llama (the default)'}",
                f"Check it: `{DECODER_TYPE}=kimik2` builds a DeepSeek-V3/Kimi-K2 "
                "style draft decoder.",
                where,
            )
        for name in settings.unread:
            yield _finding(
                spec,
                Severity.INFO,
                "draft-config-unread",
                task.key,
                f"{name} could not be read here, so its draft settings were not checked",
                "Pass --launcher-dir (a launcher checkout) to check it.",
                where,
            )


def _tokenizer_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    for task in spec.tasks:
        if kind_of(task).role not in (Role.SYNTHESIS, Role.DUMP) or task.skip:
            continue
        if TIKTOKEN_CACHE not in task.environment:
            yield _finding(
                spec,
                Severity.WARNING,
                "tokenizer-cache",
                task.key,
                f"{model.model_type} uses the harmony tokenizer, which fetches its "
                f"tiktoken vocabulary unless {TIKTOKEN_CACHE} points at a copy; "
                f"{task.key} does not set it, and offline nodes cannot download",
                f"Add `- {TIKTOKEN_CACHE}: /hf-local/tiktoken_cache` (a directory "
                "holding the vocab files) to the task's environment.",
                (*task.path, "environment"),
            )


def _nvfp4_findings(spec: PipelineSpec, model: ModelFacts) -> Iterator[LintFinding]:
    checkpoint = spec.global_vars.get("hf_model")
    if not checkpoint:
        return
    for task in spec.tasks:
        role = kind_of(task).role
        if role not in (Role.DUMP, Role.TRAINING) or task.skip:
            continue
        paths = {task.environment.get("HF_MODEL_CKPT"), task.option(("model.model_name_or_path",))}
        if checkpoint in paths:
            yield _finding(
                spec,
                Severity.ERROR,
                "nvfp4-checkpoint",
                task.key,
                f"{task.key} ({role}) uses the NVFP4 checkpoint {checkpoint}: hidden "
                "states and training need the BF16 base model",
                "Add `hf_model_bf16: <the BF16 model>` to global_vars and use "
                "<<global_vars.hf_model_bf16>> in this task.",
                task.path,
            )


def _finding(  # noqa: PLR0917 - a finding is these seven things
    spec: PipelineSpec,
    severity: Severity,
    code: str,
    task: str | None,
    message: str,
    fix: str,
    path: KeyPath,
) -> LintFinding:
    return LintFinding(severity, code, task, message, fix, spec.where(path))
