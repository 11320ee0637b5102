from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t1_vllm_ok, t2_ok, t3_ok

PASS = dict(run="pass")


def full(m, t0=None, t1=None, t2=None, t3=None, al=2.68, t0kw=None, t3kw=None,
         tails=None):
    tails = tails or {}
    t0kw = t0kw or {}
    t3kw = t3kw or {}
    return [
        task(0, log=t0 or t0_vllm_ok(m, **t0kw), sbatch_tail=tails.get(0)),
        task(1, log=t1 or t1_hf_ok(m), sbatch_tail=tails.get(1)),
        task(2, log=t2 or t2_ok(m), sbatch_tail=tails.get(2)),
        task(3, log=t3 or t3_ok(m, al=al, **t3kw), acceptance=al, sbatch_tail=tails.get(3)),
    ]


# ---------------------------------------------------------------- P01
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_clean_with_futurewarnings",
    source="https://github.com/vllm-project/vllm/pull/5714",
    why="A clean run: every stage printed its success line and the benchmark reached AL 2.71; the huggingface_hub resume_download FutureWarning is routine noise.",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.71, t0kw=dict(extra_start="""/usr/local/lib/python3.12/dist-packages/huggingface_hub/file_download.py:1132: FutureWarning: `resume_download` is deprecated and will be removed in version 1.0.0. Downloads always resume when possible. If you want to force a new download, use `force_download=True`.
  warnings.warn(
""")))

# ---------------------------------------------------------------- P02
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("pass_server_sigterm_143_after_queries",
    source="https://github.com/vllm-project/vllm/pull/32965",
    why="After 'Main process exit' query.sh killed the vLLM server with SIGTERM; the Terminated/143 status and the workers' shutdown lines are expected teardown, and every task succeeded (AL 2.55).",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.55,
        t0=t0_vllm_ok(M, extra_end="") + dedent("""
(APIServer pid=412) INFO 01-23 20:14:10 [launcher.py:99] Shutting down FastAPI HTTP server.
(APIServer pid=412) INFO:     Shutting down
(APIServer pid=412) INFO:     Waiting for application shutdown.
(APIServer pid=412) INFO:     Application shutdown complete.
/nemo_run/code/modelopt/tools/launcher/common/vllm/query.sh: line 71:   412 Terminated              vllm serve /hf-local/meta-llama/Llama-3.1-8B-Instruct --tensor-parallel-size 8 --max-model-len 8192 --port 8000 --gpu-memory-utilization 0.9
vLLM server exited with status 143
"""),
        tails={0: "srun: error: pool0-0212: task 1: Exited with exit code 143\n"}))

# ---------------------------------------------------------------- P03
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_enginedead_traceback_after_benchmark_result",
    source="https://github.com/vllm-project/vllm/issues/48745",
    why="The benchmark printed its acceptance lengths (AL 2.64) before AsyncLLM.shutdown logged a spurious EngineDeadError traceback during graceful shutdown; the result files were already written, so nothing failed.",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.64, t3=t3_ok(M, al=2.64, extra_end="""
Saved results to mtbench.json and timing.json
(APIServer pid=2761) ERROR 07-15 09:41:12 [async_llm.py:485] AsyncLLM output_handler failed.
(APIServer pid=2761) ERROR 07-15 09:41:12 [async_llm.py:485] Traceback (most recent call last):
(APIServer pid=2761) ERROR 07-15 09:41:12 [async_llm.py:485]   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/async_llm.py", line 444, in output_handler
(APIServer pid=2761) ERROR 07-15 09:41:12 [async_llm.py:485]     outputs = await engine_core.get_output_async()
(APIServer pid=2761) ERROR 07-15 09:41:12 [async_llm.py:485] vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.
""")))

