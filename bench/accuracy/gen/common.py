"""Templates and YAML writer for the eagle3-monitor held-out accuracy set.

The YAML files under ../cases/ are the product; this module only helps write
them consistently.  Failure text inside each case is copied from the public
report cited in the case's `source`; the templates below only produce the
surrounding, ordinary pipeline output (server start-up, progress, success
lines) that every run of the EAGLE3 pipeline prints.
"""

import json
import os
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.normpath(os.path.join(HERE, "..", "cases"))

CASES = []  # filled by the cases_*.py modules


def dedent(s):
    s = textwrap.dedent(s)
    if s.startswith("\n"):
        s = s[1:]
    return s.replace("\t", "    ")


def add(name, *, source, why, expect, family, tasks=None, lone_file=None):
    CASES.append(
        dict(
            name=name,
            source=source,
            why=why,
            expect=expect,
            family=family,
            tasks=tasks,
            lone_file=lone_file,
        )
    )


def task(
    index, state="ran", exit_code=0, log=None, sbatch_tail=None, artifacts=None, acceptance=None
):
    if artifacts is None:
        artifacts = state in ("ran", "no_logs") and exit_code == 0
    t = dict(
        index=index,
        state=state,
        exit_code=exit_code,
        log=log,
        sbatch_tail=sbatch_tail,
        artifacts=artifacts,
    )
    if acceptance is not None:
        t["acceptance"] = acceptance
    return t


def not_run(index):
    return dict(index=index, state="not_run", exit_code=None, artifacts=False)


def skipped(index):
    return dict(index=index, state="skipped", exit_code=None, artifacts=False)


# ---------------------------------------------------------------- YAML out
def _q(s):
    return json.dumps(s, ensure_ascii=False)


def _block(key, text, indent):
    text = dedent(text)
    if not text.endswith("\n"):
        text += "\n"
    first = text.split("\n", 1)[0]
    assert first and not first[0].isspace(), (key, first)
    pad = " " * (indent + 2)
    lines = [(pad + ln) if ln.strip() else "" for ln in text.rstrip("\n").split("\n")]
    return " " * indent + key + ": |\n" + "\n".join(lines) + "\n"


def to_yaml(c):
    out = []
    out.append("source: " + _q(c["source"]) + "\n")
    out.append("why: " + _q(c["why"]) + "\n")
    out.append("expect:\n")
    for k in ("run", "task", "category"):
        if k in c["expect"] and c["expect"][k] is not None:
            v = c["expect"][k]
            out.append("  %s: %s\n" % (k, v if isinstance(v, int) else v))
    if c["tasks"] is not None:
        out.append("tasks:\n")
        for t in c["tasks"]:
            out.append("  - index: %d\n" % t["index"])
            out.append("    state: %s\n" % t["state"])
            ec = t["exit_code"]
            out.append("    exit_code: %s\n" % ("null" if ec is None else ec))
            if t.get("log"):
                out.append(_block("log", t["log"], 4))
            if t.get("sbatch_tail"):
                out.append(_block("sbatch_tail", t["sbatch_tail"], 4))
            out.append("    artifacts: %s\n" % ("true" if t["artifacts"] else "false"))
            if t.get("acceptance") is not None:
                out.append("    acceptance: %s\n" % t["acceptance"])
    if c["lone_file"] is not None:
        lf = c["lone_file"]
        out.append("lone_file:\n")
        out.append("  name: %s\n" % lf["name"])
        out.append(_block("text", lf["text"], 2))
        out.append("  expect_index: %d\n" % lf["expect_index"])
        out.append("  expect_job_id: " + _q(lf["expect_job_id"]) + "\n")
    return "".join(out)


# ---------------------------------------------------------------- templates
def t0_vllm_ok(
    model,
    tp=8,
    mml=8192,
    waited=240,
    n=8000,
    shards=8,
    ver="0.10.1.1",
    date="08-21",
    extra_mid="",
    extra_end="",
    extra_start="",
):
    """task_0: vLLM server + query.py, successful."""
    per = n // shards
    shard_lines = "\n".join(
        "[shard %d/%d] wrote %d conversations to /scratchspace/data/train-%05d-%05d.jsonl"
        % (i, shards, per, i, shards)
        for i in range(shards)
    )
    s = f"""
RANK 0 GPU count: 8
+ vllm serve {model} --tensor-parallel-size {tp} --max-model-len {mml} --port 8000 --gpu-memory-utilization 0.9
{extra_start}(APIServer pid=412) INFO {date} 10:02:11 [api_server.py:1805] vLLM API server version {ver}
(APIServer pid=412) INFO {date} 10:02:11 [utils.py:326] non-default args: {{'model_tag': '{model}', 'model': '{model}', 'max_model_len': {mml}, 'tensor_parallel_size': {tp}, 'gpu_memory_utilization': 0.9}}
(EngineCore_0 pid=611) INFO {date} 10:02:40 [core.py:74] Initializing a V1 LLM engine (v{ver}) with config: model='{model}', speculative_config=None, tokenizer='{model}', skip_tokenizer_init=False, tokenizer_mode=auto, trust_remote_code=False, dtype=torch.bfloat16, max_seq_len={mml}, tensor_parallel_size={tp}
(Worker_TP0 pid=745) INFO {date} 10:03:31 [default_loader.py:262] Loading weights took 21.42 seconds
(Worker_TP0 pid=745) INFO {date} 10:03:32 [gpu_model_runner.py:2007] Model loading took 2.0734 GiB and 22.518106 seconds
{extra_mid}(EngineCore_0 pid=611) INFO {date} 10:05:08 [kv_cache_utils.py:849] GPU KV cache size: 4,411,392 tokens
(EngineCore_0 pid=611) INFO {date} 10:05:41 [core.py:214] init engine (profile, create kv cache, warmup model) took 118.36 seconds
(APIServer pid=412) INFO:     Started server process [412]
(APIServer pid=412) INFO:     Waiting for application startup.
(APIServer pid=412) INFO:     Application startup complete.
Server is up! (waited {waited}s)
+ python3 query.py --base-url http://localhost:8000/v1 --data /hf-local/datasets/nvidia/Daring-Anteater/train.jsonl --output-dir /scratchspace/data --num-shards {shards}
Loaded {n} prompts
{shard_lines}
{extra_end}Main process exit
"""
    return dedent(s)


