from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t1_vllm_ok, t2_ok, t3_ok

TRAIN_HEAD = """
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {m} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs 2
+ accelerate launch --num_processes {np} --mixed_precision bf16 main.py --mode eagle3 --model_name_or_path {m} --offline-data-path /scratchspace/offline_hidden_states --output_dir /scratchspace/eagle3 --num_train_epochs 2 --training_seq_len 4096 --per_device_train_batch_size {bs}
"""

EXPORT_FAIL = """[ERROR] /nemo_run/code/modelopt/examples/speculative_decoding/launch_train.sh:164 failed with status 1.
<REPORT>training failed: launch_train.sh exited with status 1</REPORT>
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/scripts/export_hf_checkpoint.py", line 61, in <module>
    main(args)
  File "/nemo_run/code/modelopt/examples/speculative_decoding/scripts/export_hf_checkpoint.py", line 44, in main
    model = AutoModelForCausalLM.from_pretrained(args.model_path, torch_dtype="auto")
  File "/usr/local/lib/python3.12/dist-packages/transformers/modeling_utils.py", line 4240, in from_pretrained
    raise EnvironmentError(
OSError: Error no file named pytorch_model.bin, model.safetensors, tf_model.h5, model.ckpt.index or flax_model.msgpack found in directory /scratchspace/eagle3.
"""


def head(m, np=8, bs=1):
    return dedent(TRAIN_HEAD.format(m=m, np=np, bs=bs))


def ok01(m, **kw):
    return [task(0, log=t0_vllm_ok(m, **kw)), task(1, log=t1_hf_ok(m))]


# ---------------------------------------------------------------- F28
M = "/hf-local/meta-llama/Meta-Llama-3-8B-Instruct"
add("t2_training_oom_then_export_fails",
    source="https://github.com/ContextualAI/gritlm/issues/65",
    why="EAGLE3 training ran out of GPU memory in the optimizer step (batch size 4 at 4096 tokens); the ERR trap then let the export run, which failed because no checkpoint existed - the first failure is the training OOM.",
    expect=dict(run="fail", task=2, category="gpu_oom"), family="first_failure_wins",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M, bs=4) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
  0%|          | 0/500 [00:00<?, ?it/s]
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 263, in <module>
[rank0]:     train()
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 257, in train
[rank0]:     trainer.train(resume_from_checkpoint=checkpoint)
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/transformers/trainer.py", line 2325, in train
[rank0]:     return inner_training_loop(
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/transformers/trainer.py", line 2732, in _inner_training_loop
[rank0]:     self.optimizer.step()
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/accelerate/optimizer.py", line 165, in step
[rank0]:     self.optimizer.step(closure)
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/optim/lr_scheduler.py", line 137, in wrapper
[rank0]:     return func.__get__(opt, opt.__class__)(*args, **kwargs)
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/optim/optimizer.py", line 487, in wrapper
[rank0]:     out = func(*args, **kwargs)
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/optim/optimizer.py", line 91, in _use_grad
[rank0]:     ret = func(self, *args, **kwargs)
[rank0]: torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.96 GiB. GPU 0 has a total capacity of 79.19 GiB of which 1.02 GiB is free. Including non-PyTorch memory, this process has 78.16 GiB memory in use. Of the allocated memory 74.93 GiB is allocated by PyTorch, and 1.71 GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)
W0611 14:20:31.482000 2203 torch/distributed/elastic/multiprocessing/api.py:897] Sending process 2270 closing signal SIGTERM
E0611 14:20:32.013000 2203 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: 1) local_rank: 0 (pid: 2269) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0188: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F29
M = "/hf-local/Qwen/Qwen3-30B-A3B"
add("t2_nccl_allreduce_timeout_then_export_fails",
    source="https://github.com/hiyouga/LlamaFactory/issues/7396",
    why="Training hung in an ALLREDUCE until the NCCL watchdog fired after 600 s on every rank; the follow-on export error (no model.safetensors) is a consequence - the first failure is the NCCL timeout.",
    expect=dict(run="fail", task=2, category="nccl"), family="first_failure_wins",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.1032, 'grad_norm': 5.0312, 'learning_rate': 9.9e-05, 'epoch': 0.08}
{'loss': 6.6198, 'grad_norm': 3.1094, 'learning_rate': 9.6e-05, 'epoch': 0.16}
 23%|██▎       | 1580/6800 [2:11:50<7:15:31,  5.01s/it]