# ---------------------------------------------------------------- P04
M = "/hf-local/Qwen/Qwen3-4B"
add("pass_engine_core_died_message_at_script_end",
    source="https://github.com/vllm-project/vllm/issues/32468",
    why="At the very end of the benchmark script vLLM logged 'Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.' after the acceptance result (AL 2.48) was printed - teardown noise in a finished run.",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.48, t3=t3_ok(M, al=2.48, extra_end="""
Saved results to mtbench.json and timing.json
ERROR 01-16 17:16:49 [core_client.py:605] Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.
""")))

# ---------------------------------------------------------------- P05
M = "/hf-local/openai/gpt-oss-120b"
add("pass_hub_head_request_retried_then_succeeded",
    source="https://github.com/Avarok-Cybersecurity/dgx-vllm/issues/16",
    why="huggingface_hub timed out on a HEAD request and retried with back-off ('Retrying in 8s [Retry 4/5]'), then the server came up and synthesis completed; all later stages passed (AL 2.37) - a recovered transient error.",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.37, t0=t0_vllm_ok(M, waited=506, extra_start="""(APIServer pid=1) [2026-05-21 23:55:54] WARNING _http.py:320: '(MaxRetryError("HTTPSConnectionPool(host='huggingface.co', port=443): Max retries exceeded with url: /openai/gpt-oss-120b/resolve/main/config.json (Caused by ConnectTimeoutError(<HTTPSConnection(host='huggingface.co', port=443) at 0xf0ff49d14050>, 'Connection to huggingface.co timed out. (connect timeout=10)'))"), '(Request ID: 092a846c-0a2a-4c7b-9fe6-cc51013bccfa)')' thrown while requesting HEAD https://huggingface.co/openai/gpt-oss-120b/resolve/main/config.json
(APIServer pid=1) Retrying in 8s [Retry 4/5].
(APIServer pid=1) [2026-05-21 23:55:54] WARNING _http.py:329: Retrying in 8s [Retry 4/5].
(APIServer pid=1) [2026-05-21 23:56:12] INFO _http.py:301: HEAD https://huggingface.co/openai/gpt-oss-120b/resolve/main/config.json "HTTP/1.1 200 OK"
""")))

# ---------------------------------------------------------------- P06
M = "/hf-local/meta-llama/Llama-3.1-70B-Instruct"
add("pass_exceeded_step_memory_limit_on_completed_dump",
    source="https://github.com/galaxyproject/galaxy/issues/2359",
    why="slurmstepd warned 'Exceeded step memory limit at some point. Step may have been partially swapped out to disk.' but the dump completed (all conversations processed, Slurm state COMPLETED) and the run passed (AL 2.82).",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.82, t0kw=dict(waited=640),
        tails={1: "slurmstepd: error: Exceeded step memory limit at some point. Step may have been partially swapped out to disk.\n"}))

# ---------------------------------------------------------------- P07
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_nccl_warn_lines_in_finished_training",
    source="https://github.com/NVIDIA/nccl/issues/844",
    why="The training log contains NCCL WARN '[Rem Allocator] Allocation failed' / Cuda failure lines during bootstrap, yet training progressed, finished and exported; one-off NCCL WARN lines in a finished run are not a failure (AL 2.60).",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.60, t2=t2_ok(M, extra_pre="""
696b7901f9044f23b786795c0ef7257b000000:39:298 [0] include/socket.h:423 NCCL WARN Net : Connection closed by remote peer 10.0.0.4<52638>
696b7901f9044f23b786795c0ef7257b000000:39:298 [0] NCCL INFO include/socket.h:445 -> 2
696b7901f9044f23b786795c0ef7257b000000:39:298 [0] NCCL INFO bootstrap.cc:229 -> 2

696b7901f9044f23b786795c0ef7257b000000:39:298 [0] bootstrap.cc:279 NCCL WARN [Rem Allocator] Allocation failed (segment 0, fd 130)

696b7901f9044f23b786795c0ef7257b000000:39:298 [0] include/alloc.h:48 NCCL WARN Cuda failure 'out of memory'
696b7901f9044f23b786795c0ef7257b000000:39:298 [0] NCCL INFO bootstrap.cc:231 -> 1
""".lstrip("\n"))))

