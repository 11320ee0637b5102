"""The user's config file: validated against one schema (the source of the example config and
docs/config.md, see config_doc.py), every error reported at once with file:line:column and the
key path."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from eagle3_monitor.config_errors import describe_validation_error
from eagle3_monitor.errors import ConfigError
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import WatchSettings
from eagle3_monitor.review.run import ReviewSettings
from eagle3_monitor.rules.catalog import (
    Catalog,
    RuleSource,
    builtin_catalog_document,
    load_catalog,
)
from eagle3_monitor.rules.selftest import SampleFailure
from eagle3_monitor.slurm.sacct import SacctSettings
from eagle3_monitor.validate.run import DEFAULT_HIDDEN_STATES_MIN_SHARE, ArtifactTemplates
from eagle3_monitor.vocabulary import DEFAULT_ACCEPTANCE_THRESHOLD
from eagle3_monitor.yamlpos import LocatedDocument, format_key_path, load_located

CONFIG_ENVIRONMENT_VARIABLE = "EAGLE3_MONITOR_CONFIG"


class Section(BaseModel):
    """A config section: unknown keys and non-finite numbers (.inf, .nan) are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


EXAMPLE_RULES: list[dict[str, Any]] = [
    {
        "id": "site-lustre-eviction",
        "category": "disk_full",
        "priority": 80,
        "regex": r"LustreError: [^\r\n]*This client was evicted by (?P<target>[A-Za-z0-9_-]+)",
        "summary": "Lustre evicted this client ({target})",
        "fix": "Re-run the task; if it repeats, tell the storage admins which node it was.",
        "samples": {
            "match": [
                "LustreError: 167-0: scratch-MDT0000-mdc-ffff9: This client was evicted by "
                "scratch-MDT0000"
            ],
            "no_match": ["Lustre: scratch-MDT0000 recovered"],
        },
    },
    {"id": "nccl-watchdog-timeout", "priority": 20},
    {"id": "command-not-found", "enabled": False},
]


class ReviewSection(Section):
    """How logs are reviewed."""

    acceptance_threshold: float = Field(
        default=DEFAULT_ACCEPTANCE_THRESHOLD,
        gt=0,
        le=64,
        description=(
            "A benchmark (task_3) passes when its acceptance length (AR) is at least this. "
            "`eagle3-monitor review --threshold X` overrides it for one run."
        ),
    )
    rules: list[dict[str, Any]] = Field(
        default_factory=list,
        description=(
            "Rules written inline, in the format of the built-in catalog (docs/rules.md). A rule "
            "with a built-in id overrides only the fields it names. The example adds a "
            "site-specific failure with its own sample lines (checked by `eagle3-monitor "
            "check-config`), lowers a built-in rule's priority and turns one off."
        ),
        examples=[EXAMPLE_RULES],
    )
    rule_files: list[str] = Field(
        default_factory=list,
        description=(
            "More rule files, each a `rules:` list in the catalog's format, relative to this "
            "config file. A rule with a built-in id overrides only the fields it names."
        ),
    )


_ARTIFACTS = ArtifactTemplates()  # the validator's own defaults: the one place they are written


class ArtifactPathsSection(Section):
    """Where each role's artifacts are. `{experiment}` is the experiment directory, `{task_dir}`
    the task's directory; relative paths are taken from the experiment directory. Sites that
    mount scratch elsewhere point these at it."""

    data: str = Field(
        default=_ARTIFACTS.data, description="task_0's synthesized conversations (data shards)."
    )
    hidden_states: str = Field(
        default=_ARTIFACTS.hidden_states, description="task_1's dumped hidden states (.pt files)."
    )
    training_output: str = Field(
        default=_ARTIFACTS.training_output,
        description="task_2's training output (checkpoints, trainer_state.json).",
    )
    export: str = Field(default=_ARTIFACTS.export, description="task_2's exported draft model.")
    benchmark_results: list[str] = Field(
        default_factory=lambda: list(_ARTIFACTS.benchmark_results),
        description="Where task_3's benchmark result files are looked for, in this order.",
    )


