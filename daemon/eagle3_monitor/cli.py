"""The `eagle3-monitor` command line. Bad input is one line on stderr and exit status 2."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from eagle3_monitor import __version__
from eagle3_monitor.config import (
    MonitorConfig,
    config_path_from,
    load_config_and_catalog,
    sample_failure_messages,
)
from eagle3_monitor.errors import MonitorError, UnusableInputError
from eagle3_monitor.printable import visible
from eagle3_monitor.report import review_to_json, review_to_markdown, review_to_text
from eagle3_monitor.report.validation import (
    validation_to_json,
    validation_to_markdown,
    validation_to_text,
)
from eagle3_monitor.review.layout import discover
from eagle3_monitor.review.run import review_path, validate_path
from eagle3_monitor.review.scanner import scan_file
from eagle3_monitor.review.slurm_views import slurm_views
from eagle3_monitor.simulate.task import FAILURES
from eagle3_monitor.slurm.backend import make_backend
from eagle3_monitor.slurm.model import SlurmView
from eagle3_monitor.slurm.sacct import SlurmError
from eagle3_monitor.validate.model import ValidationVerdict
from eagle3_monitor.vocabulary import RunVerdict

if TYPE_CHECKING:
    from eagle3_monitor.report.status import Look

SERVICE_ACCOUNT = "eagle3-monitor"  # systemd/eagle3-monitor.sysusers
EXIT_PASS = 0
EXIT_FAILURE_FOUND = 1
EXIT_UNUSABLE_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_INTERNAL_ERROR = 70

_EXIT_BY_VERDICT = {
    RunVerdict.PASS: EXIT_PASS,
    RunVerdict.FAIL: EXIT_FAILURE_FOUND,
    RunVerdict.INCOMPLETE: EXIT_INCOMPLETE,
}

_EXIT_BY_VALIDATION = {
    ValidationVerdict.PASSED: EXIT_PASS,
    ValidationVerdict.FAILED: EXIT_FAILURE_FOUND,
    ValidationVerdict.PARTIAL: EXIT_INCOMPLETE,
}

Command = TypeVar("Command", bound=Callable[..., Any])

# LAZY: each command imports what only it uses, so `review` does not pay for the daemon, Slack,
# the linter or the simulator at start-up (see bench/review_bench.py).

config_option = click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=(
        "Config file (default: $EAGLE3_MONITOR_CONFIG, else /etc/eagle3-monitor/config.yaml"
        " if present, else built-in defaults)."
    ),
)


_REPORT_OPTIONS = (
    click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", "markdown", "json"]),
        default="text",
        show_default=True,
    ),
    click.option("--threshold", type=float, default=None, help="Acceptance-length pass threshold."),
    click.option(
        "--color/--no-color", default=None, help="Colour the text output (default: on a TTY)."
    ),
    click.option(
        "--slurm/--no-slurm",
        "ask_slurm",
        default=None,
        help="Weigh how Slurm ended each task's job (sacct; default: when sacct is installed).",
    ),
    config_option,
)
AUTO_SLURM_TIMEOUT = 10.0


def report_options(command: Command) -> Command:
    """--format, --threshold, --color, --slurm and --config: shared by review and validate."""
    for option in reversed(_REPORT_OPTIONS):
        command = option(command)
    return command


def one_line_errors(command: Command) -> Command:
    """Turn MonitorError into `eagle3-monitor: error: ...` and exit status 2."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (MonitorError, SlurmError) as error:
            for line in str(error).splitlines() or [type(error).__name__]:
                click.echo(f"eagle3-monitor: error: {visible(line)}", err=True)
            sys.exit(EXIT_UNUSABLE_INPUT)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eagle3-monitor")
def cli() -> None:
    """Watch EAGLE3 speculative-decoding pipelines: review logs, find root causes."""


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@report_options
@one_line_errors
def review(  # noqa: PLR0917 - click passes every option by name
    path: Path,
    output_format: str,
    threshold: float | None,
    color: bool | None,
    ask_slurm: bool | None,
    config_file: Path | None,
) -> None:
    """Review an experiment directory (cicd_<epoch>/), one task directory, or one log file.

    Exit status: 0 every task passed, 1 a failure was found, 2 unusable input,
    3 incomplete (tasks still running or not run, none failed)."""
    loaded, catalog = load_config_and_catalog(config_path_from(config_file))
    views = _slurm_views(path, loaded.config, ask_slurm)
    result = review_path(path, catalog, loaded.config.review_settings(threshold), views)
    _print_report(
        output_format,
        color,
        lambda: review_to_json(result),
        lambda: review_to_markdown(result),
        lambda colour: review_to_text(result, colour=colour),
    )
    for problem in (problem for task in result.tasks for problem in task.problems):
        click.echo(f"eagle3-monitor: warning: {visible(problem)}", err=True)
    sys.exit(_EXIT_BY_VERDICT[result.verdict])