# ---------------------------------------------------------------- P08
M = "/hf-local/huggyllama/llama-7b"
add("pass_tokenizer_class_mismatch_warning",
    source="https://github.com/tloen/alpaca-lora/issues/31",
    why="The dump printed the tokenizer class mismatch warning (LLaMATokenizer vs LlamaTokenizer), which the maintainer calls safe to ignore; every stage succeeded (AL 2.44).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.44, t1=t1_hf_ok(M, extra_mid="""The tokenizer class you load from this checkpoint is not the same type as the class this function is called from. It may result in unexpected tokenization. 
The tokenizer class you load from this checkpoint is 'LLaMATokenizer'. 
The class this function is called from is 'LlamaTokenizer'.
""")))

# ---------------------------------------------------------------- P09
M = "/hf-local/meta-llama/Llama-2-7b-hf"
add("pass_some_weights_not_used_lm_head",
    source="https://github.com/hpcaitech/ColossalAI/issues/3595",
    why="Loading the base model as LlamaModel for the dump drops lm_head.weight and transformers prints 'Some weights of the model checkpoint ... were not used' - expected; the run completed with AL 2.39.",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.39, t1=t1_hf_ok(M, extra_mid="""Some weights of the model checkpoint at /hf-local/meta-llama/Llama-2-7b-hf were not used when initializing LlamaModel: ['lm_head.weight']
- This IS expected if you are initializing LlamaModel from the checkpoint of a model trained on another task or with another architecture (e.g. initializing a BertForSequenceClassification model from a BertForPreTraining model).
- This IS NOT expected if you are initializing LlamaModel from the checkpoint of a model that you expect to be exactly identical (initializing a BertForSequenceClassification model from a BertForSequenceClassification model).
""")))

# ---------------------------------------------------------------- P10
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_triton_autotune_out_of_resource",
    source="https://github.com/Physical-Intelligence/openpi/issues/654",
    why="With torch.compile enabled, inductor's autotuner logged 'Runtime error during autotuning ... OutOfResources: out of resource: shared memory ... Ignoring this choice' and simply skipped those kernel configs; training finished and the run passed (AL 2.77).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.77, t2=t2_ok(M, extra_mid="""AUTOTUNE bmm(8x50x256, 8x256x1018)
  triton_bmm_68 0.0072 ms 100.0% ACC_TYPE='tl.float32', ALLOW_TF32=True, BLOCK_K=32, BLOCK_M=64, BLOCK_N=32, EVEN_K=True, GROUP_M=8, num_stages=5, num_warps=8
SingleProcess AUTOTUNE benchmarking takes 2.1373 seconds and 0.0003 seconds precompiling for 18 choices
E0912 11:54:57.366000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] Runtime error during autotuning: 
E0912 11:54:57.366000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] No valid triton configs. OutOfResources: out of resource: shared memory, Required: 131072, Hardware limit: 101376. Reducing block sizes or `num_stages` may help.. 
E0912 11:54:57.366000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] Ignoring this choice.
E0912 11:54:57.775000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] Runtime error during autotuning: 
E0912 11:54:57.775000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] No valid triton configs. OutOfResources: out of resource: shared memory, Required: 147456, Hardware limit: 101376. Reducing block sizes or `num_stages` may help.. 
E0912 11:54:57.775000 1121181 torch/_inductor/select_algorithm.py:2100] [7/0] Ignoring this choice.
""")))

# ---------------------------------------------------------------- P11
M = "/hf-local/Qwen/Qwen2.5-7B-Instruct"
add("pass_destroy_process_group_warning_at_exit",
    source="https://github.com/vllm-project/vllm/issues/17386",
    why="After the dump and the benchmark finished, PyTorch warned 'destroy_process_group() was not called before program exit' - a shutdown warning in a successful run (AL 2.58).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.58,
        t1=t1_vllm_ok(M, extra_end="[rank0]:[W508 00:41:45.803613446 ProcessGroupNCCL.cpp:1496] Warning: WARNING: destroy_process_group() was not called before program exit, which can leak resources. For more info, please see https://pytorch.org/docs/stable/distributed.html#shutdown (function operator())\n"),
        t3=t3_ok(M, al=2.58, extra_end="[rank0]:[W508 03:12:09.114201992 ProcessGroupNCCL.cpp:1496] Warning: WARNING: destroy_process_group() was not called before program exit, which can leak resources. For more info, please see https://pytorch.org/docs/stable/distributed.html#shutdown (function operator())\n")))

# ---------------------------------------------------------------- P12
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("pass_pip_dependency_resolver_error_line",
    source="https://github.com/vllm-project/vllm/issues/431",
    why="The benchmark's setup pip install printed pip's 'ERROR: pip's dependency resolver does not currently take into account...' conflict notice, but the install went through and the benchmark completed (AL 2.66).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.66, t3=t3_ok(M, al=2.66, extra_mid="""+ pip install -q -r requirements.txt
