"""Write an experiment directory in the launcher's layout from a plan of its tasks."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from eagle3_monitor.simulate.artifacts import write_artifacts
from eagle3_monitor.simulate.logtext import (
    TaskNames,
    healthy_task_log,
    iter_roles,
    launcher_batch_script,
    sbatch_trace,
    writelines,
)
from eagle3_monitor.vocabulary import Role

DEFAULT_JOB_BASE = "Qwen3-8B_EAGLE3_offline"


@dataclass
class TaskPlan:
    """What one task left on disk. `task_log=None` with `ran=False` means it never ran."""

    role: Role
    ran: bool = True
    task_log: str | None = None  # None: the role's healthy output
    exit_code: int | None = 0  # None: the batch step has no trailer (killed, or running)
    sbatch_tail: str = ""  # Slurm lines after the srun command (slurmstepd/srun errors)
    restarts: list[str] = field(default_factory=list)  # earlier attempts' task logs
    artifacts: bool | None = None  # write the role's artifacts; default: when it exited 0
    acceptance: float = 2.62  # the benchmark's acceptance length in its result files
    command: str | None = None  # the launcher script and arguments (default: the role's usual)

    @property
    def writes_artifacts(self) -> bool:
        return self.ran and (self.artifacts if self.artifacts is not None else self.exit_code == 0)


def healthy_plan() -> list[TaskPlan]:
    return [TaskPlan(role) for _, role in iter_roles()]


def plan_failing_at(index: int, failed: TaskPlan) -> list[TaskPlan]:
    """Tasks before `index` pass, task `index` is `failed`, the rest never ran (afterok)."""
    plans = healthy_plan()
    plans[index] = failed
    for later in plans[index + 1 :]:
        later.ran = False
    return plans


def write_experiment(
    root: Path,
    plans: list[TaskPlan],
    *,
    epoch: int = 1764115200,
    job_base: str = DEFAULT_JOB_BASE,
    first_job_id: int = 418200,
    seed: int = 7,
) -> Path:
    """Create `root/cicd_<epoch>/` with one task dir per plan; returns the experiment dir."""
    rng = random.Random(seed)
    experiment = root / f"cicd_{epoch}"
    experiment.mkdir(parents=True, exist_ok=True)
    metadata = {"experiment_id": experiment.name, "job_name": job_base, "allow_to_fail": False}
    (experiment / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    for index, plan in enumerate(plans):
        names = TaskNames(job_base, index)
        task_dir = experiment / names.directory
        (task_dir / "code").mkdir(parents=True, exist_ok=True)
        (task_dir / "configs").mkdir(exist_ok=True)
        batch_script = launcher_batch_script(names, plan.role, plan.command)
        (experiment / f"{names.directory}_sbatch.sh").write_text(batch_script)  # all submitted
        if not plan.ran:
            continue
        job_id = first_job_id + index
        for restart, text in enumerate(plan.restarts):
            writelines(task_dir / names.task_log_file(job_id, restart), text)
        log_text = plan.task_log if plan.task_log is not None else healthy_task_log(plan.role, rng)
        writelines(task_dir / names.task_log_file(job_id, len(plan.restarts)), log_text)
        trace = sbatch_trace(names, plan.role, job_id, None, plan.command)
        trailer = sbatch_trace(names, plan.role, job_id, plan.exit_code, plan.command)[len(trace) :]
        writelines(task_dir / names.sbatch_file(job_id), trace + plan.sbatch_tail + trailer)
        if plan.writes_artifacts:
            write_artifacts(plan.role, experiment, task_dir, plan.acceptance)
    return experiment