def _slurm_views(path: Path, config: MonitorConfig, ask: bool | None) -> dict[int, SlurmView]:
    """Slurm's view of the jobs the logs name: asked when `--slurm`, or by default when sacct
    is installed (then quietly: Slurm may not know jobs of another cluster or age)."""
    if ask is False or (ask is None and shutil.which(config.slurm.sacct) is None):
        return {}
    settings = config.sacct_settings()
    if ask is None:
        settings = replace(settings, timeout=min(settings.timeout, AUTO_SLURM_TIMEOUT))
    try:
        return slurm_views(discover(path), make_backend(config.slurm.backend, settings))
    except (SlurmError, MonitorError) as error:
        if ask:
            click.echo(f"eagle3-monitor: warning: Slurm not asked: {error}", err=True)
        return {}


def _print_report(
    output_format: str,
    color: bool | None,
    document: Callable[[], dict[str, Any]],
    markdown: Callable[[], str],
    text: Callable[[bool], str],
) -> None:
    """One report in the chosen format (only that one is rendered); colour only on a terminal
    unless asked."""
    if output_format == "json":
        click.echo(json.dumps(document(), indent=2, ensure_ascii=False))
    elif output_format == "markdown":
        click.echo(markdown(), nl=False)
    else:
        use_colour = sys.stdout.isatty() if color is None else color
        click.echo(text(use_colour), nl=False, color=use_colour)


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@report_options
@one_line_errors
def validate(  # noqa: PLR0917 - click passes every option by name
    path: Path,
    output_format: str,
    threshold: float | None,
    color: bool | None,
    ask_slurm: bool | None,
    config_file: Path | None,
) -> None:
    """Check an experiment's artifacts task by task: data shards, hidden states, the exported
    draft and its training loss, the acceptance length against the threshold.

    Exit status: 0 passed, 1 failed, 2 unusable input, 3 partial (tasks not run yet)."""
    loaded, catalog = load_config_and_catalog(config_path_from(config_file))
    views = _slurm_views(path, loaded.config, ask_slurm)
    settings = loaded.config.review_settings(threshold)
    result = validate_path(path, catalog, settings, views).validation
    _print_report(
        output_format,
        color,
        lambda: validation_to_json(result),
        lambda: validation_to_markdown(result),
        lambda colour: validation_to_text(result, colour=colour),
    )
    sys.exit(_EXIT_BY_VALIDATION[result.verdict])


def _task_index(text: str | None) -> int | None:
    if text is None:
        return None
    match = re.fullmatch(r"(?:task_)?([0-9])", text.strip())
    if match is None:
        raise click.BadParameter(f"{text!r}: give a task as task_N (task_0 … task_4)")
    return int(match.group(1))


@cli.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--from", "from_task", default=None, help="Re-run from this task (task_N) on.")
@click.option("--only", "only_task", default=None, help="Re-run this task (task_N) alone.")
@click.option(
    "--yaml",
    "yaml_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The pipeline YAML the run was launched with (default: found in the experiment).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the YAML here instead of stdout.",
)
@click.option(
    "--slurm/--no-slurm",
    "ask_slurm",
    default=None,
    help="Weigh how Slurm ended each task's job (sacct; default: when sacct is installed).",
)
@config_option
@one_line_errors
def rerun(  # noqa: PLR0917 - click passes every option by name
    experiment: Path,
    from_task: str | None,
    only_task: str | None,
    yaml_file: Path | None,
    output: Path | None,
    ask_slurm: bool | None,
    config_file: Path | None,
) -> None:
    """Write a pipeline YAML that re-runs a failed experiment: the tasks that passed are
    skipped, the tasks that run read their outputs from the old experiment (/cicd/<id>/…), and
    the failed task's knob is changed where the fix is mechanical.

    Then: uv run launch.py --yaml rerun.yaml --yes"""
    from eagle3_monitor.review.rerun_advice import plan_rerun  # noqa: PLC0415 - see LAZY

    if from_task and only_task:
        raise click.UsageError("give --from or --only, not both")
    loaded, catalog = load_config_and_catalog(config_path_from(config_file))
    views = _slurm_views(experiment, loaded.config, ask_slurm)
    result = review_path(experiment, catalog, loaded.config.review_settings(None), views)
    plan = plan_rerun(
        result, start=_task_index(from_task or only_task), only=bool(only_task), yaml_file=yaml_file
    )
    if output is None:
        click.echo(plan.result.text, nl=False)
    else:
        write_output(output, plan.result.text)
    target = str(output) if output else "the YAML"
    click.echo(
        f"eagle3-monitor: {target} re-runs {plan.experiment.name} from task_{plan.start}"
        f" ({plan.source}); changes:",
        err=True,
    )
    for change in plan.result.changes:
        click.echo(f"  {change}", err=True)


