"""Renderers for `eagle3-monitor poll --once`: runs and their tasks' Slurm states."""

from __future__ import annotations

from typing import Any

from eagle3_monitor.monitor.poll import PollResult
from eagle3_monitor.state.store import Store, StoredJob, StoredRun

POLL_SCHEMA = "eagle3-monitor.poll/1"


def poll_to_json(result: PollResult, store: Store) -> dict[str, Any]:
    return {
        "schema": POLL_SCHEMA,
        "ok": result.ok,
        "error": result.error,
        "warnings": result.warnings,
        "jobs_seen": result.jobs_seen,
        "transitions": [
            {
                "job_id": t.job.job_id,
                "task_index": t.job.task_index,
                "old_state": t.old_state,
                "new_state": t.new_state,
                "final": t.final,
            }
            for t in result.transitions
        ],
        "runs": [_run_json(run, store.jobs_of_run(run.id)) for run in store.runs()],
    }


def _run_json(run: StoredRun, jobs: list[StoredJob]) -> dict[str, Any]:
    return {
        "run_key": run.run_key,
        "cluster": run.cluster,
        "experiment": run.experiment_id,
        "experiment_dir": run.experiment_dir,
        "job_base": run.job_base,
        "user": run.user,
        "tasks": [
            {
                "task": f"task_{job.task_index}" if job.task_index is not None else None,
                "index": job.task_index,
                "role": job.role,
                "job_id": job.job_id,
                "name": job.name,
                "state": job.state,
                "exit_code": job.exit_code,
                "signal": job.signal,
                "exit_status": job.exit_status,
                "final": job.final,
                "start": job.start,
                "end": job.end,
                "logs": job.log_paths,
            }
            for job in jobs
        ],
    }


def poll_to_text(result: PollResult, store: Store) -> str:
    seconds = (result.finished - result.started).total_seconds() if result.finished else 0.0
    if result.ok:
        lines = [
            f"poll ok: {result.jobs_seen} pipeline jobs seen, "
            f"{len(result.transitions)} state changes ({seconds:.2f} s)"
        ]
    else:
        lines = [f"poll FAILED: {result.error} (states below may be stale)"]
    lines += [f"warning: {warning}" for warning in result.warnings]
    for run in store.runs():
        title = run.experiment_id or run.run_key
        lines.append(f"{title}  {run.job_base}  user {run.user or '?'}  cluster {run.cluster}")
        lines += [f"  {_job_line(job)}" for job in store.jobs_of_run(run.id)]
    return "\n".join(lines) + "\n"


def _job_line(job: StoredJob) -> str:
    """One job: task, role, id, state, exit status (as review shows it), final, and its logs or
    why it has none."""
    label = f"task_{job.task_index}" if job.task_index is not None else "task_?"
    final = "final" if job.final else ""
    status = job.exit_status
    exit_text = f"exit {status}" if status is not None and job.start is not None else ""
    role = job.role or ""
    columns = f"{label:<7} {role:<9} {job.display_id:<10} {job.state:<14}"
    columns += f" {exit_text:<8} {final:<5}"
    return f"{columns} {_logs_words(job)}"


def _logs_words(job: StoredJob) -> str:
    if job.log_paths:
        return f"{len(job.log_paths)} logs"
    return job.slurm_view().never_ran or "no logs yet"
