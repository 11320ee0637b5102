"""Slack messages composed from a real review of the bundled failing example."""

from __future__ import annotations

from pathlib import Path

from eagle3_monitor.review.run import review_path
from eagle3_monitor.rules import Catalog
from eagle3_monitor.slack.compose import run_finished_message, run_header, task_message
from eagle3_monitor.slack.messages import parent_message, readable

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "experiments" / "cicd_1764115200"


def test_parent_lists_every_task_with_its_state(catalog: Catalog) -> None:
    review = review_path(EXAMPLE, catalog)

    message = parent_message(run_header(review, user="alice", cluster="dev"))

    body = message.blocks[2]["text"]["text"]
    assert "`task_2` training: *fail*" in body and "`task_0` synthesis: *pass*" in body
    assert "cicd_1764115200" in message.blocks[0]["text"]["text"]


def test_failed_task_reply_carries_cause_evidence_fix_and_rerun(catalog: Catalog) -> None:
    review = review_path(EXAMPLE, catalog)

    message = task_message(review, review.tasks[2], mention="<@U1>")

    body = "\n".join(block["text"]["text"] for block in message.blocks)
    assert message.broadcast
    assert "`gpu_oom`" in body and "CUDA out of memory on GPU 2" in body
    assert (
        "Qwen3-8B_EAGLE3_offline_2/log-" in body and ":24: [rank2]: torch.OutOfMemoryError" in body
    )
    assert f"eagle3-monitor rerun {EXAMPLE} &gt; rerun.yaml &amp;&amp; uv run launch.py" in body
    assert "task_1: skip: true (passed in cicd_1764115200)" in body
    assert "task_2: data.offline_data_path /scratchspace/offline_hidden_states → " in body


def test_finished_message_leads_with_the_root_cause_then_the_acceptance_length(
    catalog: Catalog,
) -> None:
    review = review_path(EXAMPLE, catalog)

    body = readable(run_finished_message(review))

    assert body.startswith(":x: *Run failed* — task_2 (training) gpu_oom: CUDA out of memory")
    assert body.index("gpu_oom") < body.index("acceptance length 1.31 < 2.1")
    assert "task_1 hidden_states_files: 24 .pt files" in body
    assert "loss `" in body