@cli.command("new-model")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--gpus-per-node", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option(
    "--gpu-memory-gb",
    type=click.FloatRange(1, 4096),
    default=192.0,
    show_default=True,
    help="Memory of one GPU (GB200: 192, H100: 80, H200: 141).",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 1024),
    default=None,
    help="Nodes for serving (default: as many as the weights need).",
)
@click.option(
    "--hf-model",
    default=None,
    help="The checkpoint's path in the containers (default: /hf-local/<Org>/<Model>).",
)
@click.option(
    "--bf16-model",
    default=None,
    help="NVFP4 checkpoints: the BF16 base model for the dump and training.",
)
@click.option(
    "--dump-backend",
    type=click.Choice(["auto", "vllm", "hf", "trtllm"]),
    default="auto",
    show_default=True,
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the YAML here instead of stdout.",
)
@one_line_errors
def new_model(  # noqa: PLR0917 - click passes every option by name
    model: Path,
    gpus_per_node: int,
    gpu_memory_gb: float,
    nodes: int | None,
    hf_model: str | None,
    bf16_model: str | None,
    dump_backend: str,
    output: Path | None,
) -> None:
    """Write a complete hf_offline_eagle3.yaml for a model (its directory or config.json):
    backend, tensor parallelism and nodes, trust_remote_code, NVFP4, MLA, MoE draft sizing and
    tokenizer settings from its config, each with a comment saying why."""
    from eagle3_monitor.launcher.new_model import (  # noqa: PLC0415 - see LAZY
        NewModelRequest,
        default_hf_model,
        new_model_yaml,
    )
    from eagle3_monitor.lint.model_config import read_model_config  # noqa: PLC0415
    from eagle3_monitor.lint.run import lint_text  # noqa: PLC0415

    facts = read_model_config(model)
    request = NewModelRequest(
        facts,
        hf_model or default_hf_model(facts),
        gpus_per_node,
        gpu_memory_gb,
        nodes,
        bf16_model,
        dump_backend,
        source=_new_model_command(
            model,
            {
                "--gpus-per-node": gpus_per_node if gpus_per_node != 4 else None,
                "--gpu-memory-gb": f"{gpu_memory_gb:g}" if gpu_memory_gb != 192 else None,
                "--nodes": nodes,
                "--hf-model": hf_model,
                "--bf16-model": bf16_model,
                "--dump-backend": dump_backend if dump_backend != "auto" else None,
            },
        ),
    )
    text = new_model_yaml(request)
    report = lint_text(text, str(output or "<new-model>"), facts)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)
    for finding in report.findings:
        click.echo(f"eagle3-monitor: lint: {finding.severity}: {finding.message}", err=True)
    if report.errors:
        sys.exit(EXIT_FAILURE_FOUND)


def _new_model_command(model: Path, options: dict[str, object]) -> str:
    """The command line, as a user would type it, for the YAML's header."""
    words = ["eagle3-monitor", "new-model", str(model)]
    for name, value in options.items():
        if value is not None:
            words += [name, str(value)]
    return shlex.join(words)