class ValidateSection(Section):
    """How artifacts are validated."""

    hidden_states_min_share: float = Field(
        default=DEFAULT_HIDDEN_STATES_MIN_SHARE,
        ge=0,
        le=1,
        description=(
            "task_1 warns when fewer .pt files than this share of data/'s conversations were "
            "dumped."
        ),
    )
    artifacts: ArtifactPathsSection = Field(
        default_factory=ArtifactPathsSection,
        description=ArtifactPathsSection.__doc__,
    )


_SACCT = SacctSettings()  # the Slurm backend's own defaults


class SlurmSection(Section):
    """How Slurm is asked."""

    backend: Literal["sacct", "pyslurm"] = Field(
        default="sacct",
        description=(
            "sacct (the command line tools) or pyslurm (must match the installed Slurm's major "
            "version)."
        ),
    )
    sacct: str = Field(
        default=_SACCT.sacct,
        description="The sacct command (sites with wrappers point this elsewhere).",
    )
    scontrol: str = Field(
        default=_SACCT.scontrol,
        description="The scontrol command (sites with wrappers point this elsewhere).",
    )
    timeout_seconds: float = Field(
        default=_SACCT.timeout,
        gt=0,
        le=3600,
        description=(
            "Every Slurm call is killed after this long (a hung slurmdbd makes sacct wait 45 s)."
        ),
    )
    clusters: list[str] = Field(
        default_factory=list, description="Clusters to ask (sacct -M); empty: the local one."
    )


_WATCH = WatchSettings(DEFAULT_JOB_NAME_PATTERN)  # the poll's own defaults
_HOUR = timedelta(hours=1)