def t1_hf_ok(model, n=8000, extra_mid="", extra_end="", secs="38:41", rate="3.45"):
    s = f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {model} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded {n} conversations from /scratchspace/data
Loading checkpoint shards: 100%|██████████| 5/5 [00:06<00:00,  1.21s/it]
{extra_mid}Processing conversations: 100%|██████████| {n}/{n} [{secs}<00:00,  {rate}it/s]
Successfully processed all {n} conversations.
{extra_end}"""
    return dedent(s)


def t1_vllm_ok(model, n=8000, extra_mid="", extra_end=""):
    s = f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_vllm.sh --model {model} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 8
Loaded {n} conversations from /scratchspace/data
INFO 08-21 11:20:02 [core.py:74] Initializing a V1 LLM engine (v0.10.1.1) with config: model='{model}', tensor_parallel_size=8
INFO 08-21 11:21:13 [gpu_model_runner.py:2007] Model loading took 8.1421 GiB and 41.082271 seconds
{extra_mid}Processing conversations: 100%|██████████| {n}/{n} [12:07<00:00, 11.00it/s]
Successfully processed all {n} conversations.
{extra_end}"""
    return dedent(s)


LOSSES = [
    (7.9612, 4.1875),
    (6.4417, 2.9531),
    (5.3120, 2.2344),
    (4.8805, 1.8906),
    (4.5213, 1.6641),
    (4.3368, 1.5938),
    (4.2271, 1.5156),
]


def t2_ok(model, epochs=2, extra_pre="", extra_mid="", extra_end="", total=5190):
    loss_lines = "\n".join(
        "{'loss': %.4f, 'grad_norm': %.4f, 'learning_rate': %s, 'epoch': %.2f}"
        % (l, g, "%.4e" % (1e-4 * (1 - i / 7.0)), (i + 1) * epochs / 7.0)
        for i, (l, g) in enumerate(LOSSES)
    )
    s = f"""
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {model} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs {epochs}
+ accelerate launch --num_processes 8 --mixed_precision bf16 main.py --mode eagle3 --model_name_or_path {model} --offline-data-path /scratchspace/offline_hidden_states --output_dir /scratchspace/eagle3 --num_train_epochs {epochs} --training_seq_len 4096 --per_device_train_batch_size 1 --learning_rate 1e-4
{extra_pre}Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{extra_mid}{loss_lines}
{{'train_runtime': {total - 58}.4412, 'train_samples_per_second': 3.117, 'train_steps_per_second': 0.195, 'train_loss': 5.0958, 'epoch': {float(epochs)}}}
Total time: {total} seconds
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
Exported checkpoint to /scratchspace/export
{extra_end}"""
    return dedent(s)


def t3_ok(model, al=2.68, engine="VLLM", extra_mid="", extra_end="", form="al"):
    if form == "al":
        res = f"""writing Average AL: {al + 0.23:.2f}
roleplay Average AL: {al - 0.16:.2f}
reasoning Average AL: {al + 0.05:.2f}
math Average AL: {al + 0.31:.2f}
coding Average AL: {al + 0.12:.2f}
extraction Average AL: {al - 0.21:.2f}
stem Average AL: {al - 0.09:.2f}
humanities Average AL: {al - 0.14:.2f}
Average AL: {al:.2f}"""
    elif form == "dict":
        acc = int(round(1000 * (al - 1)))
        res = f"Average Acceptance Length {{'accept': {acc + 1000}, 'count': 1000, 'ratio': {al}}}"
    elif form == "vllm":
        res = f"Mean acceptance length: {al:.2f}"
    else:
        res = form
    s = f"""
RANK 0 GPU count: 8
+ bash quick_check.sh --model {model} --draft /scratchspace/export --engine {engine} --tp 8
+ python3 run.py --model_dir {model} --draft_model_dir /scratchspace/export --dataset mtbench --tp_size 8 --engine {engine} --draft_length 3 --concurrency 1
{extra_mid}Running mtbench: 100%|██████████| 80/80 [03:12<00:00,  2.41s/it]
{res}
{extra_end}"""
    return dedent(s)


SRUN_FAIL = "srun: error: {node}: task 0: Exited with exit code {rc}\n"
