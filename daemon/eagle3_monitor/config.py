"""The user's config file: validated against one schema, every error reported at once with
file:line:column and the key path. For now it holds the review settings; the daemon's sections
come with it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from eagle3_monitor.errors import ConfigError
from eagle3_monitor.monitor.discovery import DEFAULT_JOB_NAME_PATTERN
from eagle3_monitor.monitor.poll import WatchSettings
from eagle3_monitor.review.run import ReviewSettings
from eagle3_monitor.rules.catalog import Catalog, RuleSource, load_catalog
from eagle3_monitor.slurm.sacct import SacctSettings
from eagle3_monitor.validate.run import ArtifactTemplates
from eagle3_monitor.vocabulary import DEFAULT_ACCEPTANCE_THRESHOLD
from eagle3_monitor.yamlpos import LocatedDocument, format_key_path, load_located

CONFIG_ENVIRONMENT_VARIABLE = "EAGLE3_MONITOR_CONFIG"


class ReviewSection(BaseModel):
    """How logs are reviewed."""

    model_config = ConfigDict(extra="forbid")

    acceptance_threshold: float = Field(default=DEFAULT_ACCEPTANCE_THRESHOLD, gt=0, le=64)
    rules: list[dict[str, Any]] = Field(default_factory=list)
    rule_files: list[str] = Field(default_factory=list)


class ArtifactPathsSection(BaseModel):
    """Where each role's artifacts are. `{experiment}` is the experiment directory,
    `{task_dir}` the task's directory; relative paths are taken from the experiment dir."""

    model_config = ConfigDict(extra="forbid")

    data: str = "{experiment}/data"
    hidden_states: str = "{experiment}/offline_hidden_states"
    training_output: str = "{experiment}/eagle3"
    export: str = "{experiment}/export"
    benchmark_results: list[str] = Field(default_factory=lambda: ["{task_dir}", "{experiment}"])


class ValidateSection(BaseModel):
    """How artifacts are validated."""

    model_config = ConfigDict(extra="forbid")

    hidden_states_min_share: float = Field(default=0.9, ge=0, le=1)
    artifacts: ArtifactPathsSection = Field(default_factory=ArtifactPathsSection)


class SlurmSection(BaseModel):
    """How Slurm is asked."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["sacct", "pyslurm"] = "sacct"
    sacct: str = "sacct"
    scontrol: str = "scontrol"
    timeout_seconds: float = Field(default=60, gt=0, le=3600)
    clusters: list[str] = Field(default_factory=list)


class WatchSection(BaseModel):
    """Which jobs are EAGLE3 pipeline jobs."""

    model_config = ConfigDict(extra="forbid")

    users: list[str] = Field(default_factory=list)
    accounts: list[str] = Field(default_factory=list)
    partitions: list[str] = Field(default_factory=list)
    job_name_pattern: str = DEFAULT_JOB_NAME_PATTERN
    experiment_roots: list[str] = Field(default_factory=list)
    lookback_hours: float = Field(default=24, gt=0)

    @field_validator("job_name_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"not a valid regular expression: {error}") from None
        return value


class SlackRoute(BaseModel):
    """Messages of runs whose job name matches `job_name` (a regex) or whose user is `user` go
    to `channel`; the first matching route wins."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(min_length=1)
    job_name: str | None = None
    user: str | None = None

    @field_validator("job_name")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a valid regular expression: {error}") from None
        return value