def write_output(path: Path, text: str) -> None:
    """Write a generated file whole (a temporary file renamed into place)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text, "utf-8")
        temporary.replace(path)
    except OSError as error:
        raise UnusableInputError(f"{path}: cannot write: {error.strerror or error}") from None


@cli.command()
@click.argument("pipeline_yaml", type=click.Path(path_type=Path))
@click.option(
    "--model-config",
    type=click.Path(path_type=Path),
    default=None,
    help="The target model's config.json (default: <global_vars.hf_model>/config.json).",
)
@click.option(
    "--launcher-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="A launcher checkout (tools/launcher) to check task scripts against.",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--color/--no-color", default=None, help="Colour the text output (default: on a TTY)."
)
@one_line_errors
def lint(
    pipeline_yaml: Path,
    model_config: Path | None,
    launcher_dir: Path | None,
    output_format: str,
    color: bool | None,
) -> None:
    """Check a launcher pipeline YAML before submitting it: backends that cannot handle the
    model, missing trust_remote_code, MoE draft sizes, unknown scripts, allow_to_fail, limits.

    Exit status: 0 no errors (warnings allowed), 1 errors found, 2 unusable input."""
    from eagle3_monitor.lint.run import lint_pipeline  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.report.lint import lint_to_json, lint_to_text  # noqa: PLC0415

    report = lint_pipeline(pipeline_yaml, model_config, launcher_dir)
    if output_format == "json":
        click.echo(json.dumps(lint_to_json(report), indent=2, ensure_ascii=False))
    else:
        use_colour = sys.stdout.isatty() if color is None else color
        click.echo(lint_to_text(report, colour=use_colour), nl=False, color=use_colour)
    sys.exit(EXIT_FAILURE_FOUND if report.errors else EXIT_PASS)


@cli.group("config")
def config_group() -> None:
    """The config file's documentation, generated from its schema."""


@config_group.command("example")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["yaml", "markdown"]),
    default="yaml",
    show_default=True,
    help="yaml: the commented example config; markdown: the reference page (docs/config.md).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write it here instead of stdout.",
)
@one_line_errors
def config_example(output_format: str, output: Path | None) -> None:
    """Print every config key with its description, type, bounds and default: as a commented
    config file (config/eagle3-monitor.example.yaml) or as docs/config.md. `make config-docs`
    rewrites both."""
    from eagle3_monitor.config_doc import config_markdown, example_yaml  # noqa: PLC0415 - LAZY

    text = example_yaml() if output_format == "yaml" else config_markdown()
    if output is None:
        click.echo(text, nl=False)
    else:
        write_output(output, text)


@cli.command()
@click.option(
    "--once", is_flag=True, required=True, help="Poll once and exit (the daemon polls on)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (schema eagle3-monitor.poll/1).")
@config_option
@one_line_errors
def poll(once: bool, as_json: bool, config_file: Path | None) -> None:
    """Discover the pipeline jobs in Slurm, record their states, print runs and tasks.

    Exit status: 0 polled, 1 Slurm could not be asked (the states shown may be stale),
    2 bad configuration."""
    from eagle3_monitor.monitor.poll import poll_once  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.report.poll import poll_to_json, poll_to_text  # noqa: PLC0415
    from eagle3_monitor.state.store import Store  # noqa: PLC0415

    loaded, _ = load_config_and_catalog(config_path_from(config_file))
    config = loaded.config
    backend = make_backend(config.slurm.backend, config.sacct_settings())
    store = Store.open(config.database_path())
    try:
        result = poll_once(backend, store, config.watch_settings())
        if as_json:
            click.echo(json.dumps(poll_to_json(result, store), indent=2))
        else:
            click.echo(poll_to_text(result, store), nl=False)
    finally:
        store.close()
    sys.exit(EXIT_PASS if result.ok else EXIT_FAILURE_FOUND)