[80746] [rank0]:[E321 02:07:08.408271257 ProcessGroupNCCL.cpp:607] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1580, OpType=ALLREDUCE, NumelIn=466119168, NumelOut=466119168, Timeout(ms)=600000) ran for 600060 milliseconds before timing out.
[80747] [rank4]:[E321 02:07:08.414640780 ProcessGroupNCCL.cpp:607] [Rank 4] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1580, OpType=ALLREDUCE, NumelIn=466119168, NumelOut=466119168, Timeout(ms)=600000) ran for 600067 milliseconds before timing out.
[80748] [rank0]:[E321 02:07:08.465150152 ProcessGroupNCCL.cpp:1664] [PG 1 Rank 0] Exception (either an error or timeout) detected by watchdog at work: 1580, last enqueued NCCL work: 1582, last completed NCCL work: 1579.
[80749] [rank3]:[E321 02:07:08.465224069 ProcessGroupNCCL.cpp:1664] [PG 1 Rank 3] Exception (either an error or timeout) detected by watchdog at work: 1580, last enqueued NCCL work: 1582, last completed NCCL work: 1579.
[80750] [rank2]:[E321 02:07:08.432379535 ProcessGroupNCCL.cpp:607] [Rank 2] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=1580, OpType=ALLREDUCE, NumelIn=466119168, NumelOut=466119168, Timeout(ms)=600000) ran for 600071 milliseconds before timing out.
[rank0]:[E321 02:07:09.001927113 ProcessGroupNCCL.cpp:1682] [PG 1 Rank 0] Timeout at NCCL work: 1580, last enqueued NCCL work: 1582, last completed NCCL work: 1579.
E0321 02:07:41.220000 80701 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -6) local_rank: 0 (pid: 80746) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0340: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F30
M = "/hf-local/meta-llama/Llama-3.3-70B-Instruct"
add("t2_nccl_reduce_scatter_timeout",
    source="https://github.com/hiyouga/LlamaFactory/issues/6269",
    why="FSDP training of the draft head stalled in a _REDUCE_SCATTER_BASE collective and the NCCL watchdog aborted all ranks after 600 s - a collective-communication timeout.",
    expect=dict(run="fail", task=2, category="nccl"), family="first_failure_wins",
    tasks=ok01(M, tp=8, waited=640) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.4471, 'grad_norm': 6.2188, 'learning_rate': 9.9e-05, 'epoch': 0.05}
 61%|██████    | 7753/12700 [9:14:31<5:52:10,  4.27s/it]
[rank0]:[E1206 18:44:12.715298746 ProcessGroupNCCL.cpp:607] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7753, OpType=_REDUCE_SCATTER_BASE, NumelIn=544997376, NumelOut=68124672, Timeout(ms)=600000) ran for 600061 milliseconds before timing out.
[rank0]:[E1206 18:44:12.715588844 ProcessGroupNCCL.cpp:1664] [PG 1 Rank 0] Exception (either an error or timeout) detected by watchdog at work: 7753, last enqueued NCCL work: 7755, last completed NCCL work: 7752.
[rank4]:[E1206 18:44:12.755262105 ProcessGroupNCCL.cpp:607] [Rank 4] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7753, OpType=_REDUCE_SCATTER_BASE, NumelIn=544997376, NumelOut=68124672, Timeout(ms)=600000) ran for 600099 milliseconds before timing out.
[rank4]:[E1206 18:44:12.755468433 ProcessGroupNCCL.cpp:1664] [PG 1 Rank 4] Exception (either an error or timeout) detected by watchdog at work: 7753, last enqueued NCCL work: 7755, last completed NCCL work: 7752.
[rank3]:[E1206 18:44:13.275158817 ProcessGroupNCCL.cpp:607] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=7753, OpType=_REDUCE_SCATTER_BASE, NumelIn=544997376, NumelOut=68124672, Timeout(ms)=600000) ran for 600089 milliseconds before timing out.
E1206 18:45:02.331000 5513 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -6) local_rank: 0 (pid: 5580) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0119: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F31
M = "/hf-local/Qwen/Qwen3-8B"
add("t2_ecc_error_then_nccl_watchdog",
    source="https://github.com/kohya-ss/sd-scripts/issues/1434",
    why="Rank 1 hit 'CUDA error: uncorrectable ECC error encountered' (a GPU hardware fault); the NCCL watchdog termination that follows carries the same CUDA error and is a consequence, not the cause.",
    expect=dict(run="fail", task=2, category="cuda_error"), family="infra_beats_symptom",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 7.9012, 'grad_norm': 4.0625, 'learning_rate': 9.9e-05, 'epoch': 0.1}
{'loss': 6.3551, 'grad_norm': 2.8906, 'learning_rate': 9.6e-05, 'epoch': 0.2}
[rank1]: Traceback (most recent call last):
[rank1]:   File "/nemo_run/code/modelopt/modelopt/torch/speculative/plugins/transformers.py", line 912, in forward
[rank1]:     eagle_logits = self._eagle_forward(eagle_input_hidden_states, inputs_embeds, attention_mask, position_ids)
[rank1]: RuntimeError: CUDA error: uncorrectable ECC error encountered
[rank1]: CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
[rank1]: For debugging consider passing CUDA_LAUNCH_BLOCKING=1.
[rank1]: Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.

[E ProcessGroupNCCL.cpp:916] [Rank 1] NCCL watchdog thread terminated with exception: CUDA error: uncorrectable ECC error encountered
CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
For debugging consider passing CUDA_LAUNCH_BLOCKING=1.
Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.