class SlackSection(BaseModel):
    """Where notifications go. The bot token is never written here: token_file, token_env or
    systemd's LoadCredential (slack-token) provide it."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["console", "bot", "webhook"] = "console"
    base_url: str = "https://slack.com/api/"
    token_file: str | None = None
    token_env: str | None = "SLACK_BOT_TOKEN"
    webhook_url_file: str | None = None
    default_channel: str = "#eagle3-runs"
    routes: list[SlackRoute] = Field(default_factory=list)
    mentions: dict[str, str] = Field(default_factory=dict)  # unix user -> Slack member id
    default_mention: str | None = None  # e.g. <!subteam^S0123> for a user group
    pace_seconds: float = Field(default=1.0, ge=0, le=60)

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


class DaemonSection(BaseModel):
    """The service's rhythm."""

    model_config = ConfigDict(extra="forbid")

    poll_interval_seconds: float = Field(default=10, ge=1, le=3600)
    send_interval_seconds: float = Field(default=1, ge=0.1, le=60)
    review_workers: int = Field(default=2, ge=1, le=16)
    shutdown_timeout_seconds: float = Field(default=20, ge=1, le=600)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # Live following of running jobs' logs: how often, and when silence becomes a stall.
    follow_interval_seconds: float = Field(default=2, ge=0.5, le=600)
    stall_after_minutes: dict[StallKey, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_STALL_MINUTES)
    )

    def stall_after_seconds(self, role: str | None) -> float:
        """A role's own limit, else this file's default, else the built-in default."""
        minutes: dict[str, float] = {
            str(key): value for key, value in self.stall_after_minutes.items()
        }
        fallback = minutes.get("default", DEFAULT_STALL_MINUTES["default"])
        return 60 * minutes.get(role or "default", fallback)


class StatusSection(BaseModel):
    """The status socket (`eagle3-monitor status`)."""

    model_config = ConfigDict(extra="forbid")

    socket: str | None = None  # default: $RUNTIME_DIRECTORY/status.sock
    allowed_users: list[str] = Field(default_factory=list)  # besides root and the daemon's user
    allowed_groups: list[str] = Field(default_factory=list)


class StateSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database: str | None = None  # default: $STATE_DIRECTORY/eagle3-monitor.db


class MonitorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review: ReviewSection = Field(default_factory=ReviewSection)
    validate_: ValidateSection = Field(default_factory=ValidateSection, alias="validate")
    slurm: SlurmSection = Field(default_factory=SlurmSection)
    watch: WatchSection = Field(default_factory=WatchSection)
    state: StateSection = Field(default_factory=StateSection)
    slack: SlackSection = Field(default_factory=SlackSection)
    daemon: DaemonSection = Field(default_factory=DaemonSection)
    status: StatusSection = Field(default_factory=StatusSection)

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
            lookback=timedelta(hours=self.watch.lookback_hours),
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


def config_path_from(option: Path | None) -> Path | None:
    if option is not None:
        return option
    from_environment = os.environ.get(CONFIG_ENVIRONMENT_VARIABLE)
    if from_environment:
        return Path(from_environment)
    return SYSTEM_CONFIG if SYSTEM_CONFIG.is_file() else None


def load_config(path: Path | None) -> LoadedConfig:
    """The config at `path`, or the defaults when there is none."""
    if path is None:
        return LoadedConfig(MonitorConfig(), None)
    document = load_located(path)
    data = document.data if document.data is not None else {}
    if not isinstance(data, dict):
        raise ConfigError(f"{document.where(())}: the config must be a mapping of sections")
    try:
        config = MonitorConfig.model_validate(data)
    except ValidationError as error:
        problems = describe_validation_error(error, document)
        problems += _rule_problems(_inline_rule_sources(data, document))
        raise ConfigError("\n".join(sorted_by_position(problems))) from None
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


def describe_validation_error(error: ValidationError, document: LocatedDocument) -> list[str]:
    lines = []
    for problem in error.errors():
        location = problem["loc"]
        lines.append(
            f"{document.where(location)}: at '{format_key_path(location)}': {problem['msg']}"
        )
    return lines


def catalog_from(loaded: LoadedConfig) -> Catalog:
    """The built-in rules merged with the config's rule files and inline rules."""
    sources: list[RuleSource] = []
    review = loaded.config.review
    for file_name in review.rule_files:
        sources.extend(_rules_of_file(loaded.directory / file_name))
    if loaded.document is not None:
        for index, fields in enumerate(review.rules):
            sources.append(RuleSource(fields, loaded.document, ("review", "rules", index)))
    try:
        return load_catalog(sources)
    except ConfigError as error:
        raise ConfigError("\n".join(sorted_by_position(str(error).splitlines()))) from None


def _rules_of_file(path: Path) -> list[RuleSource]:
    document = load_located(path)
    data = document.data
    rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(rules, list):
        raise ConfigError(f"{document.where(('rules',))}: a rule file needs a `rules:` list")
    return [RuleSource(fields, document, ("rules", index)) for index, fields in enumerate(rules)]