@cli.command("check-config")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--skip-secrets", is_flag=True, help="Do not check that the Slack token or webhook is readable."
)
@click.option(
    "--service-user",
    default=SERVICE_ACCOUNT,
    show_default=True,
    help="Run as root, check that this account can read watch.experiment_roots.",
)
@config_option
@one_line_errors
def check_config(
    file: Path | None, skip_secrets: bool, service_user: str, config_file: Path | None
) -> None:
    """Check a config file: the schema (every error at once, as file:line:column), its rules
    against their own samples, and that its secret references resolve (nothing is printed of
    them); warn of experiment roots the service account cannot read. Exit status 0 fine (with
    warnings), 2 errors."""
    from eagle3_monitor.rules.selftest import check_rule_samples  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.slack.setup import make_transport  # noqa: PLC0415

    path = file or config_path_from(config_file)
    loaded, catalog = load_config_and_catalog(path)
    config = loaded.config
    problems = sample_failure_messages(loaded, check_rule_samples(catalog))
    if not skip_secrets:
        try:
            make_transport(config)
        except MonitorError as error:
            problems = [*str(error).splitlines(), *problems]
    for problem in problems:
        click.echo(f"eagle3-monitor: error: {visible(problem)}", err=True)
    if problems:
        sys.exit(EXIT_UNUSABLE_INPUT)
    click.echo(f"{path or 'built-in defaults'}: ok")
    click.echo(f"  slack: {config.slack.mode}, default channel {config.slack.default_channel}")
    click.echo(f"  rules: {len(catalog.rules)}, all samples pass")
    click.echo(f"  database: {config.database_path()}")
    click.echo(f"  status socket: {config.socket_path()}")
    rhythm = config.daemon
    click.echo(
        f"  poll every {rhythm.poll_interval_seconds:g}s with {config.slurm.backend} "
        f"(every {rhythm.idle_poll_seconds:g}s while no job is pending or running)"
    )
    _check_roots(config, service_user)


def _check_roots(config: MonitorConfig, account: str) -> None:
    """Can the service read watch.experiment_roots? Checked as the service account when run as
    root and it exists (else as whoever runs this): a warning per root, with what to do."""
    import pwd  # noqa: PLC0415 - see LAZY

    from eagle3_monitor.monitor.access import root_problems, root_problems_as  # noqa: PLC0415

    roots = config.watch_settings().experiment_roots
    if not roots:
        click.echo("  experiment roots: none (logs are read wherever Slurm says)")
        return
    try:
        pwd.getpwnam(account)
        service = os.geteuid() == 0
    except KeyError:
        service = False
    problems = root_problems_as(account, roots) if service else root_problems(roots)
    who = account if service else "this account"
    click.echo(f"  experiment roots: {len(roots)}, {len(roots) - len(problems)} readable by {who}")
    for problem in problems:
        click.echo(f"eagle3-monitor: warning: {visible(problem)}", err=True)


@cli.command("notify-test")
@config_option
@one_line_errors
def notify_test(config_file: Path | None) -> None:
    """Check the Slack setup: auth.test with the bot token, then a test message to the default
    channel (with the console notifier: print it). Exit status 0 delivered, 1 refused."""
    from eagle3_monitor.slack.messages import test_message  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.slack.setup import make_transport  # noqa: PLC0415
    from eagle3_monitor.slack.transport import BotTransport, DeliveryError, redact  # noqa: PLC0415

    loaded, _ = load_config_and_catalog(config_path_from(config_file))
    slack = loaded.config.slack
    transport = make_transport(loaded.config)
    try:
        team = "console"
        if isinstance(transport, BotTransport):
            identity = transport.auth_test()
            team = str(identity.get("team", "?"))
            click.echo(f"auth.test ok: {identity.get('user', '?')} in {team}")
        message = test_message(team)
        posted = transport.post(slack.default_channel, message, thread_ts=None, key="notify-test")
    except DeliveryError as error:
        click.echo(f"eagle3-monitor: notify-test failed: {redact(str(error))}", err=True)
        sys.exit(EXIT_FAILURE_FOUND)
    click.echo(
        f"test message posted to {posted.channel}" + (f" (ts {posted.ts})" if posted.ts else "")
    )