ERROR: pip's dependency resolver does not currently take into account all the packages that are installed. This behaviour is the source of the following dependency conflicts.
torchvision 0.15.0a0 requires torch==1.14.0a0+410ce96, but you have torch 2.0.1 which is incompatible.
torchtext 0.13.0a0+fae8e8c requires torch==1.14.0a0+410ce96, but you have torch 2.0.1 which is incompatible.
Successfully installed fschat-0.2.36 shortuuid-1.0.13
""")))

# ---------------------------------------------------------------- P13
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_relaunch_with_task0_skipped",
    source="https://github.com/vllm-project/vllm/issues/22525",
    why="The pipeline was relaunched with pipeline.task_0.skip=true because the data already existed; task_0 has nothing on disk, tasks 1-3 ran and passed (AL 2.69). A skipped task is not a failure. (Benign vLLM scheduler warning from the cited log.)",
    expect=PASS, family="skipped_and_logless",
    tasks=[skipped(0), task(1, log=t1_vllm_ok(M, extra_mid="WARNING 08-08 08:01:26 [core.py:111] Using configured V1 scheduler class vllm.v1.core.sched.async_scheduler.AsyncScheduler. This scheduler interface is not public and compatibility may not be maintained.\n")),
           task(2, log=t2_ok(M)), task(3, log=t3_ok(M, al=2.69), acceptance=2.69)])

# ---------------------------------------------------------------- P14
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("pass_dump_logs_missing_artifacts_present",
    source="https://github.com/vllm-project/vllm/pull/5714",
    why="The dump's log files were lost (its task directory was cleaned), but its .pt artifacts exist and training/benchmark consumed them successfully (AL 2.52); a task without logs but with artifacts did not fail. The resume_download FutureWarning in task_0 is routine noise.",
    expect=PASS, family="skipped_and_logless",
    tasks=[task(0, log=t0_vllm_ok(M, extra_start="""/usr/local/lib/python3.12/dist-packages/huggingface_hub/file_download.py:1132: FutureWarning: `resume_download` is deprecated and will be removed in version 1.0.0. Downloads always resume when possible. If you want to force a new download, use `force_download=True`.
  warnings.warn(
""")),
           dict(index=1, state="no_logs", exit_code=None, artifacts=True),
           task(2, log=t2_ok(M)), task(3, log=t3_ok(M, al=2.52), acceptance=2.52)])

# ---------------------------------------------------------------- P15
M = "/hf-local/Qwen/Qwen2-VL-2B-Instruct"
add("pass_asyncllm_del_typeerror_after_summary",
    source="https://github.com/HiThink-Research/GAGE/issues/138",
    why="The benchmark wrote its results and printed AL 2.33, then interpreter shutdown printed 'Exception ignored in: AsyncLLM.__del__' TypeError - destructor-only noise in a successful run.",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.33, t3=t3_ok(M, al=2.33, extra_end="""Saved results to mtbench.json and timing.json
Exception ignored in: <function AsyncLLM.__del__ at 0x7f3c1a2b8ea0>
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/async_llm.py", line 231, in __del__
    self.shutdown()
  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/async_llm.py", line 241, in shutdown
    cancel_task_threadsafe(getattr(self, "output_handler", None))
TypeError: 'NoneType' object is not callable
""")))

# ---------------------------------------------------------------- P16
M = "/hf-local/codellama/CodeLlama-34b-Instruct-hf"
add("pass_importerror_meta_path_none_at_shutdown",
    source="https://github.com/run-llama/llama_index/issues/13019",
    why="After 'Successfully processed all 8000 conversations.' the vLLM dump printed 'ImportError: sys.meta_path is None, Python is likely shutting down' from a __del__ - interpreter-shutdown noise, not a broken environment; the run passed (AL 2.41).",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.41, t1=t1_vllm_ok(M, extra_end="""Exception ignored in: <function Vllm.__del__ at 0x7f1723e82d30>
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/llm.py", line 217, in __del__
ImportError: sys.meta_path is None, Python is likely shutting down
""")))

# ---------------------------------------------------------------- P17
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
T0_TRT = dedent(f"""
RANK 0 GPU count: 8
+ trtllm-serve {M} --host 0.0.0.0 --port 8000 --tp_size 8 --max_seq_len 8192 --backend pytorch
<frozen importlib._bootstrap_external>:1184: FutureWarning: The cuda.cuda module is deprecated and will be removed in a future release, please switch to use the cuda.bindings.driver module instead.
<frozen importlib._bootstrap_external>:1184: FutureWarning: The cuda.cudart module is deprecated and will be removed in a future release, please switch to use the cuda.bindings.runtime module instead.
[TensorRT-LLM] TensorRT-LLM version: 1.0.0rc4
[06/26/2025-14:53:34] [TRT-LLM] [W] Using default gpus_per_node: 8
[06/26/2025-14:53:34] [TRT-LLM] [I] Compute capability: (9, 0)
[06/26/2025-14:55:02] [TRT-LLM] [I] get signal from executor worker
INFO:     Started server process [1433]
INFO:     Waiting for application startup.
INFO:     Application startup complete.
INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)
Server is up! (waited 151s)
+ python3 query.py --base-url http://localhost:8000/v1 --data /hf-local/datasets/nvidia/Daring-Anteater/train.jsonl --output-dir /scratchspace/data --num-shards 8
Loaded 8000 prompts
[shard 0/8] wrote 1000 conversations to /scratchspace/data/train-00000-00008.jsonl
[shard 1/8] wrote 1000 conversations to /scratchspace/data/train-00001-00008.jsonl
[shard 2/8] wrote 1000 conversations to /scratchspace/data/train-00002-00008.jsonl
[shard 3/8] wrote 1000 conversations to /scratchspace/data/train-00003-00008.jsonl
[shard 4/8] wrote 1000 conversations to /scratchspace/data/train-00004-00008.jsonl
[shard 5/8] wrote 1000 conversations to /scratchspace/data/train-00005-00008.jsonl
[shard 6/8] wrote 1000 conversations to /scratchspace/data/train-00006-00008.jsonl
[shard 7/8] wrote 1000 conversations to /scratchspace/data/train-00007-00008.jsonl
Main process exit
""")
add("pass_trtllm_synthesis_with_deprecation_warnings",
    source="https://github.com/NVIDIA/TensorRT-LLM/issues/5395",
    why="Synthesis used trtllm-serve; its cuda.cuda/cuda.cudart FutureWarnings and '[W] Using default gpus_per_node' are routine, the server came up and every later stage passed (AL 2.73).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.73, t0=T0_TRT))

# ---------------------------------------------------------------- P18
M = "/hf-local/openbmb/MiniCPM3-4B"
add("pass_vllm_mean_acceptance_length_metric",
    source="https://github.com/vllm-project/vllm/pull/24243",
    why="The benchmark reports its result only through vLLM's spec-decode metrics ('Mean acceptance length: 2.47'), which is above the 2.1 threshold; all stages succeeded.",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.47, t3=t3_ok(M, al=2.47, form="""Total output tokens: 106,678