Exception raised from c10_cuda_check_implementation at ../c10/cuda/CUDAException.cpp:44 (most recent call first):
frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x57 (0x7a71e4e84617 in /usr/local/lib/python3.12/dist-packages/torch/lib/libc10.so)
frame #1: c10::detail::torchCheckFail(char const*, char const*, unsigned int, std::string const&) + 0x64 (0x7a71e4e3f98d in /usr/local/lib/python3.12/dist-packages/torch/lib/libc10.so)
terminate called after throwing an instance of 'c10::DistBackendError'
E0722 03:41:19.770000 1902 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -6) local_rank: 1 (pid: 1969) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0207: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F32
M = "/hf-local/meta-llama/Llama-3.1-70B-Instruct"
add("t2_ib_port_error_flapping_link",
    source="https://github.com/NVIDIA/nccl/issues/905",
    why="The 2-node training log is full of 'NCCL WARN NET/IB : Got async event : port error' from a flapping InfiniBand link before the collectives hang and time out; the NCCL maintainer points at the fabric/cabling - an infrastructure (node/network) failure, not a software NCCL bug.",
    expect=dict(run="fail", task=2, category="node_failure"), family="infra_beats_symptom",
    tasks=ok01(M, tp=8, waited=640) + [
        task(2, exit_code=1, artifacts=False, log=head(M, np=16) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.2290, 'grad_norm': 5.4062, 'learning_rate': 9.9e-05, 'epoch': 0.1}
pool0-0412:2231:2298 [3] NCCL WARN NET/IB : Got async event : port error
pool0-0412:2231:2298 [3] NCCL WARN NET/IB : Got async event : port error
pool0-0412:2234:2301 [6] NCCL WARN NET/IB : Got async event : port error
pool0-0412:2231:2298 [3] NCCL WARN NET/IB : Got async event : port error
pool0-0412:2234:2301 [6] NCCL WARN NET/IB : Got async event : port error
[rank11]:[E703 12:31:08.302227145 ProcessGroupNCCL.cpp:616] [Rank 11] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=2214, OpType=ALLREDUCE, NumelIn=9801523, NumelOut=9801523, Timeout(ms)=600000) ran for 600020 milliseconds before timing out.
[rank3]:[E703 12:31:08.306457629 ProcessGroupNCCL.cpp:616] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=2214, OpType=ALLREDUCE, NumelIn=9801523, NumelOut=9801523, Timeout(ms)=600000) ran for 600030 milliseconds before timing out.
[rank0]:[E703 12:31:08.309932949 ProcessGroupNCCL.cpp:1785] [PG ID 0 PG GUID 0(default_pg) Rank 0] Exception (either an error or timeout) detected by watchdog at work: 2214, last enqueued NCCL work: 2217, last completed NCCL work: 2213.
E0703 12:31:40.118000 2180 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -6) local_rank: 3 (pid: 2231) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0412: task 0: Exited with exit code 1\nsrun: error: pool0-0413: task 1: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F33
M = "/hf-local/Qwen/Qwen3-235B-A22B"
add("t2_ib_completion_error_status12",
    source="https://github.com/NVIDIA/nccl/issues/1405",
    why="NCCL on node pool0-0520 got IB completions with status=12 / vendor err 129 from its peer (transport retry exceeded: the NICs cannot reach each other), after which every rank failed - a network/node fault surfaced through NCCL.",
    expect=dict(run="fail", task=2, category="node_failure"), family="infra_beats_symptom",
    tasks=ok01(M, tp=8, waited=955) + [
        task(2, exit_code=1, artifacts=False, log=head(M, np=32) + dedent("""
Loaded 16000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.6102, 'grad_norm': 6.0312, 'learning_rate': 9.9e-05, 'epoch': 0.04}
pool0-0520:3468:3905 [4] ib_plugin.c:1615 NCCL WARN NET/IB : Got completion from peer 10.216.210.236<54862> with status=12 opcode=0 len=0 vendor err 129 (Recv) localGid fd00:1148:9000:5000:4:200:3:ff22 remoteGidsfd00:1148:9000:5000:4:200:3:ff1f
pool0-0520:3468:3905 [4] NCCL INFO transport/net.cc:1302 -> 6
pool0-0520:3468:3905 [4] NCCL INFO proxy.cc:698 -> 6
pool0-0520:3468:3905 [4] NCCL INFO proxy.cc:878 -> 6 [Progress Thread]

pool0-0520:3468:3905 [4] ib_plugin.c:1615 NCCL WARN NET/IB : Got completion from peer 10.216.210.236<54862> with status=12 opcode=32616 len=0 vendor err 129 (Recv) localGid fd00:1148:9000:5000:4:200:3:ff21 remoteGidsfd00:1148:9000:5000:4:200:3:ff20
pool0-0520:3468:3905 [4] NCCL INFO transport/net.cc:1302 -> 6
pool0-0520:3468:3905 [4] NCCL INFO proxy.cc:698 -> 6
pool0-0520:3468:3905 [4] NCCL INFO proxy.cc:878 -> 6 [Progress Thread]
E1108 22:13:51.004000 3401 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: 1) local_rank: 4 (pid: 3468) of binary: /usr/bin/python
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0520: task 2: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F34
M = "/hf-local/meta-llama/Llama-3.3-70B-Instruct"
add("t2_node_failure_then_nccl_timeouts",
    source="https://github.com/nebius/soperator/issues/854",
    why="A training node dropped out (srun: Node failure; JOB ... CANCELLED ... DUE TO NODE FAILURE); the ALLREDUCE watchdog timeouts on the surviving ranks are the symptom - the root cause is the lost node.",
    expect=dict(run="fail", task=2, category="node_failure"), family="infra_beats_symptom",
    tasks=ok01(M, tp=8, waited=640) + [
        task(2, exit_code=None, artifacts=False, log=head(M, np=16) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.3311, 'grad_norm': 5.6875, 'learning_rate': 9.9e-05, 'epoch': 0.1}
{'loss': 6.7102, 'grad_norm': 3.3438, 'learning_rate': 9.7e-05, 'epoch': 0.2}
[rank0]:[E1014 03:12:51.118270257 ProcessGroupNCCL.cpp:616] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=5, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600013 milliseconds before timing out.
[rank2]:[E1014 03:12:51.118933148 ProcessGroupNCCL.cpp:616] [Rank 2] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=5, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600015 milliseconds before timing out.
[rank5]:[E1014 03:12:51.119002761 ProcessGroupNCCL.cpp:616] [Rank 5] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=5, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=600000) ran for 600014 milliseconds before timing out.
"""), sbatch_tail="""
srun: error: Node failure on pool0-0233
slurmstepd: error: *** JOB 9176092 ON pool0-0232 CANCELLED AT 2025-10-14T03:12:55 DUE TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS ***
"""),
        not_run(3),
    ])