@cli.command()
@config_option
@click.option(
    "--log-json/--log-console", default=None, help="Log format (default: JSON unless on a TTY)."
)
@click.option(
    "--backfill",
    "backfill_hours",
    type=click.FloatRange(0, 24 * 30),
    default=None,
    metavar="HOURS",
    help=(
        "At the first start on a new database, also announce runs that ended in the last HOURS"
        " (default: watch.backfill_hours, 0: only runs with a job ending after the start)."
    ),
)
def run(config_file: Path | None, log_json: bool | None, backfill_hours: float | None) -> None:
    """Run the monitor as a service (systemd Type=notify): poll Slurm, review finished jobs,
    post to Slack, answer `eagle3-monitor status`. SIGTERM/SIGINT stop it, SIGHUP reloads the
    config. Exit status: 0 stopped cleanly, 2 bad configuration, 3 startup failed.

    On a new database, runs whose jobs all ended before the first start are recorded (and
    shown by `status`) without a Slack message; --backfill HOURS announces those that ended
    within HOURS of it. A restart is not a first start."""
    from eagle3_monitor.service.logging_setup import configure_logging  # noqa: PLC0415
    from eagle3_monitor.service.runtime import run_daemon  # noqa: PLC0415 - see LAZY

    path = config_path_from(config_file)
    try:
        loaded, _ = load_config_and_catalog(path)
    except MonitorError as error:
        for line in str(error).splitlines():
            click.echo(f"eagle3-monitor: error: {line}", err=True)
        sys.exit(EXIT_UNUSABLE_INPUT)
    configure_logging(loaded.config.daemon.log_level, log_json)
    sys.exit(run_daemon(path, backfill_hours))


def ask_daemon(config_file: Path | None, *requests: dict[str, Any]) -> list[dict[str, Any]]:
    """The daemon's answers, from the first socket that answers (`client_socket_paths`: the
    config's own status.socket, else the system service's, then per-user ones). One line
    when none does: the paths tried, or the group to join."""
    from eagle3_monitor.config import load_config, system_config_path  # noqa: PLC0415
    from eagle3_monitor.service.status_socket import (  # noqa: PLC0415 - see LAZY
        client_socket_paths,
        per_user_sockets,
        query,
        query_first,
    )

    config = _client_config(config_path_from(config_file))
    system = system_config_path()
    system_socket = None
    if os.access(system, os.R_OK):  # a group member reads it; anyone else uses the default
        try:
            system_socket = load_config(system).config.status.socket
        except MonitorError:
            system_socket = None  # the daemon says what is wrong with its config
    own = Path(config.status.socket).expanduser() if config.status.socket else None
    paths = client_socket_paths(
        own,
        Path(system_socket) if system_socket else None,
        per_user_sockets(config.database_path()),
    )
    path, first = query_first(paths, requests[0])  # DaemonUnreachableError: one line
    try:
        return [first, *(query(path, request) for request in requests[1:])]
    except OSError as error:
        raise MonitorError(f"the daemon stopped answering ({error.strerror or error})") from None


def _client_config(path: Path | None) -> MonitorConfig:
    """The client's config; the system one only when this user may read it (`status` needs
    nothing from it but where the socket is)."""
    from eagle3_monitor.config import load_config, system_config_path  # noqa: PLC0415

    if path is None or (path == system_config_path() and not os.access(path, os.R_OK)):
        return MonitorConfig()
    return load_config(path).config