Number of draft proposals: 43,221
Number of draft tokens generated: 259,326
Number of accepted tokens: 63,669
Mean acceptance length: 2.47

Acceptance rate at token 0: 0.58
Acceptance rate at token 1: 0.34
Acceptance rate at token 2: 0.22""")))

# ---------------------------------------------------------------- P19
M = "/hf-local/meta-llama/Llama-3.2-1B-Instruct"
add("pass_acceptance_just_above_threshold_gate_line",
    source="https://github.com/vllm-project/vllm/pull/16035",
    why="A small-model run whose benchmark ends with the smoke-test gate 'PASS: 2.12 >= 2.1' - just above the threshold, so the run passes.",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.12, t3=t3_ok(M, al=2.12, form="""Average AL: 2.12
PASS: 2.12 >= 2.1""")))

# ---------------------------------------------------------------- P20
M = "/hf-local/Qwen/Qwen3-30B-A3B"
add("pass_verbose_nccl_info_training",
    source="https://github.com/NVIDIA/nccl-tests/issues/252",
    why="Training ran with NCCL_DEBUG=INFO, filling the log with NCCL INFO topology/channel lines and a tuner-plugin fallback message; training finished and exported, and the run passed (AL 2.91).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.91, t2=t2_ok(M, extra_pre="""pool0-0141:25146:25827 [0] NCCL INFO TUNER/Plugin: Failed to find ncclTunerPlugin_v2, using internal tuner instead.