# ---------------------------------------------------------------- F35
M = "/hf-local/Qwen/Qwen2.5-1.5B-Instruct"
NAN_LOSS = """
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 344093.2, 'grad_norm': nan, 'learning_rate': 9.997532801828658e-05, 'epoch': 0.0}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 9.990133642141359e-05, 'epoch': 0.0}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 9.977809823015401e-05, 'epoch': 0.0}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 9.960573506572391e-05, 'epoch': 0.01}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 7.61e-05, 'epoch': 0.5}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 2.28e-05, 'epoch': 1.5}
{'train_runtime': 2611.3012, 'train_samples_per_second': 6.127, 'train_steps_per_second': 0.383, 'train_loss': 344.093, 'epoch': 2.0}
Total time: 2660 seconds
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
Exported checkpoint to /scratchspace/export
"""
add("t2_nan_loss_bf16_then_low_acceptance",
    source="https://github.com/hiyouga/LlamaFactory/issues/5660",
    why="From the first logging step the bf16 training reported grad_norm nan and loss 0.0, i.e. the weights went NaN; training and export 'finished', and the benchmark's near-1.0 acceptance length is only the consequence - the root cause is the diverged training.",
    expect=dict(run="fail", task=2, category="training_divergence"), family="first_failure_wins",
    tasks=ok01(M) + [
        task(2, exit_code=0, artifacts=True, log=head(M) + dedent(NAN_LOSS)),
        task(3, exit_code=0, artifacts=True, acceptance=1.0, log=t3_ok(M, al=1.0, form="dict")),
    ])