@cli.command()
@click.argument("run_id", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's JSON answer.")
@click.option("--user", default=None, help="Only this user's runs.")
@click.option("--active", is_flag=True, help="Only runs with a task not yet ended.")
@click.option("--failed", is_flag=True, help="Only runs with a failed, timed-out or killed task.")
@click.option(
    "--table/--plain",
    default=None,
    help="Tasks as a table or as plain lines (default: a table on a TTY).",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the states (default: on a TTY, unless NO_COLOR).",
)
@config_option
@one_line_errors
def status(  # noqa: PLR0917 - click passes every option by name
    run_id: str | None,
    as_json: bool,
    user: str | None,
    active: bool,
    failed: bool,
    table: bool | None,
    color: bool | None,
    config_file: Path | None,
) -> None:
    """Ask the running daemon: its health and its runs, or one run (by id or experiment) with
    its latest review. Each task shows its Slurm state, exit status, how long it ran (or has
    been running), its verdict and, when it failed, the root cause its review found.

    Exit status: 0 answered, 1 no such run, 2 a bad config or no daemon answering."""
    from eagle3_monitor.report.status import status_to_text  # noqa: PLC0415 - see LAZY

    filters = {"user": user, "active": active, "failed": failed}
    request = {"command": "run", "id": run_id} if run_id else {"command": "runs", **filters}
    health, answer = ask_daemon(config_file, {"command": "status"}, request)
    for problem in health.get("unreadable_roots") or []:  # the service cannot read them
        click.echo(f"eagle3-monitor: warning: {visible(str(problem))}", err=True)
    if not health.get("ok"):
        raise MonitorError(str(health.get("error")))
    if answer.get("not_found"):
        click.echo(f"eagle3-monitor: error: {visible(str(answer.get('error')))}", err=True)
        sys.exit(EXIT_FAILURE_FOUND)
    if not answer.get("ok"):
        raise MonitorError(str(answer.get("error") or "the daemon could not answer"))
    if as_json:
        click.echo(json.dumps({"status": health, **answer}, indent=2, default=str))
        return
    look = status_look(table, color)
    click.echo(status_to_text(health, answer, look), nl=False, color=look.colour)


def status_look(table: bool | None, color: bool | None) -> Look:
    """Tables and colour on a terminal (colour not when NO_COLOR is set: no-color.org), plain
    lines otherwise; --table/--plain and --color/--no-color choose."""
    from eagle3_monitor.report.status import Look  # noqa: PLC0415 - see LAZY

    tty = sys.stdout.isatty()
    colour = tty and not os.environ.get("NO_COLOR") if color is None else color
    columns = shutil.get_terminal_size().columns
    return Look(table=tty if table is None else table, colour=colour, width=columns)


@cli.command()
@click.option("--pipeline", default=None, metavar="BASE",
              help="Only this pipeline (its job name without the task index).")  # fmt: skip
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="How far back: 30m, 12h, 7d, 2w, or a date or time (2026-11-01, UTC).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (eagle3-monitor.history/1).")
@config_option
@one_line_errors
def history(pipeline: str | None, since: str, as_json: bool, config_file: Path | None) -> None:
    """The failures the daemon has seen, grouped by fingerprint (the same root cause, rule and
    evidence line, noise aside, on the same task role of the same pipeline): how many, first
    and last time, and the runs with their Slack threads.

    Reads the daemon's database read-only; when it cannot, asks the daemon over its status
    socket. Exit status: 0 answered, 2 bad input or neither could be read."""
    from eagle3_monitor.report.history import history_to_text, since_moment  # noqa: PLC0415

    loaded, _ = load_config_and_catalog(config_path_from(config_file))
    start = since_moment(since, time.time())
    try:
        document = _history_from_database(loaded.config, pipeline, start)
    except MonitorError as unreadable:
        document = _history_from_daemon(loaded.config, pipeline, start, unreadable)
    if as_json:
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(history_to_text(document), nl=False)


def _history_from_database(
    config: MonitorConfig, pipeline: str | None, since: str
) -> dict[str, Any]:
    from eagle3_monitor.report.history import history_document  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.state.schema import MIGRATIONS  # noqa: PLC0415
    from eagle3_monitor.state.store import read_only_snapshot  # noqa: PLC0415

    with read_only_snapshot(config.database_path(), need_version=len(MIGRATIONS)) as snapshot:
        failures = snapshot.failures_since(since, pipeline)
    return history_document(failures, since, pipeline)


def _history_from_daemon(
    config: MonitorConfig, pipeline: str | None, since: str, unreadable: MonitorError
) -> dict[str, Any]:
    from eagle3_monitor.service.status_socket import query  # noqa: PLC0415 - see LAZY

    path = config.socket_path()
    try:
        answer = query(path, {"command": "history", "pipeline": pipeline, "since": since})
    except OSError as error:
        raise MonitorError(
            f"{unreadable}; and {path}: the daemon is not answering ({error.strerror or error})"
        ) from None
    if not answer.pop("ok", False):
        raise MonitorError(str(answer.get("error") or "the daemon could not answer"))
    return answer


@cli.command()
@click.argument("root", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--fail",
    "failure",
    metavar="TASK:FAILURE",
    help=f"Make task TASK (0-3) fail: {', '.join(FAILURES)}.",
)
@click.option("--job-base", default="Sim-8B_EAGLE3_offline", show_default=True)
@click.option("--pace", type=float, default=0.05, show_default=True, help="Seconds per log line.")
@one_line_errors
def simulate(root: Path, failure: str | None, job_base: str, pace: float) -> None:
    """Submit a simulated EAGLE3 pipeline (four afterok-chained Slurm jobs writing the real
    layout, logs and artifacts) under ROOT/cicd_<epoch>; prints the experiment dir and job ids."""
    from eagle3_monitor.simulate.pipeline import SubmitError, submit_pipeline  # noqa: PLC0415

    failures = {}
    if failure:
        task, _, kind = failure.partition(":")
        if not task.isdigit() or int(task) > 3 or kind not in FAILURES:
            raise MonitorError(
                f"--fail {failure!r}: expected TASK:FAILURE, TASK 0-3, FAILURE one "
                f"of {', '.join(FAILURES)}"
            )
        failures[int(task)] = kind
    try:
        pipeline = submit_pipeline(
            root.resolve(), epoch=int(time.time()), job_base=job_base, failures=failures, pace=pace
        )
    except SubmitError as error:
        raise MonitorError(str(error)) from None
    except OSError as error:
        raise MonitorError(f"simulate: {error}") from None
    click.echo(f"{pipeline.experiment} {' '.join(pipeline.job_ids)}")


