from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t1_vllm_ok, t2_ok, t3_ok


def ok012(m, **kw):
    return [task(0, log=t0_vllm_ok(m, **kw)), task(1, log=t1_hf_ok(m)), task(2, log=t2_ok(m))]


BENCH_HEAD = """
RANK 0 GPU count: 8
+ bash quick_check.sh --model {m} --draft /scratchspace/export --engine VLLM --tp {tp}
+ python3 run.py --model_dir {m} --draft_model_dir /scratchspace/export --dataset mtbench --tp_size {tp} --engine VLLM --draft_length 3 --concurrency 1
"""


def bhead(m, tp=8):
    return dedent(BENCH_HEAD.format(m=m, tp=tp))


# ---------------------------------------------------------------- F51
M = "/hf-local/Qwen/Qwen3-8B"
add("t3_rerun_benchmark_export_missing",
    source="https://github.com/gpustack/gpustack/issues/1268",
    why="Only the benchmark was relaunched (tasks 0-2 skipped) but /scratchspace/export does not exist in this experiment, so the path fell through to the hub-id validator (HFValidationError) - the benchmark's input artifact is missing.",
    expect=dict(run="fail", task=3, category="missing_input"), family="skipped_and_logless",
    tasks=[skipped(0), skipped(1), skipped(2),
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent("""
INFO 02-20 10:13:39 __init__.py:190] Automatically detected platform cuda.
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/vllm/config.py", line 2101, in __post_init__
    self.draft_model_config = ModelConfig(
  File "/usr/local/lib/python3.12/dist-packages/huggingface_hub/utils/_validators.py", line 106, in _inner_fn
    validate_repo_id(arg_value)
  File "/usr/local/lib/python3.12/dist-packages/huggingface_hub/utils/_validators.py", line 154, in validate_repo_id
    raise HFValidationError(
huggingface_hub.errors.HFValidationError: Repo id must be in the form 'repo_name' or 'namespace/repo_name': '/scratchspace/export'. Use `repo_type` argument if needed.
"""), sbatch_tail="srun: error: pool0-0102: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F52
M = "/hf-local/Qwen/Qwen3-30B-A3B"
add("t3_vllm_eagle3_unsupported_for_moe",
    source="https://github.com/vllm-project/vllm/issues/25927",
    why="The benchmark's vLLM build has no EAGLE3 (aux hidden state) support for the Qwen3-MoE target: 'Model does not support EAGLE3 interface but aux_hidden_state_outputs was requested' - unsupported model type for EAGLE3 in the engine.",
    expect=dict(run="fail", task=3, category="unsupported_model"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent(f"""
(EngineCore_0 pid=2318) INFO 09-30 08:11:42 [core.py:74] Initializing a V1 LLM engine (v0.10.2) with config: model='{M}', speculative_config=SpeculativeConfig(method='eagle3', model='/scratchspace/export', num_spec_tokens=3), tokenizer='{M}', tensor_parallel_size=8
(EngineCore_0 pid=2318) ERROR 09-30 08:12:57 [core.py:718] EngineCore failed to start.
(EngineCore_0 pid=2318) ERROR 09-30 08:12:57 [core.py:718] Traceback (most recent call last):
(EngineCore_0 pid=2318) ERROR 09-30 08:12:57 [core.py:718]   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/worker/gpu_model_runner.py", line 2204, in load_model
(EngineCore_0 pid=2318) ERROR 09-30 08:12:57 [core.py:718]     raise RuntimeError(
(EngineCore_0 pid=2318) ERROR 09-30 08:12:57 [core.py:718] RuntimeError: Model does not support EAGLE3 interface but aux_hidden_state_outputs was requested
RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {{}}
"""), sbatch_tail="srun: error: pool0-0207: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F53
M = "/hf-local/Qwen/Qwen3-235B-A22B-Instruct-2507-w8a8-QuaRot"
add("t3_low_acceptance_rotated_target",
    source="https://github.com/vllm-project/vllm-ascend/issues/5974",
    why="The draft head was trained on the original model's hidden states but benchmarked against a QuaRot-rotated target, and the acceptance length dropped to 1.42, below the 2.1 threshold - low acceptance.",
    expect=dict(run="fail", task=3, category="low_acceptance"), family="plain",
    tasks=ok012(M, waited=1102) + [
        task(3, exit_code=0, artifacts=True, acceptance=1.42, log=t3_ok(M, al=1.42)),
    ])

# ---------------------------------------------------------------- F54
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("t3_extremely_low_acceptance",
    source="https://github.com/SafeAILab/EAGLE/issues/227",
    why="Every stage finished, but speculative decoding accepted almost nothing (acceptance ratio 1.18) - the draft head is not useful; the run fails the 2.1 quality gate.",
    expect=dict(run="fail", task=3, category="low_acceptance"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=0, artifacts=True, acceptance=1.18, log=t3_ok(M, al=1.18, form="dict")),
    ])

# ---------------------------------------------------------------- F55
M = "/hf-local/meta-llama/Meta-Llama-3-8B-Instruct"
add("t3_vllm_metrics_low_mean_acceptance",
    source="https://github.com/vllm-project/vllm/issues/9565",
    why="vLLM's spec-decode metrics report a mean acceptance length of 1.64 for the EAGLE draft, well under the 2.1 threshold - the speculative decoding is worse than expected.",
    expect=dict(run="fail", task=3, category="low_acceptance"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=0, artifacts=True, acceptance=1.64, log=t3_ok(M, al=1.64, form="""SpecDecoding metrics: Draft acceptance rate: 21.3%, Mean acceptance length: 1.64, Accepted: 5116 tokens, Drafted: 24012 tokens, Per-position acceptance rate: 0.412, 0.155, 0.071
Mean acceptance length: 1.64""")),
    ])

# ---------------------------------------------------------------- F56
M = "/hf-local/Qwen/Qwen2-VL-72B-Instruct"
add("t3_benchmark_load_oom",
    source="https://github.com/vllm-project/vllm/issues/15182",
    why="The benchmark loaded the 72B target with too little tensor parallelism and worker rank 5 ran out of GPU memory in load_model - GPU OOM in task_3.",
    expect=dict(run="fail", task=3, category="gpu_oom"), family="plain",
    tasks=ok012(M, waited=980) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M, tp=2) + dedent("""
(VllmWorker rank=5 pid=3073)   File "/root/.local/share/uv/python/cpython-3.12.9-linux-x86_64-gnu/lib/python3.12/multiprocessing/process.py", line 314, in _bootstrap
(VllmWorker rank=5 pid=3073)     self.run()
(VllmWorker rank=5 pid=3073)   File "/opt/venv/lib/python3.12/site-packages/vllm/v1/executor/multiproc_executor.py", line 311, in worker_main
(VllmWorker rank=5 pid=3073)     worker = WorkerProc(*args, **kwargs)
(VllmWorker rank=5 pid=3073)              ^^^^^^^^^^^^^^^^^^^^^^^^^^^
(VllmWorker rank=5 pid=3073)   File "/opt/venv/lib/python3.12/site-packages/vllm/v1/executor/multiproc_executor.py", line 244, in __init__
(VllmWorker rank=5 pid=3073)     self.worker.load_model()
(VllmWorker rank=5 pid=3073)   File "/opt/venv/lib/python3.12/site-packages/vllm/v1/worker/gpu_worker.py", line 136, in load_model
(VllmWorker rank=5 pid=3073)     self.model_runner.load_model()
(VllmWorker rank=5 pid=3073)   File "/opt/venv/lib/python3.12/site-packages/vllm/v1/worker/gpu_model_runner.py", line 1167, in load_model
(VllmWorker rank=5 pid=3073)     self.model = get_model(vllm_config=self.vllm_config)
(VllmWorker rank=5 pid=3073) torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.16 GiB. GPU 5 has a total capacity of 79.19 GiB of which 821.06 MiB is free. Including non-PyTorch memory, this process has 78.37 GiB memory in use. Of the allocated memory 77.70 GiB is allocated by PyTorch, and 14.12 MiB is reserved by PyTorch but unallocated.
RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}
"""), sbatch_tail="srun: error: pool0-0388: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F57
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("t3_speculative_config_validation_error",
    source="https://github.com/vllm-project/vllm/pull/20375",
    why="The benchmark built a speculative_config without num_speculative_tokens and vLLM's pydantic validation rejected it (ValidationError for SpeculativeConfig) - a plain configuration exception in the benchmark script.",
    expect=dict(run="fail", task=3, category="python_exception"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent("""
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/specdec_bench/run.py", line 188, in <module>
    main(args)
  File "/usr/local/lib/python3.12/dist-packages/vllm/engine/arg_utils.py", line 1039, in create_speculative_config
    speculative_config = SpeculativeConfig.from_dict(
                         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/dist-packages/vllm/config.py", line 2543, in from_dict
    return cls(**dict_value)
           ^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/dist-packages/pydantic/_internal/_dataclasses.py", line 123, in __init__
    s.__pydantic_validator__.validate_python(ArgsKwargs(args, kwargs), self_instance=s)
pydantic_core._pydantic_core.ValidationError: 1 validation error for SpeculativeConfig
  Value error, num_speculative_tokens must be provided with speculative model unless the draft model config contains an n_predict parameter. [type=value_error, input_value=ArgsKwargs((), {'model': ...sable_log_stats': True}), input_type=ArgsKwargs]
"""), sbatch_tail="srun: error: pool0-0019: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F58
M = "/hf-local/Qwen/Qwen3-14B"
add("t3_uncorrectable_ecc_on_bad_node",
    source="https://github.com/jade-hpc-gpu/jade-hpc-gpu.github.io/issues/194",
    why="The benchmark died with 'CUDA error: uncorrectable ECC error encountered' on a node that the site later confirmed had faulty hardware - a GPU hardware/CUDA fault.",
    expect=dict(run="fail", task=3, category="cuda_error"), family="infra_beats_symptom",
    tasks=ok012(M) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent("""
(Worker_TP3 pid=911) ERROR 05-03 14:20:11 [multiproc_executor.py:596] WorkerProc hit an exception.
(Worker_TP3 pid=911) ERROR 05-03 14:20:11 [multiproc_executor.py:596] RuntimeError: CUDA error: uncorrectable ECC error encountered
(Worker_TP3 pid=911) ERROR 05-03 14:20:11 [multiproc_executor.py:596] CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
(Worker_TP3 pid=911) ERROR 05-03 14:20:11 [multiproc_executor.py:596] For debugging consider passing CUDA_LAUNCH_BLOCKING=1.
(Worker_TP3 pid=911) ERROR 05-03 14:20:11 [multiproc_executor.py:596] Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.
(EngineCore_0 pid=602) ERROR 05-03 14:20:11 [core.py:718] EngineCore encountered a fatal error.
[rank3]:[E503 14:20:41.904133671 ProcessGroupNCCL.cpp:1595] [PG ID 2 PG GUID 3 Rank 3] Process group watchdog thread terminated with exception: CUDA error: uncorrectable ECC error encountered
vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.
"""), sbatch_tail="srun: error: dgk713: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F59
M = "/hf-local/nvidia/Llama-3_3-Nemotron-Super-49B-v1"
add("t3_benchmark_missing_trust_remote_code",
    source="https://github.com/runpod-workers/worker-vllm/issues/43",
    why="The target model ships custom code; task_0 passed --trust-remote-code but the benchmark did not, so transformers prompted for confirmation and died with EOFError in the non-interactive job.",
    expect=dict(run="fail", task=3, category="trust_remote_code"), family="plain",
    tasks=ok012(M, waited=701) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent(f"""
Traceback (most recent call last):
  File "/usr/local/lib/python3.10/dist-packages/transformers/dynamic_module_utils.py", line 598, in resolve_trust_remote_code
The repository for {M} contains custom code which must be executed to correctly load the model. You can inspect the repository content at https://hf.co/{M}.
You can avoid this prompt in future by passing the argument `trust_remote_code=True`.

    answer = input(
EOFError: EOF when reading a line

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/specdec_bench/run.py", line 188, in <module>
    main(args)
  File "/usr/local/lib/python3.10/dist-packages/transformers/dynamic_module_utils.py", line 614, in resolve_trust_remote_code
    raise ValueError(
ValueError: The repository for {M} contains custom code which must be executed to correctly load the model. You can inspect the repository content at https://hf.co/{M}.
Please pass the argument `trust_remote_code=True` to allow custom code to be run.
"""), sbatch_tail="srun: error: pool0-0091: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F60
M = "/hf-local/Qwen/Qwen2.5-7B-Instruct"
add("t3_pydantic_conflict_via_transformers_model_import",
    source="https://github.com/vllm-project/vllm/issues/4912",
    why="The benchmark container has a pydantic version incompatible with transformers, so importing a model module failed with 'FieldInfo' object has no attribute 'required' - a package version conflict surfacing through model code.",
    expect=dict(run="fail", task=3, category="python_env"), family="env_vs_model",
    tasks=ok012(M) + [
        task(3, exit_code=1, artifacts=False, log=bhead(M) + dedent("""
Traceback (most recent call last):
  File "/usr/local/lib/python3.10/dist-packages/transformers/utils/import_utils.py", line 1510, in _get_module
    return importlib.import_module("." + module_name, self.__name__)
  File "/usr/local/lib/python3.10/dist-packages/transformers/generation/utils.py", line 29, in <module>
    from ..cache_utils import Cache, DynamicCache
RuntimeError: Failed to import transformers.models.clip.modeling_clip because of the following error (look up to see its traceback):
Failed to import transformers.generation.utils because of the following error (look up to see its traceback):
'FieldInfo' object has no attribute 'required'
"""), sbatch_tail="srun: error: pool0-0211: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F61
M = "/hf-local/Qwen/Qwen3-8B"
add("t3_container_has_no_bash",
    source="https://github.com/NVIDIA/pyxis/issues/61",
    why="The benchmark image could not be started: enroot-switchroot failed to execute /bin/bash inside it and the pyxis SPANK plugin aborted the step - a container start failure.",
    expect=dict(run="fail", task=3, category="container"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=1, artifacts=False, log="pyxis: importing docker image: nvcr.io#nvidia/tensorrt-llm/release:1.1.0\n", sbatch_tail="""
slurmstepd: error: pyxis: container start failed with error code: 1
slurmstepd: error: pyxis: printing contents of log file ...
slurmstepd: error: pyxis:     enroot-switchroot: failed to execute: /bin/bash: No such file or directory
slurmstepd: error: pyxis: couldn't start container
slurmstepd: error: pyxis: if the image has an unusual entrypoint, try using --no-container-entrypoint
slurmstepd: error: spank: required plugin spank_pyxis.so: task_init() failed with rc=-1
slurmstepd: error: Failed to invoke spank plugin stack
srun: error: pool0-0242: task 0: Exited with exit code 1
"""),
    ])

# ---------------------------------------------------------------- F66
M = "/hf-local/Qwen/Qwen1.5-7B"
add("t3_benchmark_missing_weight_shard",
    source="https://github.com/hiyouga/LlamaFactory/issues/3340",
    why="The local mirror of the target is incomplete: safe_open could not find model-00001-of-00004.safetensors listed in the index - a missing weight shard (model files unavailable).",
    expect=dict(run="fail", task=3, category="model_files"), family="plain",
    tasks=[skipped(0), skipped(1), skipped(2),
        task(3, exit_code=1, artifacts=False, log=bhead(M, tp=1) + dedent(f"""
Loading checkpoint shards:   0%|          | 0/4 [00:00<?, ?it/s]
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/specdec_bench/specdec_bench/models/hf.py", line 41, in __init__
    self.model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype="auto", device_map="auto")
  File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/auto_factory.py", line 563, in from_pretrained
    return model_class.from_pretrained(
  File "/usr/local/lib/python3.10/dist-packages/transformers/modeling_utils.py", line 3531, in from_pretrained
    ) = cls._load_pretrained_model(
  File "/usr/local/lib/python3.10/dist-packages/transformers/modeling_utils.py", line 3938, in _load_pretrained_model
    state_dict = load_state_dict(shard_file, is_quantized=is_quantized)
  File "/usr/local/lib/python3.10/dist-packages/transformers/modeling_utils.py", line 504, in load_state_dict
    with safe_open(checkpoint_file, framework="pt") as f:
FileNotFoundError: No such file or directory: "{M}/model-00001-of-00004.safetensors"
"""), sbatch_tail="srun: error: pool0-0052: task 0: Exited with exit code 1\n"),
    ])

# ---------------------------------------------------------------- F69
M = "/hf-local/Qwen/Qwen3-8B"
add("t3_quick_check_script_not_found",
    source="https://github.com/TeamWiseFlow/xiaobei/issues/132",
    why="bash could not find the benchmark script at the path configured in the pipeline YAML ('No such file or directory', exit 127) - the script path does not exist.",
    expect=dict(run="fail", task=3, category="missing_script"), family="plain",
    tasks=ok012(M) + [
        task(3, exit_code=127, artifacts=False, log=dedent("""
RANK 0 GPU count: 8
+ bash /nemo_run/code/modelopt/tools/launcher/common/specdec_bench/quick_check.sh --model /hf-local/Qwen/Qwen3-8B --draft /scratchspace/export --engine VLLM --tp 8
bash: /nemo_run/code/modelopt/tools/launcher/common/specdec_bench/quick_check.sh: No such file or directory
"""), sbatch_tail="srun: error: pool0-0063: task 0: Exited with exit code 127\n"),
    ])