pool0-0141:25146:25827 [0] NCCL INFO ncclCommInitRank comm 0x559d5aa8ca00 rank 4 nranks 8 cudaDev 0 nvmlDev 0 busId 42000 commId 0x996ee6f117cb8e1e - Init COMPLETE
pool0-0141:25169:25829 [2] NCCL INFO Connected all trees
pool0-0141:25169:25829 [2] NCCL INFO threadThresholds 8/8/64 | 64/8/64 | 512 | 512
pool0-0141:25169:25829 [2] NCCL INFO 8 coll channels, 8 collnet channels, 0 nvls channels, 8 p2p channels, 2 p2p channels per peer
""")))

# ---------------------------------------------------------------- P21
M = "/hf-local/Qwen/Qwen2.5-14B-Instruct"
add("pass_executor_del_typeerror_on_exit",
    source="https://github.com/vllm-project/vllm/pull/25048",
    why="When the vLLM-based dump exited, ExecutorBase.__del__ raised 'TypeError: NoneType object is not callable' (printed as 'Exception ignored in') during garbage collection - harmless after all conversations were processed; the run passed (AL 2.62).",
    expect=PASS, family="recovered_not_failure",
    tasks=full(M, al=2.62, t1=t1_vllm_ok(M, extra_end="""Exception ignored in: <function ExecutorBase.__del__ at 0x7f8e2c1a5c60>
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/executor/executor_base.py", line 239, in __del__
    self.shutdown()
  File "/usr/local/lib/python3.12/dist-packages/vllm/executor/uniproc_executor.py", line 74, in shutdown
    self.collective_rpc("shutdown")
TypeError: 'NoneType' object is not callable
""")))

# ---------------------------------------------------------------- P22
M = "/hf-local/Qwen/Qwen3-8B"
add("pass_transformers_fallback_warning_in_server",
    source="https://github.com/vllm-project/vllm/issues/17630",
    why="vLLM warned that Qwen3ForCausalLM had no native implementation and fell back to the Transformers implementation; that is a performance warning, the server worked and the run passed (AL 2.49).",
    expect=PASS, family="benign_pass",
    tasks=full(M, al=2.49, t0kw=dict(extra_mid="(EngineCore_0 pid=611) WARNING 08-21 10:03:01 [registry.py:482] Qwen3ForCausalLM has no vLLM implementation, falling back to Transformers implementation. Some features may not be supported and performance may not be optimal.\n")))