@cli.group()
def rules() -> None:
    """Inspect and check the rule catalog."""


@rules.command("test")
@click.argument("logs", nargs=-1, type=click.Path(path_type=Path))
@config_option
@one_line_errors
def rules_test(logs: tuple[Path, ...], config_file: Path | None) -> None:
    """Check every rule against its own sample lines (must / must not match); with LOG files,
    show what each rule matched in them (count and first lines) and how each was judged.

    Exit status: 0 all samples pass (or the logs were read), 1 a sample failed, 2 bad input."""
    from eagle3_monitor.report.rule_hits import rule_hits_to_text  # noqa: PLC0415 - see LAZY
    from eagle3_monitor.rules.selftest import check_rule_samples  # noqa: PLC0415

    loaded, catalog = load_config_and_catalog(config_path_from(config_file))
    if logs:
        for log in logs:
            scan = scan_file(log, catalog, exact=True)  # unreadable: one line, exit 2
            review = review_path(log, catalog, loaded.config.review_settings())
            click.echo(rule_hits_to_text(scan, review), nl=False)
        return
    failures = check_rule_samples(catalog)
    for message in sample_failure_messages(loaded, failures):
        click.echo(f"FAIL {visible(message)}")
    samples = sum(len(c.rule.samples.match) + len(c.rule.samples.no_match) for c in catalog.rules)
    click.echo(f"{len(catalog.rules)} rules, {samples} samples: {len(failures)} failed")
    sys.exit(EXIT_FAILURE_FOUND if failures else EXIT_PASS)


@rules.command("patterns")
@config_option
@one_line_errors
def rules_patterns(config_file: Path | None) -> None:
    """Print the regexes of the one-pass scan, one per line (e.g. for `rg -f`)."""
    _, catalog = load_config_and_catalog(config_path_from(config_file))
    for pattern in catalog.scan_patterns():
        click.echo(pattern)


@rules.command("list")
@config_option
@one_line_errors
def rules_list(config_file: Path | None) -> None:
    """List the rules: id, kind, category, priority, roles."""
    _, catalog = load_config_and_catalog(config_path_from(config_file))
    for compiled in catalog.rules:
        rule = compiled.rule
        roles = ",".join(rule.roles) or "-"
        click.echo(
            f"{rule.id:<34} {rule.kind:<11} {rule.category or '-':<27} {rule.priority:>3} {roles}"
        )


@rules.command("docs")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the page here instead of stdout (the repository's: docs/categories.md).",
)
@config_option
@one_line_errors
def rules_docs(output: Path | None, config_file: Path | None) -> None:
    """The category page (every category, its meaning, its rules and example lines) as
    Markdown, generated from the rule catalog: printed, or written to a file with -o;
    `eagle3-monitor rules docs -o docs/categories.md` regenerates the repository's."""
    from eagle3_monitor.rules.docs import categories_markdown  # noqa: PLC0415 - see LAZY

    _, catalog = load_config_and_catalog(config_path_from(config_file))
    page = categories_markdown(catalog)
    if output is None:
        click.echo(page, nl=False)
        return
    write_output(output, page)
    click.echo(f"wrote {output}", err=True)


def main() -> None:
    """Console entry point: no traceback reaches the user, a closed pipe is not an error."""
    try:
        cli(standalone_mode=True)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(EXIT_PASS)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # the last guard: one line, never a traceback
        if os.environ.get("EAGLE3_MONITOR_DEBUG"):
            raise
        click.echo(f"eagle3-monitor: internal error: {type(error).__name__}: {error}", err=True)
        click.echo("eagle3-monitor: set EAGLE3_MONITOR_DEBUG=1 for the traceback", err=True)
        sys.exit(EXIT_INTERNAL_ERROR)
