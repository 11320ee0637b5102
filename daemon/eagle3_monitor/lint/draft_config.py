"""The draft head's settings a training task ends up with: the recipe it names (`--config
…/eagle3.yaml`, its `eagle:` section), an `--eagle_config eagle_config.json`, then the OmegaConf
overrides in its args (`eagle.eagle_architecture_config.intermediate_size=2048`), later winning."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.lint.pipeline import TaskSpec
from eagle3_monitor.safe_read import read_small_text

ARCHITECTURE = "eagle.eagle_architecture_config."
DECODER_TYPE = "eagle.eagle_decoder_type"
_REPO_PREFIX = "modules/Model-Optimizer/"
_MAX_ANCESTORS = 8
# The general recipe's draft: a llama decoder, the architecture taken from the target model.
GENERAL_RECIPE = "modelopt_recipes/general/speculative_decoding/eagle3.yaml"


@dataclass
class DraftSettings:
    intermediate_size: int | None = None
    hidden_size: int | None = None
    decoder_type: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # setting → where it was set
    eagle_config: Path | None = None  # the eagle_config.json that was read
    unread: list[str] = field(default_factory=list)  # named files that could not be read


def draft_settings(task: TaskSpec, search_roots: list[Path]) -> DraftSettings:
    settings = DraftSettings()
    recipe = task.option(("--config",))
    if recipe:
        section = _read_file(recipe, search_roots, settings, _yaml_mapping)
        eagle = section.get("eagle") if isinstance(section, dict) else None
        if isinstance(eagle, dict):
            _apply(settings, eagle.get("eagle_architecture_config"), recipe)
            _set(settings, "decoder_type", eagle.get("eagle_decoder_type"), recipe)
    eagle_config = task.option(("--eagle_config", "--eagle-config"))
    if eagle_config and "offline_training" not in (task.script or ""):  # it ignores the flag
        found = _read_file(eagle_config, search_roots, settings, _json_mapping)
        _apply(settings, found, eagle_config)
        if found:
            settings.eagle_config = _resolve(eagle_config, search_roots)
    for word in " ".join(task.args).split():
        name, equals, value = word.partition("=")
        if equals and name.startswith(ARCHITECTURE):
            _apply(settings, {name[len(ARCHITECTURE) :]: _number(value)}, word)
        elif equals and name == DECODER_TYPE:
            _set(settings, "decoder_type", value, word)
    return settings


def search_roots_for(pipeline_file: Path, launcher_dir: Path | None) -> list[Path]:
    """Where relative paths in the args may live: the launcher checkout, then the YAML's
    directory and its parents (an example YAML sits inside tools/launcher/examples/…)."""
    roots = [launcher_dir] if launcher_dir else []
    directory = pipeline_file.resolve().parent
    roots += [directory, *list(directory.parents)[:_MAX_ANCESTORS]]
    return roots


def _resolve(name: str, roots: list[Path]) -> Path | None:
    candidates = [Path(name)] if Path(name).is_absolute() else []
    for root in roots:
        if not Path(name).is_absolute():
            candidates.append(root / name)
            if name.startswith(_REPO_PREFIX):
                candidates.append(root / name[len(_REPO_PREFIX) :])
    return next((path for path in candidates if path.is_file()), None)


def _read_file(name: str, roots: list[Path], settings: DraftSettings, parse: Any) -> dict[str, Any]:
    path = _resolve(name, roots)
    if path is None:
        if not name.endswith(GENERAL_RECIPE):  # its defaults are known: nothing to check
            settings.unread.append(name)
        return {}
    try:
        data = parse(read_small_text(path, 1 << 20))
    except (UnusableInputError, ValueError, yaml.YAMLError):
        settings.unread.append(name)
        return {}
    return data if isinstance(data, dict) else {}


def _yaml_mapping(text: str) -> Any:
    return yaml.safe_load(text)


def _json_mapping(text: str) -> Any:
    return json.loads(text)


def _apply(settings: DraftSettings, architecture: Any, source: str) -> None:
    if not isinstance(architecture, dict):
        return
    for key in ("intermediate_size", "hidden_size"):
        value = architecture.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            _set(settings, key, value, source)


def _set(settings: DraftSettings, name: str, value: Any, source: str) -> None:
    if value is not None and value != "":
        setattr(settings, name, value)
        settings.sources[name] = source


def _number(text: str) -> int | str:
    return int(text) if text.isdigit() else text
