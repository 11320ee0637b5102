from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t1_vllm_ok, t2_ok, t3_ok

SBATCH_HEAD = """
+ set -evx
+ export NEMORUN_NUM_NODES=1
+ srun --container-image=/lustre/fsw/images/modelopt-25.09.sqsh --container-mounts=/lustre/fsw/coreai_dlalgo_modelopt/experiments/cicd/cicd_{epoch}:/scratchspace,/lustre/fsw/hf-local:/hf-local --output /lustre/fsw/coreai_dlalgo_modelopt/experiments/cicd/cicd_{epoch}/{job}_{idx}/log-coreai_dlalgo_modelopt-modelopt.{job}_{idx}_%j_${{SLURM_RESTART_COUNT:-0}}.out --wait=60 --kill-on-bad-exit=1 bash /nemo_run/code/modelopt/tools/launcher/common/{script}
"""

# ---------------------------------------------------------------- L1
M = "/hf-local/Qwen/Qwen3-8B"
add("lone_training_sbatch_nccl_watchdog",
    source="https://github.com/OFA-Sys/OFA/issues/271",
    why="A lone batch log of the training task (index 2, job 9176089): after hours of training every rank's NCCL watchdog timed out the same ALLREDUCE (SeqNum=469508) after 1800 s and the job exited 1 - an NCCL collective timeout.",
    expect=dict(run="fail", task=2, category="nccl"), family="lone_file",
    lone_file=dict(
        name="sbatch_coreai_dlalgo_modelopt-modelopt.Qwen3-8B_EAGLE3_offline_2_9176089.out",
        expect_index=2, expect_job_id="9176089",
        text=dedent(SBATCH_HEAD.format(epoch=1761045211, job="Qwen3-8B_EAGLE3_offline", idx=2, script="eagle3/train_eagle.sh")).lstrip("\n") + dedent(f"""
RANK 0 GPU count: 8
+ accelerate launch --num_processes 8 --mixed_precision bf16 main.py --mode eagle3 --model_name_or_path {M} --offline-data-path /scratchspace/offline_hidden_states --output_dir /scratchspace/eagle3 --num_train_epochs 10
{{'loss': 7.9612, 'grad_norm': 4.1875, 'learning_rate': 9.9e-05, 'epoch': 0.1}}
{{'loss': 4.1022, 'grad_norm': 1.4531, 'learning_rate': 6.1e-05, 'epoch': 6.2}}
[E ProcessGroupNCCL.cpp:737] [Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802212 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:737] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802211 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:737] [Rank 2] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802212 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:737] [Rank 6] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802210 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:737] [Rank 7] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802220 milliseconds before timing out.
terminate called after throwing an instance of 'std::runtime_error'
  what():  [Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=469508, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802212 milliseconds before timing out.
E1022 04:18:09.441000 2016 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -6) local_rank: 1 (pid: 2084) of binary: /usr/bin/python
[ERROR] /nemo_run/code/modelopt/examples/speculative_decoding/launch_train.sh:164 failed with status 1.
<REPORT>training failed: launch_train.sh exited with status 1</REPORT>
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
OSError: Error no file named pytorch_model.bin, model.safetensors, tf_model.h5, model.ckpt.index or flax_model.msgpack found in directory /scratchspace/eagle3.
srun: error: pool0-0188: task 0: Exited with exit code 1
job exited with code 1
""")))

# ---------------------------------------------------------------- L2
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("lone_dump_sbatch_cuda_oom",
    source="https://github.com/vllm-project/vllm/issues/12030",
    why="A lone batch log of the hidden-state dump (index 1, job 9180212): the vLLM dump engine ran out of GPU memory ('Tried to allocate 224.00 MiB ... 187.75 MiB is free') because another process still held the GPU - GPU OOM.",
    expect=dict(run="fail", task=1, category="gpu_oom"), family="lone_file",
    lone_file=dict(
        name="sbatch_coreai_dlalgo_modelopt-modelopt.Llama-3.1-8B_EAGLE3_offline_1_9180212.out",
        expect_index=1, expect_job_id="9180212",
        text=dedent(SBATCH_HEAD.format(epoch=1761132610, job="Llama-3.1-8B_EAGLE3_offline", idx=1, script="eagle3/dump_offline_data_vllm.sh")).lstrip("\n") + dedent(f"""
RANK 0 GPU count: 8
+ python3 compute_hidden_states_vllm.py --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 1 --gpu-memory-utilization 0.9
Loaded 8000 conversations from /scratchspace/data
INFO 01-14 09:21:42 [core.py:74] Initializing a V1 LLM engine (v0.10.1.1) with config: model='{M}', tensor_parallel_size=1
ERROR 01-14 09:22:30 [core.py:718] EngineCore failed to start.
ERROR 01-14 09:22:30 [core.py:718] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 224.00 MiB. GPU 0 has a total capacity of 79.19 GiB of which 187.75 MiB is free. Including non-PyTorch memory, this process has 15.02 GiB memory in use. Process 1882204 has 63.95 GiB memory in use. Of the allocated memory 14.62 GiB is allocated by PyTorch, and 96.31 MiB is reserved by PyTorch but unallocated.
RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {{}}
srun: error: pool0-0061: task 0: Exited with exit code 1
job exited with code 1
""")))

# ---------------------------------------------------------------- L3
M = "/hf-local/Qwen/Qwen3-8B"
add("lone_benchmark_sbatch_pass",
    source="https://github.com/vllm-project/vllm/pull/16937",
    why="A lone batch log of the benchmark (index 3, job 9181107) that printed per-topic and overall 'Average AL: 2.74' and exited 0 - a passing task.",
    expect=dict(run="pass"), family="lone_file",
    lone_file=dict(
        name="sbatch_coreai_dlalgo_modelopt-modelopt.Qwen3-8B_EAGLE3_offline_3_9181107.out",
        expect_index=3, expect_job_id="9181107",
        text=dedent(SBATCH_HEAD.format(epoch=1761218003, job="Qwen3-8B_EAGLE3_offline", idx=3, script="specdec_bench/quick_check.sh")).lstrip("\n") + t3_ok(M, al=2.74) + "job exited with code 0\n"))

# ---------------------------------------------------------------- I1
M = "/hf-local/Qwen/Qwen3-8B"
add("incomplete_training_still_running",
    source="https://github.com/huggingface/transformers/pull/35207",
    why="Synthesis and dump are done, training is still logging HF Trainer loss dicts with no trailer yet and the benchmark is waiting - the run is in progress, not failed.",
    expect=dict(run="incomplete"), family="incomplete",
    tasks=[task(0, log=t0_vllm_ok(M)), task(1, log=t1_hf_ok(M)),
           task(2, exit_code=None, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {M} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs 2
+ accelerate launch --num_processes 8 --mixed_precision bf16 main.py --mode eagle3 --model_name_or_path {M} --offline-data-path /scratchspace/offline_hidden_states --output_dir /scratchspace/eagle3 --num_train_epochs 2
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{{'loss': 2.119, 'grad_norm': 37.657958984375, 'learning_rate': 4.5833333333333334e-05, 'epoch': 0.25}}
{{'loss': 1.6462, 'grad_norm': 17.54932403564453, 'learning_rate': 4.166666666666667e-05, 'epoch': 0.5}}
{{'loss': 1.5798, 'grad_norm': 14.871335983276367, 'learning_rate': 3.7500000000000003e-05, 'epoch': 0.75}}
 41%|████      | 1311/3200 [1:21:07<1:56:52,  3.71s/it]
""")), not_run(3)])

