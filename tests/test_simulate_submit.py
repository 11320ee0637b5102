"""`eagle3-monitor simulate` when Slurm cannot take the pipeline: one line that says what is
missing and how to start the local cluster, and no half-made `cicd_*` directory or orphan
jobs left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from eagle3_monitor.simulate.pipeline import SubmitError, sbatch_problem, submit_pipeline
from tests.cli_runner import executable, run_cli

# sbatch 22.05 with SLURM_CONF unset, no /etc/slurm/slurm.conf and no DNS SRV record (verbatim)
NO_CONFIGURATION = """\
sbatch: error: resolve_ctls_from_dns_srv: res_nsearch error: Unknown host
sbatch: error: fetch_config: DNS SRV lookup failed
sbatch: error: _establish_config_source: failed to fetch config
sbatch: fatal: Could not establish a configuration source
"""
NO_CONTROLLER = """\
sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)
"""
HOW_TO_START = 'scripts/slurm-dev-cluster up && eval "$(scripts/slurm-dev-cluster env)"'


def test_no_configuration_is_one_line_saying_how_to_start_the_local_cluster() -> None:
    problem = sbatch_problem(0, NO_CONFIGURATION)

    assert problem.startswith("no Slurm to submit to: sbatch found no configuration")
    assert HOW_TO_START in problem and "\n" not in problem
    assert "resolve_ctls_from_dns_srv" not in problem


def test_no_controller_says_so_and_another_refusal_keeps_sbatchs_first_error() -> None:
    assert sbatch_problem(1, NO_CONTROLLER).startswith("no Slurm controller answers sbatch")
    other = "sbatch: error: Invalid account or account/partition combination specified\n"
    assert sbatch_problem(2, other) == f"sbatch failed for task_2: {other.strip()}"


@pytest.mark.skipif(
    shutil.which("sbatch") is None or Path("/etc/slurm/slurm.conf").exists(),
    reason="needs Slurm's sbatch installed with no system-wide slurm.conf",
)
def test_simulate_without_slurm_conf_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    unset = ("SLURM_CONF", "EAGLE3_MONITOR_CONFIG")
    environment = {key: value for key, value in os.environ.items() if key not in unset}

    done = subprocess.run([*executable(), "simulate", str(tmp_path)], env=environment,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip

    assert done.returncode == 2, done
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith("eagle3-monitor: error: no Slurm to submit to:") and HOW_TO_START in line
    assert list(tmp_path.iterdir()) == []


def test_a_refusal_midway_cancels_the_jobs_already_submitted_and_removes_the_dir(
    tmp_path: Path,
) -> None:
    """A stand-in sbatch that takes task_0 and refuses task_1 (the real one's refusals are
    above), and a scancel beside it that records what it was asked to cancel."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "sbatch").write_text(
        "#!/bin/sh\n"
        f'echo sbatch >> "{calls}"\n'
        f'[ "$(grep -c sbatch "{calls}")" -le 1 ] && {{ echo 4101; exit 0; }}\n'
        f"printf '%s' '{NO_CONTROLLER}' >&2; exit 1\n"
    )
    (bin_dir / "scancel").write_text(f'#!/bin/sh\necho "scancel $*" >> "{calls}"\n')
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    root = tmp_path / "experiments"

    with pytest.raises(SubmitError, match=r"^no Slurm controller answers sbatch"):
        submit_pipeline(root, epoch=1764115200, sbatch=str(bin_dir / "sbatch"))

    assert calls.read_text().splitlines() == ["sbatch", "sbatch", "scancel 4101"]
    assert not (root / "cicd_1764115200").exists()


def test_an_existing_experiment_dir_is_refused_and_kept(tmp_path: Path) -> None:
    experiment = tmp_path / "cicd_1764115200"
    (experiment / "notes").mkdir(parents=True)

    with pytest.raises(SubmitError, match="exists already"):
        submit_pipeline(tmp_path, epoch=1764115200, sbatch="/nonexistent/sbatch")

    assert (experiment / "notes").is_dir()


def test_no_sbatch_on_the_path_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SubmitError, match=r"is not installed.*slurm-dev-cluster up"):
        submit_pipeline(tmp_path, epoch=1764115200, sbatch=str(tmp_path / "no-sbatch"))

    assert list(tmp_path.iterdir()) == []


def test_slurm_conf_naming_no_file_is_refused_at_once(tmp_path: Path) -> None:
    done = run_cli("simulate", tmp_path, env={"SLURM_CONF": str(tmp_path / "slurm.conf")})

    assert done.status == 2, done
    [line] = done.stderr.splitlines()
    assert line.startswith(f"eagle3-monitor: error: SLURM_CONF='{tmp_path}/slurm.conf' is not")
    assert list(tmp_path.iterdir()) == []
