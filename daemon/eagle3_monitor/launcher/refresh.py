"""Rewrite `schema.json` from a launcher checkout: the fields of its dataclasses and the
scripts under its `common/`.

    python -m eagle3_monitor.launcher.refresh path/to/Model-Optimizer/tools/launcher [-o FILE]

Reads the source with `ast` (nothing is imported or run). The list of stale scripts is kept:
it says why a script is out of date, which a checkout cannot tell."""

from __future__ import annotations

import argparse
import ast
import json
import sys
from pathlib import Path
from typing import Any

from eagle3_monitor.errors import UnusableInputError
from eagle3_monitor.launcher.schema import SCHEMA_FILE

_CLASS_LEVELS = {
    "SandboxPipeline": "pipeline",
    "SandboxTask": "task",
    "GlobalVariables": "global_vars",
    "SlurmConfig": "slurm_config",
}
_MAX_SOURCE_BYTES = 2 << 20


def launcher_fields(launcher_dir: Path) -> dict[str, dict[str, str]]:
    """Field → type text for each level, from core.py, slurm_config.py and launch.py."""
    fields: dict[str, dict[str, str]] = {level: {} for level in (*_CLASS_LEVELS.values(),)}
    fields["launch"] = {}
    for name in ("core.py", "slurm_config.py"):
        for tree in _parsed(launcher_dir, name):
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name in _CLASS_LEVELS:
                    fields[_CLASS_LEVELS[node.name]].update(_class_fields(node))
                if isinstance(node, ast.FunctionDef) and node.name == "slurm_factory":
                    for arg, kind in _parameters(node).items():
                        fields["slurm_config"].setdefault(arg, kind)
    for tree in _parsed(launcher_dir, "launch.py"):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == "launch":
                fields["launch"] = _parameters(node)
    missing = [level for level in ("pipeline", "task", "slurm_config") if not fields[level]]
    if missing:
        raise UnusableInputError(
            f"{launcher_dir}: no {', '.join(missing)} dataclass found in core.py / "
            "slurm_config.py; is this tools/launcher of a Model-Optimizer checkout?"
        )
    fields["slurm_config"]["_factory_"] = "str"
    return fields


def launcher_scripts(launcher_dir: Path) -> list[str]:
    return sorted(
        str(path.relative_to(launcher_dir)) for path in launcher_dir.glob("common/**/*.sh")
    )


def refreshed_schema(launcher_dir: Path, current: dict[str, Any]) -> dict[str, Any]:
    return {
        "about": current.get("about", ""),
        **launcher_fields(launcher_dir),
        "scripts": launcher_scripts(launcher_dir),
        "stale_scripts": current.get("stale_scripts", {}),
    }


def _parsed(launcher_dir: Path, name: str) -> list[ast.Module]:
    """The module `name` in the launcher dir or its installed-package layout."""
    trees = []
    for path in (launcher_dir / name, launcher_dir / "modelopt_launcher" / name):
        if path.is_file() and path.stat().st_size <= _MAX_SOURCE_BYTES:
            try:
                trees.append(ast.parse(path.read_text("utf-8"), str(path)))
            except (SyntaxError, UnicodeDecodeError) as error:
                raise UnusableInputError(f"{path}: cannot parse: {error}") from None
    return trees


_NESTED_BY_NAME = {
    "pipeline": "SandboxPipeline",
    "global_vars": "GlobalVariables",
    "slurm_config": "SlurmConfig",
}


def _class_fields(node: ast.ClassDef) -> dict[str, str]:
    return {
        statement.target.id: _type_text(statement.annotation, statement.target.id)
        for statement in node.body
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and not statement.target.id.startswith("_")
    }


def _parameters(node: ast.FunctionDef) -> dict[str, str]:
    return {
        arg.arg: _type_text(arg.annotation, arg.arg) if arg.annotation else "str"
        for arg in (*node.args.args, *node.args.kwonlyargs)
    }


def _type_text(annotation: ast.expr, name: str) -> str:
    """The type as the schema writes it; the nested configs by their field's name (the
    launcher annotates some as `object`, patched at run time)."""
    if name in _NESTED_BY_NAME:
        return _NESTED_BY_NAME[name]
    if name.startswith("task_"):
        return "SandboxTask"
    text = ast.unparse(annotation).replace("typing.", "").replace("List[", "list[")
    return text.replace("Dict[", "dict[").removeprefix("Optional[")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eagle3_monitor.launcher.refresh")
    parser.add_argument("launcher_dir", type=Path, help="tools/launcher of a checkout")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name(SCHEMA_FILE))
    options = parser.parse_args(argv)
    current = json.loads(options.output.read_text("utf-8")) if options.output.is_file() else {}
    try:
        schema = refreshed_schema(options.launcher_dir, current)
    except UnusableInputError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201 - a command-line tool
        return 2
    options.output.write_text(json.dumps(schema, indent=2) + "\n", "utf-8")
    counts = ", ".join(f"{len(schema[level])} {level}" for level in (*_CLASS_LEVELS.values(),))
    print(f"wrote {options.output}: {counts} fields, {len(schema['scripts'])} scripts")  # noqa: T201 - a command-line tool
    return 0


if __name__ == "__main__":
    sys.exit(main())