# ---------------------------------------------------------------- F36
M = "/hf-local/THUDM/glm-4-9b-chat-hf"
add("t2_grad_norm_nan_midway",
    source="https://github.com/zai-org/GLM-4/issues/174",
    why="After ~5 epochs of normal loss the draft-head training produced grad_norm nan and kept logging nan gradients with lr 2.6e-4; the exported head is broken and the benchmark acceptance collapsed - training divergence is the root cause.",
    expect=dict(run="fail", task=2, category="training_divergence"), family="first_failure_wins",
    tasks=ok01(M) + [
        task(2, exit_code=0, artifacts=True, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 0.0618, 'grad_norm': 0.58984375, 'learning_rate': 0.00026500000000000004, 'epoch': 5.27}
{'loss': 0.1924, 'grad_norm': 4.25, 'learning_rate': 0.000264, 'epoch': 5.29}
{'loss': 0.1147, 'grad_norm': 1.34375, 'learning_rate': 0.000263, 'epoch': 5.31}
{'loss': 0.1006, 'grad_norm': 5.625, 'learning_rate': 0.000262, 'epoch': 5.34}
{'loss': 0.1459, 'grad_norm': 5.28125, 'learning_rate': 0.000261, 'epoch': 5.36}
{'loss': 0.2096, 'grad_norm': nan, 'learning_rate': 0.00026000000000000003, 'epoch': 5.38}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 0.000259, 'epoch': 5.4}
{'loss': 0.0, 'grad_norm': nan, 'learning_rate': 0.000258, 'epoch': 5.43}
{'train_runtime': 20411.0021, 'train_samples_per_second': 2.351, 'train_steps_per_second': 0.147, 'train_loss': 0.1377, 'epoch': 6.0}
Total time: 20466 seconds
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
Exported checkpoint to /scratchspace/export
""")),
        task(3, exit_code=0, artifacts=True, acceptance=1.03, log=t3_ok(M, al=1.03)),
    ])

# ---------------------------------------------------------------- F37
M = "/hf-local/google/gemma-3-12b-it"
add("t2_gemma3_config_has_no_vocab_size",
    source="https://github.com/huggingface/transformers/issues/36683",
    why="Gemma3 is a multimodal config whose vocab_size lives in text_config; building the EAGLE draft module read config.vocab_size and raised AttributeError - the architecture is not supported by this training code/version.",
    expect=dict(run="fail", task=2, category="unsupported_model"), family="env_vs_model",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 263, in <module>
[rank0]:     train()
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 203, in train
[rank0]:     mtsp.convert(model, [("eagle", config)])
[rank0]:   File "/nemo_run/code/modelopt/modelopt/torch/speculative/plugins/transformers.py", line 431, in modify
[rank0]:     self.eagle_config.draft_vocab_size = self.config.vocab_size
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/transformers/configuration_utils.py", line 211, in __getattribute__
[rank0]:     return super().__getattribute__(key)
[rank0]: AttributeError: 'Gemma3Config' object has no attribute 'vocab_size'
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0031: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F38
M = "/hf-local/Qwen/Qwen3-4B"
add("t2_old_transformers_keyerror_qwen3",
    source="https://github.com/hiyouga/LlamaFactory/issues/8139",
    why="The training container's transformers does not know model_type 'qwen3' (KeyError: 'qwen3' in CONFIG_MAPPING) - the architecture is unsupported by that library version.",
    expect=dict(run="fail", task=2, category="unsupported_model"), family="env_vs_model",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent(f"""
[INFO|configuration_utils.py:697] 2025-05-23 02:51:04,285 >> loading configuration file {M}/config.json
[rank0]: Traceback (most recent call last):
[rank0]:   File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/configuration_auto.py", line 1113, in from_pretrained
[rank0]:     config_class = CONFIG_MAPPING[config_dict["model_type"]]
[rank0]:   File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/configuration_auto.py", line 815, in __getitem__
[rank0]:     raise KeyError(key)
[rank0]: KeyError: 'qwen3'

[rank0]: During handling of the above exception, another exception occurred:

[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 263, in <module>
[rank0]:     train()
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 171, in train
[rank0]:     model = transformers.AutoModelForCausalLM.from_pretrained(model_args.model_name_or_path, torch_dtype="auto")
[rank0]:   File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/configuration_auto.py", line 1115, in from_pretrained
[rank0]:     raise ValueError(
[rank0]: ValueError: The checkpoint you are trying to load has model type `qwen3` but Transformers does not recognize this architecture. This could be because of an issue with the checkpoint, or because your version of Transformers is out of date.
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0098: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F39
M = "/hf-local/Qwen/Qwen3-8B"
add("t2_flash_attn_undefined_symbol_via_model_import",
    source="https://github.com/Dao-AILab/flash-attention/issues/1612",
    why="Importing the model module failed because the installed flash_attn_2_cuda binary does not match the container's torch (undefined symbol); the traceback passes through transformers model code but the cause is the Python environment.",
    expect=dict(run="fail", task=2, category="python_env"), family="env_vs_model",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
[rank0]: Traceback (most recent call last):
[rank0]:   File "/usr/local/lib/python3.11/dist-packages/transformers/utils/import_utils.py", line 1390, in _get_module
[rank0]:     return importlib.import_module("." + module_name, self.__name__)
[rank0]:   File "/usr/lib/python3.11/importlib/__init__.py", line 126, in import_module
[rank0]:     return _bootstrap._gcd_import(name[level:], package, level)
[rank0]:   File "/usr/local/lib/python3.11/dist-packages/transformers/models/qwen3/modeling_qwen3.py", line 41, in <module>
[rank0]:     from ...modeling_flash_attention_utils import FlashAttentionKwargs
[rank0]: ImportError: /usr/local/lib/python3.11/dist-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: _ZN2at4_ops5zeros4callEN3c108ArrayRefINS2_6SymIntEEENS2_8optionalINS2_10ScalarTypeEEENS6_INS2_6LayoutEEENS6_INS2_6DeviceEEENS6_IbEE
[rank0]: 
[rank0]: The above exception was the direct cause of the following exception:
[rank0]: 
[rank0]: RuntimeError: Failed to import transformers.models.qwen3.modeling_qwen3 because of the following error (look up to see its traceback):
[rank0]: /usr/local/lib/python3.11/dist-packages/flash_attn_2_cuda.cpython-311-x86_64-linux-gnu.so: undefined symbol: _ZN2at4_ops5zeros4callEN3c108ArrayRefINS2_6SymIntEEENS2_8optionalINS2_10ScalarTypeEEENS6_INS2_6LayoutEEENS6_INS2_6DeviceEEENS6_IbEE
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0066: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F40
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("t2_rerun_from_training_offline_data_missing",
    source="https://github.com/NVIDIA/Model-Optimizer/pull/300",
    why="The pipeline was relaunched from task_2 with task_0 and task_1 skipped, but this experiment has no offline_hidden_states directory, so launch_train.sh stopped ('Offline data path ... does not exist') and the export then failed - the training input is missing.",
    expect=dict(run="fail", task=2, category="missing_input"), family="skipped_and_logless",
    tasks=[skipped(0), skipped(1),
        task(2, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {M} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs 2
Offline data path /scratchspace/offline_hidden_states does not exist or is not a directory.
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0101: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F41
M = "/hf-local/Qwen/Qwen3-32B"
add("t2_checkpoint_save_no_space_left",
    source="https://github.com/databrickslabs/dolly/issues/139",
    why="Training itself was fine but saving the checkpoint hit 'OSError: [Errno 28] No space left on device' in torch.save; the export failure afterwards is a consequence - disk full.",
    expect=dict(run="fail", task=2, category="disk_full"), family="first_failure_wins",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 7.8120, 'grad_norm': 4.1562, 'learning_rate': 9.8e-05, 'epoch': 0.14}
{'loss': 6.2305, 'grad_norm': 2.7656, 'learning_rate': 9.3e-05, 'epoch': 0.29}
[INFO|trainer.py:3984] 2025-04-29 06:01:05,511 >> Saving model checkpoint to /scratchspace/eagle3/checkpoint-1000
[rank0]: Traceback (most recent call last):
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/serialization.py", line 379, in save
[rank0]:     _save(obj, opened_zipfile, pickle_module, pickle_protocol)
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/serialization.py", line 604, in _save
[rank0]:     zip_file.write_record(name, storage.data_ptr(), num_bytes)
[rank0]: OSError: [Errno 28] No space left on device
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0071: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F42
M = "/hf-local/ibm-granite/granite-3.1-8b-instruct"
add("t2_permission_denied_root_cache",
    source="https://github.com/opendatahub-io/ilab-on-ocp/pull/26",
    why="Inside the container HOME resolved to '/', so torch tried to create '/.cache' during training and got PermissionError [Errno 13] - a file-permission problem.",
    expect=dict(run="fail", task=2, category="permission"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
[rank1]: Traceback (most recent call last):
[rank1]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 263, in <module>
[rank1]:     train()
[rank1]:   File "/usr/local/lib/python3.11/site-packages/torch/_inductor/runtime/cache_dir_utils.py", line 20, in default_cache_dir
[rank1]:     os.makedirs(cache_dir, exist_ok=True)
[rank1]:   File "<frozen os>", line 215, in makedirs
[rank1]: PermissionError: [Errno 13] Permission denied: '/.cache'
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0139: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F43
M = "/hf-local/mistralai/Mistral-7B-Instruct-v0.3"
add("t2_device_side_assert_index_out_of_range",
    source="https://github.com/jiacheng-ye/kg_one2set/issues/2",
    why="An embedding lookup received token ids beyond the vocabulary ('srcIndex < srcSelectDimSize' assertion), raising 'CUDA error: device-side assert triggered' mid-training - a CUDA device-side assert.",
    expect=dict(run="fail", task=2, category="cuda_error"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 7.5518, 'grad_norm': 3.9844, 'learning_rate': 9.8e-05, 'epoch': 0.12}
/pytorch/aten/src/ATen/native/cuda/Indexing.cu:662: indexSelectLargeIndex: block: [148,0,0], thread: [96,0,0] Assertion `srcIndex < srcSelectDimSize` failed.
/pytorch/aten/src/ATen/native/cuda/Indexing.cu:662: indexSelectLargeIndex: block: [148,0,0], thread: [97,0,0] Assertion `srcIndex < srcSelectDimSize` failed.
/pytorch/aten/src/ATen/native/cuda/Indexing.cu:662: indexSelectLargeIndex: block: [130,0,0], thread: [31,0,0] Assertion `srcIndex < srcSelectDimSize` failed.
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/modelopt/torch/speculative/plugins/transformers.py", line 880, in forward
[rank0]:     inputs_embeds = self.model.embed_tokens(input_ids)
[rank0]: RuntimeError: CUDA error: device-side assert triggered
[rank0]: CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
[rank0]: For debugging consider passing CUDA_LAUNCH_BLOCKING=1.
[rank0]: Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0150: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F44
M = "/hf-local/meta-llama/Llama-3.2-3B-Instruct"
add("t2_cublas_execution_failed_h100",
    source="https://github.com/unslothai/unsloth/issues/3963",
    why="On the H100 NVL node the bf16 GEMM failed with 'CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling cublasGemmEx' (after wgmma.fence warnings from a kernel built without SM90a) - a CUDA/cuBLAS fault.",
    expect=dict(run="fail", task=2, category="cuda_error"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
Attempting to use wgmma.fence without CUTE_ARCH_MMA_SM90A_ENABLED
Attempting to use wgmma.fence without CUTE_ARCH_MMA_SM90A_ENABLED
Attempting to use wgmma.fence without CUTE_ARCH_MMA_SM90A_ENABLED
[rank0]: Traceback (most recent call last):
[rank0]:   File "/usr/local/lib/python3.12/dist-packages/torch/nn/modules/linear.py", line 125, in forward
[rank0]:     return F.linear(input, self.weight, self.bias)
[rank0]: RuntimeError: CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasGemmEx( handle, opa, opb, m, n, k, &falpha, a, CUDA_R_16BF, lda, b, CUDA_R_16BF, ldb, &fbeta, c, std::is_same_v<C_Dtype, float> ? CUDA_R_32F : CUDA_R_16BF, ldc, compute_type, CUBLAS_GEMM_DEFAULT_TENSOR_OP)`
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0460: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F45
M = "/hf-local/Qwen/Qwen3-30B-A3B"
add("t2_training_oom_killed_exit0",
    source="https://github.com/nextflow-io/nextflow/issues/5932",
    why="slurmstepd detected an oom_kill event in the training step (srun: task 0: Out Of Memory) while the dataloader workers were loading .pt files into RAM; torchrun saw the worker die with -9 and the job still ended with code 0 - host memory exhaustion.",
    expect=dict(run="fail", task=2, category="host_oom"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=0, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.0127, 'grad_norm': 4.9688, 'learning_rate': 9.9e-05, 'epoch': 0.03}
  4%|▍         | 271/6800 [19:27<7:48:11,  4.30s/it]
W1113 07:41:02.551000 1802 torch/distributed/elastic/multiprocessing/api.py:897] Sending process 1870 closing signal SIGTERM
E1113 07:41:03.118000 1802 torch/distributed/elastic/multiprocessing/api.py:869] failed (exitcode: -9) local_rank: 6 (pid: 1876) of binary: /usr/bin/python
"""), sbatch_tail="""
slurmstepd: error: Detected 1 oom_kill event in StepId=9176092.0. Some of the step tasks have been OOM Killed.
srun: error: pool0-0144: task 0: Out Of Memory
"""),
        not_run(3),
    ])

# ---------------------------------------------------------------- F46
M = "/hf-local/meta-llama/Llama-3.3-70B-Instruct"
add("t2_training_time_limit",
    source="https://github.com/Lightning-AI/pytorch-lightning/issues/20542",
    why="Training was still at 93% of the epoch when Slurm cancelled the step DUE TO TIME LIMIT and SIGTERM'd the ranks; no trailer was written - wall-clock limit.",
    expect=dict(run="fail", task=2, category="time_limit"), family="plain",
    tasks=ok01(M, tp=8, waited=640) + [
        task(2, exit_code=None, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 8.3311, 'grad_norm': 5.6875, 'learning_rate': 9.9e-05, 'epoch': 0.1}
{'loss': 5.9012, 'grad_norm': 2.1094, 'learning_rate': 6.1e-05, 'epoch': 0.9}
 93%|█████████▎| 18626/20000 [5:43:21<25:19,  0.90it/s]
[rank: 0] Received SIGTERM: 15
W0110 15:27:25.991000 4410 torch/distributed/elastic/agent/server/api.py:704] Received Signals.SIGTERM death signal, shutting down workers
"""), sbatch_tail="""
slurmstepd: error: *** STEP 55595933.0 ON maestro-3017 CANCELLED AT 2025-01-10T15:27:25 DUE TO TIME LIMIT ***
srun: Job step aborted: Waiting up to 32 seconds for job step to finish.
slurmstepd: error: *** JOB 55595933 ON maestro-3017 CANCELLED AT 2025-01-10T15:27:25 DUE TO TIME LIMIT ***
"""),
        not_run(3),
    ])

# ---------------------------------------------------------------- F47
M = "/hf-local/Qwen/Qwen3-8B"
add("t2_training_preempted",
    source="https://github.com/SchedMD/slurm/blob/master/src/slurmd/slurmstepd/req.c",
    why="The training job was cancelled DUE TO PREEMPTION (a higher-priority job took the node); torchrun only printed its SIGTERM shutdown traceback - the job was preempted, not broken.",
    expect=dict(run="fail", task=2, category="preempted"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=None, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 7.9612, 'grad_norm': 4.1875, 'learning_rate': 9.8e-05, 'epoch': 0.1}
 45%|████▌     | 723/1602 [2:12:45<2:59:53, 12.28s/it]
--- Logging error ---
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/torch/distributed/elastic/agent/server/api.py", line 731, in run
    result = self._invoke_run(role)
  File "/usr/local/lib/python3.12/dist-packages/torch/distributed/elastic/agent/server/api.py", line 908, in _invoke_run
    time.sleep(monitor_interval)
  File "/usr/local/lib/python3.12/dist-packages/torch/distributed/elastic/multiprocessing/api.py", line 86, in _terminate_process_handler
    raise SignalException(f"Process {os.getpid()} got signal: {sigval}", sigval=sigval)
torch.distributed.elastic.multiprocessing.api.SignalException: Process 3045566 got signal: 15
W0325 10:34:07.578000 3045566 site-packages/torch/distributed/elastic/multiprocessing/api.py:1010] Sending process 3045680 closing signal SIGTERM
W0325 10:34:07.578000 3045566 site-packages/torch/distributed/elastic/multiprocessing/api.py:1010] Sending process 3045681 closing signal SIGTERM
"""), sbatch_tail="""
slurmstepd: error: *** JOB 11509447 ON nodeau01 CANCELLED AT 2026-03-25T10:34:07 DUE TO PREEMPTION ***
srun: Job step aborted: Waiting up to 32 seconds for job step to finish.
"""),
        not_run(3),
    ])

# ---------------------------------------------------------------- F48
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("t2_training_scancelled_by_user",
    source="https://github.com/qiskit-community/spank-plugins/pull/17",
    why="scancel sent SIGCONT/SIGTERM: slurmstepd printed a plain 'CANCELLED AT ...' with no DUE TO reason and srun forced termination, and torchrun shut the workers down on SIGTERM - the job was cancelled, not failed by a limit or error.",
    expect=dict(run="fail", task=2, category="cancelled"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=None, artifacts=False, log=head(M) + dedent("""
Loaded 8000 offline samples from /scratchspace/offline_hidden_states
{'loss': 7.9612, 'grad_norm': 4.1875, 'learning_rate': 9.8e-05, 'epoch': 0.1}
{'loss': 6.4417, 'grad_norm': 2.9531, 'learning_rate': 9.3e-05, 'epoch': 0.2}
 24%|██▍       | 1633/6800 [1:58:02<6:13:40,  4.34s/it]
W1102 09:14:51.377000 2081 torch/distributed/elastic/agent/server/api.py:704] Received Signals.SIGTERM death signal, shutting down workers
W1102 09:14:51.378000 2081 torch/distributed/elastic/multiprocessing/api.py:897] Sending process 2148 closing signal SIGTERM
"""), sbatch_tail="""
srun: got SIGCONT
srun: Job step aborted: Waiting up to 32 seconds for job step to finish.
slurmstepd: error: *** STEP 9176094.0 ON pool0-0102 CANCELLED AT 2025-11-02T09:14:51 ***
slurmstepd: error: *** JOB 9176094 ON pool0-0102 CANCELLED AT 2025-11-02T09:14:51 ***
srun: forcing job termination
"""),
        not_run(3),
    ])

# ---------------------------------------------------------------- F49
M = "/hf-local/Qwen/Qwen3-8B"
add("t2_jsondecodeerror_in_data",
    source="https://github.com/OpenRLHF/OpenRLHF/issues/939",
    why="The training script read the conversations jsonl (used to build the draft vocab mapping) and hit a malformed line: json.decoder.JSONDecodeError - a plain Python exception in the training code path.",
    expect=dict(run="fail", task=2, category="python_exception"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=head(M) + dedent("""
Calibrating draft vocab from /scratchspace/data ...
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 263, in <module>
[rank0]:     train()
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/eagle_utils.py", line 94, in load_conversations
[rank0]:     conversations.append(json.loads(line))
[rank0]:   File "/usr/lib/python3.12/json/__init__.py", line 346, in loads
[rank0]:     return _default_decoder.decode(s)
[rank0]:   File "/usr/lib/python3.12/json/decoder.py", line 337, in decode
[rank0]:     obj, end = self.raw_decode(s, idx=_w(s, 0).end())
[rank0]:   File "/usr/lib/python3.12/json/decoder.py", line 355, in raw_decode
[rank0]:     raise JSONDecodeError("Expecting value", s, err.value) from None
[rank0]: json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)
""") + dedent(EXPORT_FAIL), sbatch_tail="srun: error: pool0-0084: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F27
M = "/hf-local/Qwen/Qwen3-8B"
add("t2_pyxis_user_namespace_denied",
    source="https://github.com/NVIDIA/pyxis/issues/37",
    why="The training container never started: enroot-nsenter could not create a user namespace on this node and the pyxis SPANK plugin failed - a container runtime failure (the 'Permission denied' is about namespaces, not files).",
    expect=dict(run="fail", task=2, category="container"), family="plain",
    tasks=ok01(M) + [
        task(2, exit_code=1, artifacts=False, log=None, sbatch_tail="""
slurmstepd: error: pyxis: container start failed with error code: 1
slurmstepd: error: pyxis: printing contents of log file ...
slurmstepd: error: pyxis:     enroot-nsenter: failed to create user namespace: Permission denied
slurmstepd: error: pyxis: couldn't start container
slurmstepd: error: pyxis: if the image has an unusual entrypoint, try using --no-container-entrypoint
slurmstepd: error: spank: required plugin spank_pyxis.so: task_init() failed with rc=-1
slurmstepd: error: Failed to invoke spank plugin stack
srun: error: inst-foysz-vocal-drake: task 0: Exited with exit code 1
"""),
        not_run(3),
    ])