class WatchSection(Section):
    """Which jobs are EAGLE3 pipeline jobs."""

    users: list[str] = Field(
        default_factory=list,
        description="Whose jobs to watch (sacct -u); empty: every user's jobs this account sees.",
    )
    accounts: list[str] = Field(
        default_factory=list, description="Only jobs of these accounts (sacct -A); empty: any."
    )
    partitions: list[str] = Field(
        default_factory=list, description="Only jobs in these partitions (sacct -r); empty: any."
    )
    job_name_pattern: str = Field(
        default=_WATCH.job_name_pattern,
        description=(
            "EAGLE3 pipeline jobs by name, a regex: the launcher's `<prefix>.<JobName>_<N>`. "
            "Named groups: `base` (the run) and `index` (the task)."
        ),
    )
    experiment_roots: list[str] = Field(
        default_factory=list,
        description=(
            "Where experiment directories live, to find a finished job's logs by its id; logs "
            "outside these roots are not quoted."
        ),
    )
    lookback_hours: float = Field(
        default=_WATCH.lookback / _HOUR,
        gt=0,
        le=24 * 30,
        description="How far back the first poll of a new database looks.",
    )
    backfill_hours: float = Field(
        default=0,
        ge=0,
        le=24 * 30,
        description=(
            "At the daemon's first start on a new database, also announce runs that ended "
            "this many hours before it (`run --backfill HOURS` wins); 0: only runs with a job "
            "ending after the start, older ones are recorded silently and shown by `status`."
        ),
    )

    @field_validator("job_name_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        return _compiled_regex(value)


def _compiled_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return value


class SlackRoute(Section):
    """Messages of runs whose job name matches `job_name` (a regex) or whose user is `user` go
    to `channel`; the first matching route wins."""

    channel: str = Field(min_length=1, description="The channel, e.g. `#eagle3-qwen`.")
    job_name: str | None = Field(
        default=None, description="A regex searched in the job's name; null: any job."
    )
    user: str | None = Field(default=None, description="The job's unix user; null: any user.")

    @field_validator("job_name")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        return None if value is None else _compiled_regex(value)


class SlackSection(Section):
    """Where notifications go. The bot token is never written here: token_file, token_env or
    systemd's LoadCredential (slack-token) provide it."""

    mode: Literal["console", "bot", "webhook"] = Field(
        default="console",
        description=(
            "console (print messages), bot (the Web API: threads, edits) or webhook (no threads)."
        ),
    )
    base_url: str = Field(
        default="https://slack.com/api/", description="The Slack Web API's address (mode: bot)."
    )
    token_file: str | None = Field(
        default=None,
        description=(
            "A file holding the bot token (mode: bot). Never write the token itself in the "
            "config; systemd's LoadCredential=slack-token:FILE works too."
        ),
    )
    token_env: str | None = Field(
        default="SLACK_BOT_TOKEN",
        description="An environment variable holding the bot token (mode: bot).",
    )
    webhook_url_file: str | None = Field(
        default=None, description="A file holding the incoming-webhook URL (mode: webhook)."
    )
    default_channel: str = Field(
        default="#eagle3-runs", description="Where messages go when no route matches."
    )
    routes: list[SlackRoute] = Field(
        default_factory=list,
        description=(
            "The first matching route picks the channel: `job_name` (a regex on the job name) "
            "and/or `user`, and `channel`."
        ),
        examples=[[{"job_name": "Qwen3", "channel": "#eagle3-qwen"}]],
    )
    mentions: dict[str, str] = Field(
        default_factory=dict,
        description="Who to mention on failures: unix user -> Slack member id.",
        examples=[{"alice": "U012AB3CD"}],
    )
    default_mention: str | None = Field(
        default=None,
        description="Mentioned on failures of users not in `mentions`, e.g. <!subteam^S0123>.",
    )
    pace_seconds: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="At most one message per this many seconds per channel (Slack allows ~1/s).",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_secrets_inline(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("token", "bot_token", "webhook_url"):
                if key in data:
                    raise ValueError(
                        f"`{key}` must not be written in the config: put it in a file "
                        "(slack.token_file / slack.webhook_url_file), an environment variable "
                        "(slack.token_env) or a systemd credential"
                    )
        return data

    def channel_for(self, job_name: str, user: str) -> str:
        for route in self.routes:
            if route.user is not None and route.user != user:
                continue
            if route.job_name is not None and not re.search(route.job_name, job_name):
                continue
            return route.channel
        return self.default_channel

    def mention_for(self, user: str) -> str | None:
        member = self.mentions.get(user)
        return f"<@{member}>" if member else self.default_mention


# Silence that counts as a stall, per task role: model loading and server start-up are slow.
StallKey = Literal["default", "synthesis", "dump", "training", "benchmark"]
DEFAULT_STALL_MINUTES: dict[StallKey, float] = {
    "default": 60.0,
    "synthesis": 60.0,
    "dump": 30.0,
    "training": 30.0,
    "benchmark": 30.0,
}
MAX_STALL_MINUTES = 7 * 24 * 60


class DaemonSection(Section):
    """The service's rhythm."""

    poll_interval_seconds: float = Field(
        default=10,
        ge=1,
        le=3600,
        description=(
            "How often `eagle3-monitor run` asks Slurm; a log's `job exited with code N` line "
            "makes it ask early, so a job's end reaches Slack within about this long."
        ),
    )
    idle_poll_interval_seconds: float = Field(
        default=60,
        ge=1,
        le=3600,
        description=(
            "How often Slurm is asked while no watched job is pending or running (never more "
            "often than `poll_interval_seconds`): an idle daemon costs next to nothing, a new "
            "pipeline's jobs are seen within this long of their submission, and from then on "
            "polls come every `poll_interval_seconds`."
        ),
    )
    send_interval_seconds: float = Field(
        default=1, ge=0.1, le=60, description="How often the Slack outbox is drained."
    )
    review_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description=(
            "Reviews of finished jobs run in this many worker processes, so a huge log never "
            "delays polling."
        ),
    )
    shutdown_timeout_seconds: float = Field(
        default=20,
        ge=1,
        le=600,
        description="On SIGTERM: how long to wait for a running poll before giving up on it.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="The service log's level."
    )
    follow_interval_seconds: float = Field(
        default=2,
        ge=0.5,
        le=600,
        description=(
            "How often running jobs' logs are read for new lines: fatal errors (NCCL watchdog, "
            "CUDA faults, GPU OOM) are alerted while the job still runs."
        ),
    )
    stall_after_minutes: dict[StallKey, Annotated[float, Field(gt=0, le=MAX_STALL_MINUTES)]] = (
        Field(
            default_factory=lambda: dict(DEFAULT_STALL_MINUTES),
            description=(
                "A running job whose logs have not grown for this long gets one stall alert (and "
                "a note when it writes again). Per task role (synthesis: model loading and server "
                "start-up are slow); `default` covers the rest."
            ),
        )
    )

    @property
    def idle_poll_seconds(self) -> float:
        """The poll interval while nothing is pending or running: never the shorter one."""
        return max(self.poll_interval_seconds, self.idle_poll_interval_seconds)

    def stall_after_seconds(self, role: str | None) -> float:
        """A role's own limit, else this file's default, else the built-in default."""
        minutes: dict[str, float] = {
            str(key): value for key, value in self.stall_after_minutes.items()
        }
        fallback = minutes.get("default", DEFAULT_STALL_MINUTES["default"])
        return 60 * minutes.get(role or "default", fallback)


class StatusSection(Section):
    """The status socket (`eagle3-monitor status`)."""

    socket: str | None = Field(
        default=None,
        description=(
            "The status socket's path. null: $RUNTIME_DIRECTORY/status.sock under systemd "
            "(/run/eagle3-monitor/status.sock), else next to the database."
        ),
    )
    allowed_users: list[str] = Field(
        default_factory=list,
        description=(
            "Who may ask, besides root, the daemon's own user and members of its group "
            "(checked with SO_PEERCRED)."
        ),
    )
    allowed_groups: list[str] = Field(
        default_factory=list, description="Members of these groups may ask too."
    )


class StateSection(Section):
    """Where the daemon keeps what it knows."""

    database: str | None = Field(
        default=None,
        description=(
            "The SQLite database. null: $STATE_DIRECTORY/eagle3-monitor.db under systemd, else "
            "~/.local/state/eagle3-monitor/state.db."
        ),
    )


class MetricsSection(Section):
    """Metrics for Prometheus (service/metrics.py): a file for node_exporter's textfile
    collector (no port opened), and/or an HTTP endpoint on loopback."""

    textfile: str | None = Field(
        default=None,
        description=(
            "Where to write the metrics after every poll, for node_exporter's textfile "
            "collector: a `*.prom` file in its --collector.textfile.directory, replaced "
            "atomically. null: no file."
        ),
    )
    listen: str | None = Field(
        default=None,
        description=(
            "Serve /metrics over HTTP on this loopback address (`127.0.0.1:9464`, "
            "`[::1]:9464`); only loopback is allowed. null: no endpoint."
        ),
    )

    @field_validator("textfile")
    @classmethod
    def _prom_file(cls, value: str | None) -> str | None:
        if value is not None and not value.endswith(".prom"):
            raise ValueError("node_exporter's textfile collector reads only `*.prom` files")
        return value

    @field_validator("listen")
    @classmethod
    def _loopback(cls, value: str | None) -> str | None:
        if value is not None:
            loopback_address(value)
        return value


def loopback_address(text: str) -> tuple[str, int]:
    """`host:port` (`[::1]:port` for IPv6) whose host is a loopback address, as (host, port);
    ValueError otherwise: a login node's metrics are not for the network."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not host:port (e.g. 127.0.0.1:9464)")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{host!r} is not a loopback address (127.0.0.1, ::1 or localhost)")
    return host, int(port)


def _section(model: type[BaseModel], **extra: Any) -> Any:
    """A section field: its defaults, its docstring as its description."""
    return Field(
        default_factory=model, description=" ".join((model.__doc__ or "").split()), **extra
    )


class MonitorConfig(Section):
    """The whole config file: one section per part of the monitor."""

    review: ReviewSection = _section(ReviewSection)
    validate_: ValidateSection = _section(ValidateSection, alias="validate")
    slurm: SlurmSection = _section(SlurmSection)
    watch: WatchSection = _section(WatchSection)
    state: StateSection = _section(StateSection)
    slack: SlackSection = _section(SlackSection)
    daemon: DaemonSection = _section(DaemonSection)
    status: StatusSection = _section(StatusSection)
    metrics: MetricsSection = _section(MetricsSection)
    _document: LocatedDocument | None = PrivateAttr(default=None)

    def where_key(self, path: Sequence[str | int]) -> str | None:
        """`file:line:col` of the key at `path` in the file this config came from (of its
        deepest written prefix); None for built-in defaults."""
        return None if self._document is None else self._document.where_key(path)

    def socket_path(self) -> Path:
        if self.status.socket:
            return Path(self.status.socket).expanduser()
        runtime = os.environ.get("RUNTIME_DIRECTORY")
        if runtime:
            return Path(runtime.split(":")[0]) / "status.sock"
        return self.database_path().parent / "status.sock"

    def sacct_settings(self) -> SacctSettings:
        return SacctSettings(
            sacct=self.slurm.sacct,
            scontrol=self.slurm.scontrol,
            timeout=self.slurm.timeout_seconds,
            clusters=tuple(self.slurm.clusters),
            users=tuple(self.watch.users),
            accounts=tuple(self.watch.accounts),
            partitions=tuple(self.watch.partitions),
        )

    def watch_settings(self) -> WatchSettings:
        return WatchSettings(
            job_name_pattern=self.watch.job_name_pattern,
            experiment_roots=tuple(Path(root).expanduser() for root in self.watch.experiment_roots),
            # the first poll looks back far enough for a backfill
            lookback=timedelta(hours=max(self.watch.lookback_hours, self.watch.backfill_hours)),
        )

    def database_path(self) -> Path:
        if self.state.database:
            return Path(self.state.database).expanduser()
        state_directory = os.environ.get("STATE_DIRECTORY")
        if state_directory:
            return Path(state_directory.split(":")[0]) / "eagle3-monitor.db"
        return Path.home() / ".local" / "state" / "eagle3-monitor" / "state.db"

    def review_settings(self, threshold: float | None = None) -> ReviewSettings:
        """Settings for review/validate; `threshold` (from the command line) wins over the file."""
        paths = self.validate_.artifacts
        return ReviewSettings(
            threshold=threshold if threshold is not None else self.review.acceptance_threshold,
            hidden_states_min_share=self.validate_.hidden_states_min_share,
            artifacts=ArtifactTemplates(
                paths.data,
                paths.hidden_states,
                paths.training_output,
                paths.export,
                tuple(paths.benchmark_results),
            ),
        )


@dataclass(frozen=True)
class LoadedConfig:
    config: MonitorConfig
    document: LocatedDocument | None

    @property
    def directory(self) -> Path:
        if self.document is None:
            return Path.cwd()
        return Path(self.document.source).parent


SYSTEM_CONFIG = Path("/etc/eagle3-monitor/config.yaml")
SYSTEM_CONFIG_VARIABLE = "EAGLE3_MONITOR_SYSTEM_CONFIG"  # tests and unusual installs


def system_config_path() -> Path:
    """The system service's config: /etc/eagle3-monitor/config.yaml, or where
    $EAGLE3_MONITOR_SYSTEM_CONFIG says."""
    return Path(os.environ.get(SYSTEM_CONFIG_VARIABLE) or SYSTEM_CONFIG)


def config_path_from(option: Path | None) -> Path | None:
    if option is not None:
        return option
    from_environment = os.environ.get(CONFIG_ENVIRONMENT_VARIABLE)
    if from_environment:
        return Path(from_environment)
    system = system_config_path()
    return system if system.is_file() else None


def load_config(path: Path | None) -> LoadedConfig:
    """The config at `path`, or the defaults when there is none. Every problem (duplicate keys,
    the schema's, the inline rules') is reported at once, in file order."""
    if path is None:
        return LoadedConfig(MonitorConfig(), None)
    document = load_located(path, strict=False)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{document.where(())}: the config must be a mapping of sections")
    problems = list(document.problems)
    try:
        config = MonitorConfig.model_validate(data)
    except ValidationError as error:
        problems += describe_validation_error(error, document, MonitorConfig)
        problems += _rule_problems(_inline_rule_sources(data, document))
    if problems:
        raise ConfigError("\n".join(sorted_by_position(problems)))
    config._document = document  # set once, where the config is made
    return LoadedConfig(config, document)


def load_config_and_catalog(path: Path | None) -> tuple[LoadedConfig, Catalog]:
    """The config and the rule catalog it makes, every problem in either reported at once."""
    loaded = load_config(path)
    return loaded, catalog_from(loaded)


def sorted_by_position(problems: list[str]) -> list[str]:
    """Problems in file order: `file:line:col: ...` sorted by file, then line and column."""

    def key(problem: str) -> tuple[str, int, int]:
        match = re.match(r"^(.*?):([0-9]+):([0-9]+): ", problem)
        if not match:
            return (problem, 0, 0)
        return (match.group(1), int(match.group(2)), int(match.group(3)))

    return sorted(problems, key=key)


def _inline_rule_sources(data: dict[str, Any], document: LocatedDocument) -> list[RuleSource]:
    review = data.get("review")
    rules = review.get("rules") if isinstance(review, dict) else None
    if not isinstance(rules, list):
        return []
    return [
        RuleSource(fields, document, ("review", "rules", index))
        for index, fields in enumerate(rules)
        if isinstance(fields, dict)
    ]


def _rule_problems(sources: list[RuleSource]) -> list[str]:
    try:
        load_catalog(sources)
    except ConfigError as error:
        return str(error).splitlines()
    return []


def catalog_from(loaded: LoadedConfig) -> Catalog:
    """The built-in rules merged with the config's rule files and inline rules."""
    sources, problems = config_rule_sources(loaded)
    try:
        catalog = load_catalog(sources)
    except ConfigError as error:
        problems += str(error).splitlines()
    if problems:
        raise ConfigError("\n".join(sorted_by_position(problems)))
    return catalog


def config_rule_sources(loaded: LoadedConfig) -> tuple[list[RuleSource], list[str]]:
    """The rules the config adds or changes, in the order they apply (rule files, then inline
    rules), and the problems of rule files that cannot be read, each at the entry naming it."""
    sources: list[RuleSource] = []
    problems: list[str] = []
    review = loaded.config.review
    for index, file_name in enumerate(review.rule_files):
        try:
            sources.extend(_rules_of_file(loaded.directory / file_name))
        except ConfigError as error:
            problems.extend(_at_entry(loaded, ("review", "rule_files", index), str(error)))
    if loaded.document is not None:
        for index, fields in enumerate(review.rules):
            sources.append(RuleSource(fields, loaded.document, ("review", "rules", index)))
    return sources, problems


def _at_entry(loaded: LoadedConfig, path: tuple[str | int, ...], error: str) -> list[str]:
    """A rule file's problems; one with no position of its own (missing, unreadable) is put at
    the config entry that named the file."""
    if loaded.document is None:
        return error.splitlines()
    entry = f"{loaded.document.where(path)}: at '{format_key_path(path)}'"
    return [
        line if re.match(r"^.*?:[0-9]+:[0-9]+: ", line) else f"{entry}: {line}"
        for line in error.splitlines()
    ]


def sample_failure_messages(loaded: LoadedConfig, failures: list[SampleFailure]) -> list[str]:
    """Each failing rule sample as `file:line:col: at 'path' (rule id): sample ...: 'line'`,
    at the sample as written: in the config, a rule file it names, or the built-in catalog."""
    written = _where_samples_are(loaded)
    messages = []
    for failure in failures:
        text = f"(rule {failure.rule_id}): sample {failure.problem}: {failure.line!r}"
        source = written.get(failure.rule_id)
        if source is None:
            messages.append(f"rule {failure.rule_id}: sample {failure.problem}: {failure.line!r}")
            continue
        path = (*source.path, "samples", failure.kind, failure.index)
        where = source.document.where(path)
        messages.append(f"{where}: at '{format_key_path(path)}' {text}")
    return sorted_by_position(messages)


def _where_samples_are(loaded: LoadedConfig) -> dict[str, RuleSource]:
    """For each rule id, the last source that writes its samples (a later one overrides)."""
    document = builtin_catalog_document()
    rules = document.data.get("rules") if isinstance(document.data, dict) else None
    sources = [
        RuleSource(fields, document, ("rules", index))
        for index, fields in enumerate(rules if isinstance(rules, list) else [])
    ]
    sources += config_rule_sources(loaded)[0]
    return {
        source.fields["id"]: source
        for source in sources
        if isinstance(source.fields, dict) and "samples" in source.fields
    }


def _rules_of_file(path: Path) -> list[RuleSource]:
    document = load_located(path)
    data = document.data
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        raise ConfigError(f"{document.where(('rules',))}: a rule file needs a `rules:` list")
    return [RuleSource(fields, document, ("rules", index)) for index, fields in enumerate(rules)]
