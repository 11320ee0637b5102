from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t2_ok, t3_ok

FNF_DATA = """
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {m} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 214, in <module>
    main(args)
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 88, in main
    input_files = sorted(os.listdir(args.input_data))
FileNotFoundError: [Errno 2] No such file or directory: '/scratchspace/data'
"""

# ---------------------------------------------------------------- F01
M = "/hf-local/meta-llama/Llama-3.3-70B-Instruct"
add(
    "t0_vllm_load_oom_then_dump_missing_data",
    source="https://github.com/vllm-project/vllm/issues/16343",
    why="The vLLM server died with torch.OutOfMemoryError while building Llama layers (model too big for TP=2); query.sh still exited 0, so the dump ran and failed on the empty /scratchspace/data - the first real failure is the GPU OOM in task_0.",
    expect=dict(run="fail", task=0, category="gpu_oom"),
    family="first_failure_wins",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 2 --max-model-len 16384 --port 8000
INFO 04-09 05:38:12 [api_server.py:1034] vLLM API server version 0.8.3
INFO 04-09 05:38:41 [core.py:61] Initializing a V1 LLM engine (v0.8.3) with config: model='{M}', speculative_config=None, tokenizer='{M}', dtype=torch.bfloat16, max_seq_len=16384, tensor_parallel_size=2
INFO 04-09 05:39:40 [gpu_model_runner.py:1276] Starting to load model {M}...
ERROR 04-09 05:39:54 [core.py:390] EngineCore hit an exception: Traceback (most recent call last):
ERROR 04-09 05:39:54 [core.py:390]   File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/models/llama.py", line 321, in __init__
ERROR 04-09 05:39:54 [core.py:390]     self.start_layer, self.end_layer, self.layers = make_layers(
ERROR 04-09 05:39:54 [core.py:390]                                                     ^^^^^^^^^^^^
ERROR 04-09 05:39:54 [core.py:390]   File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/models/utils.py", line 610, in make_layers
ERROR 04-09 05:39:54 [core.py:390]     maybe_offload_to_cpu(layer_fn(prefix=f"{{prefix}}.{{idx}}"))
ERROR 04-09 05:39:54 [core.py:390]                          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
ERROR 04-09 05:39:54 [core.py:390]   File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/models/llama.py", line 323, in <lambda>
ERROR 04-09 05:39:54 [core.py:390]     lambda prefix: layer_type(config=config,
ERROR 04-09 05:39:54 [core.py:390]                    ^^^^^^^^^^^^^^^^^^^^^^^^^
ERROR 04-09 05:39:54 [core.py:390]   File "/usr/local/lib/python3.12/dist-packages/vllm/model_executor/models/llama.py", line 254, in __init__
ERROR 04-09 05:39:54 [core.py:390]     self.mlp = LlamaMLP(
ERROR 04-09 05:39:54 [core.py:390]                ^^^^^^^^^
ERROR 04-09 05:39:54 [core.py:390] torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 350.00 MiB. GPU 0 has a total capacity of 79.19 GiB of which 212.81 MiB is free. Including non-PyTorch memory, this process has 78.97 GiB memory in use. Of the allocated memory 78.31 GiB is allocated by PyTorch, and 21.37 MiB is reserved by PyTorch but unallocated.
ERROR 04-09 05:39:54 [core.py:390]
CRITICAL 04-09 05:39:54 [core_client.py:361] Got fatal signal from worker processes, shutting down. See stack trace above for root cause issue.
ERROR: vLLM server failed to start within 1800s
""",
        ),
        task(
            1,
            exit_code=1,
            log=FNF_DATA.format(m=M),
            sbatch_tail="srun: error: pool0-01234: task 0: Exited with exit code 1\n",
        ),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F02
M = "/hf-local/Qwen/Qwen1.5-7B-Chat"
add(
    "t0_kv_cache_smaller_than_max_len",
    source="https://github.com/QwenLM/Qwen3/issues/295",
    why="vLLM refused to start because the model's 32768-token max seq len does not fit the 7344-token KV cache; the fix is a lower max_model_len or higher gpu_memory_utilization - a KV-cache sizing failure.",
    expect=dict(run="fail", task=0, category="kv_cache"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ python -m vllm.entrypoints.openai.api_server --served-model-name Qwen1.5-7B-Chat --model {M} --port 8000 --gpu-memory-utilization 0.4
INFO 04-11 09:12:20 api_server.py:149] vLLM API server version 0.4.0.post1
INFO 04-11 09:12:20 llm_engine.py:74] Initializing an LLM engine (v0.4.0.post1) with config: model='{M}', tokenizer='{M}', tokenizer_mode=auto, revision=None, tokenizer_revision=None, trust_remote_code=False, dtype=torch.bfloat16, max_seq_len=32768, download_dir=None, load_format=auto, tensor_parallel_size=1, disable_custom_all_reduce=True, quantization=None, enforce_eager=False, kv_cache_dtype=auto, device_config=cuda, seed=0)
INFO 04-11 09:12:31 model_runner.py:104] Loading model weights took 14.3919 GB
INFO 04-11 09:12:34 gpu_executor.py:94] # GPU blocks: 459, # CPU blocks: 512
Traceback (most recent call last):
  File "/usr/lib/python3.10/runpy.py", line 196, in _run_module_as_main
    return _run_code(code, main_globals, None,
  File "/usr/local/lib/python3.10/dist-packages/vllm/engine/llm_engine.py", line 358, in _initialize_kv_caches
    self.model_executor.initialize_cache(num_gpu_blocks, num_cpu_blocks)
  File "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker.py", line 330, in raise_if_cache_size_invalid
    raise ValueError(
ValueError: The model's max seq len (32768) is larger than the maximum number of tokens that can be stored in KV cache (7344). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F03
M = "/hf-local/meta-llama/Meta-Llama-3-70B-Instruct"
add(
    "t0_kv_cache_ray_workers_70b",
    source="https://github.com/OpenRLHF/OpenRLHF/issues/336",
    why="Llama-3-70B with 8192 context got only 378 GPU blocks (6048 tokens) of KV cache, and vLLM raised the max-seq-len-larger-than-KV-cache ValueError during initialize_cache - KV cache too small.",
    expect=dict(run="fail", task=0, category="kv_cache"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 4 --port 8000 --gpu-memory-utilization 0.5
INFO 06-28 06:10:02 llm_engine.py:161] Initializing an LLM engine (v0.5.0.post1) with config: model='{M}', speculative_config=None, tokenizer='{M}', skip_tokenizer_init=False, tokenizer_mode=auto, revision=None, rope_scaling=None, rope_theta=None, tokenizer_revision=None, trust_remote_code=False, dtype=torch.bfloat16, max_seq_len=8192, download_dir=None, load_format=LoadFormat.AUTO, tensor_parallel_size=4
INFO 06-28 06:11:45 distributed_gpu_executor.py:45] # GPU blocks: 378, # CPU blocks: 1638
ERROR 06-28 06:11:45 worker_base.py:145] Error executing method initialize_cache. This might cause deadlock in distributed execution.
ERROR 06-28 06:11:45 worker_base.py:145] Traceback (most recent call last):
ERROR 06-28 06:11:45 worker_base.py:145]   File "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker_base.py", line 137, in execute_method
ERROR 06-28 06:11:45 worker_base.py:145]     return executor(*args, **kwargs)
ERROR 06-28 06:11:45 worker_base.py:145]   File "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker.py", line 176, in initialize_cache
ERROR 06-28 06:11:45 worker_base.py:145]     raise_if_cache_size_invalid(num_gpu_blocks,
ERROR 06-28 06:11:45 worker_base.py:145]   File "/usr/local/lib/python3.10/dist-packages/vllm/worker/worker.py", line 370, in raise_if_cache_size_invalid
ERROR 06-28 06:11:45 worker_base.py:145]     raise ValueError(
ERROR 06-28 06:11:45 worker_base.py:145] ValueError: The model's max seq len (8192) is larger than the maximum number of tokens that can be stored in KV cache (6048). Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F04
M = "/hf-local/Qwen/Qwen3-8B"
add(
    "t0_engine_core_init_failed_no_root_cause",
    source="https://github.com/vllm-project/vllm/issues/23176",
    why="The vLLM engine core process died during start-up and the API server only reported 'Engine core initialization failed ... Failed core proc(s): {}' with no more specific cause - a generic server start-up failure.",
    expect=dict(run="fail", task=0, category="server_startup"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 8192 --port 8000
(APIServer pid=1179246) INFO 08-18 14:02:31 [api_server.py:1805] vLLM API server version 0.10.1rc2.dev211+g1b9902806
(APIServer pid=1179246) INFO 08-18 14:02:31 [utils.py:326] non-default args: {{'model_tag': '{M}', 'model': '{M}', 'max_model_len': 8192, 'tensor_parallel_size': 8}}
(APIServer pid=1179246) Traceback (most recent call last):
(APIServer pid=1179246)   File "/usr/local/bin/vllm", line 8, in <module>
(APIServer pid=1179246)     sys.exit(main())
(APIServer pid=1179246)              ^^^^^^
(APIServer pid=1179246)   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core_client.py", line 767, in __init__
(APIServer pid=1179246)     super().__init__(
(APIServer pid=1179246)   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core_client.py", line 446, in __init__
(APIServer pid=1179246)     with launch_core_engines(vllm_config, executor_class,
(APIServer pid=1179246)          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(APIServer pid=1179246)   File "/usr/lib/python3.12/contextlib.py", line 144, in __exit__
(APIServer pid=1179246)     next(self.gen)
(APIServer pid=1179246)   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/utils.py", line 706, in launch_core_engines
(APIServer pid=1179246)     wait_for_engine_startup(
(APIServer pid=1179246)   File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/utils.py", line 759, in wait_for_engine_startup
(APIServer pid=1179246)     raise RuntimeError("Engine core initialization failed. "
(APIServer pid=1179246) RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {{}}
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F05
M = "/hf-local/Qwen/Qwen3-8B"
add(
    "t0_qwen3_not_supported_old_vllm",
    source="https://github.com/vllm-project/vllm/issues/22231",
    why="The serving container's vLLM predates Qwen3, so it rejected Qwen3ForCausalLM as an unsupported architecture; the fix is a newer serving container.",
    expect=dict(run="fail", task=0, category="unsupported_model"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 8192 --port 8000
INFO 08-05 10:41:07 api_server.py:528] vLLM API server version 0.6.3.post1
INFO 08-05 10:41:07 api_server.py:529] args: Namespace(subparser='serve', model_tag='{M}', config='', host=None, port=8000, uvicorn_log_level='info', tensor_parallel_size=8, max_model_len=8192)
Traceback (most recent call last):
  File "/usr/local/bin/vllm", line 8, in <module>
    sys.exit(main())
  File "/usr/local/lib/python3.10/dist-packages/vllm/scripts.py", line 195, in main
    args.dispatch_function(args)
  File "/usr/local/lib/python3.10/dist-packages/vllm/engine/arg_utils.py", line 983, in create_model_config
    return ModelConfig(
  File "/usr/local/lib/python3.10/dist-packages/vllm/config.py", line 348, in __init__
    self.multimodal_config = self._init_multimodal_config(
  File "/usr/local/lib/python3.10/dist-packages/vllm/model_executor/models/registry.py", line 393, in inspect_model_cls
    return self._raise_for_unsupported(architectures)
  File "/usr/local/lib/python3.10/dist-packages/vllm/model_executor/models/registry.py", line 317, in _raise_for_unsupported
    raise ValueError(
ValueError: Model architectures ['Qwen3ForCausalLM'] are not supported for now. Supported architectures: ['AquilaModel', 'AquilaForCausalLM', 'ArcticForCausalLM', 'BaiChuanForCausalLM', 'BaichuanForCausalLM', 'BloomForCausalLM', 'CohereForCausalLM', 'DbrxForCausalLM', 'DeciLMForCausalLM', 'DeepseekForCausalLM', 'DeepseekV2ForCausalLM', 'ExaoneForCausalLM', 'FalconForCausalLM', 'GemmaForCausalLM', 'Gemma2ForCausalLM', 'GPT2LMHeadModel', 'GPTBigCodeForCausalLM', 'GPTJForCausalLM', 'GPTNeoXForCausalLM', 'GraniteForCausalLM', 'GraniteMoeForCausalLM', 'InternLMForCausalLM', 'InternLM2ForCausalLM', 'JAISLMHeadModel', 'JambaForCausalLM', 'LlamaForCausalLM', 'LLaMAForCausalLM', 'MambaForCausalLM', 'MistralForCausalLM', 'MixtralForCausalLM', 'QuantMixtralForCausalLM', 'MptForCausalLM', 'MPTForCausalLM', 'MiniCPMForCausalLM', 'MiniCPM3ForCausalLM', 'NemotronForCausalLM', 'OlmoForCausalLM', 'OlmoeForCausalLM', 'OPTForCausalLM', 'OrionForCausalLM', 'PersimmonForCausalLM', 'PhiForCausalLM', 'Phi3ForCausalLM', 'Phi3SmallForCausalLM', 'PhiMoEForCausalLM', 'Qwen2ForCausalLM', 'Qwen2MoeForCausalLM', 'RWForCausalLM', 'StableLMEpochForCausalLM', 'StableLmForCausalLM', 'Starcoder2ForCausalLM', 'SolarForCausalLM', 'XverseForCausalLM', 'BartModel', 'BartForConditionalGeneration']
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F06
M = "/hf-local/llava-hf/llava-1.5-7b-hf"
add(
    "t0_unsupported_arch_masking_flash_attn_import_error",
    source="https://github.com/vllm-project/vllm/issues/9377",
    why="vLLM reported LlavaForConditionalGeneration as 'not supported', but the lines above show the registry inspection died on a flash_attn_2_cuda undefined-symbol ImportError - a broken Python environment, not an unsupported model.",
    expect=dict(run="fail", task=0, category="python_env"),
    family="env_vs_model",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 4096 --port 8000
INFO 10-16 05:20:41 api_server.py:528] vLLM API server version 0.6.3
ERROR 10-16 05:20:48 registry.py:264] Error in inspecting model architecture 'LlavaForConditionalGeneration'
ERROR 10-16 05:20:48 registry.py:264] Traceback (most recent call last):
ERROR 10-16 05:20:48 registry.py:264]   File "/usr/local/lib/python3.10/dist-packages/vllm/model_executor/models/registry.py", line 426, in _run_in_subprocess
ERROR 10-16 05:20:48 registry.py:264]     returned.check_returncode()
ERROR 10-16 05:20:48 registry.py:264]   File "/usr/lib/python3.10/subprocess.py", line 457, in check_returncode
ERROR 10-16 05:20:48 registry.py:264]     raise CalledProcessError(self.returncode, self.args, self.stdout,
ERROR 10-16 05:20:48 registry.py:264] subprocess.CalledProcessError: Command '['/usr/bin/python3', '-m', 'vllm.model_executor.models.registry']' returned non-zero exit status 1.
ERROR 10-16 05:20:48 registry.py:264]
ERROR 10-16 05:20:48 registry.py:264] The above exception was the direct cause of the following exception:
ERROR 10-16 05:20:48 registry.py:264]
ERROR 10-16 05:20:48 registry.py:264] Traceback (most recent call last):
ERROR 10-16 05:20:48 registry.py:264]   File "/usr/local/lib/python3.10/dist-packages/vllm/model_executor/models/llava.py", line 11, in <module>
ERROR 10-16 05:20:48 registry.py:264]     from vllm.attention import AttentionMetadata
ERROR 10-16 05:20:48 registry.py:264] ImportError: /usr/local/lib/python3.10/dist-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: undefined symbol: _ZN3c105ErrorC2ENS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE
ERROR 10-16 05:20:48 registry.py:264]
Traceback (most recent call last):
  File "/usr/local/bin/vllm", line 8, in <module>
    sys.exit(main())
  File "/usr/local/lib/python3.10/dist-packages/vllm/scripts.py", line 195, in main
    args.dispatch_function(args)
  File "/usr/local/lib/python3.10/dist-packages/vllm/scripts.py", line 41, in serve
    uvloop.run(run_server(args))
  File "/usr/local/lib/python3.10/dist-packages/uvloop/__init__.py", line 82, in run
    return loop.run_until_complete(wrapper())
  File "uvloop/loop.pyx", line 1518, in uvloop.loop.Loop.run_until_complete
  File "/usr/local/lib/python3.10/dist-packages/vllm/entrypoints/openai/api_server.py", line 552, in run_server
    async with build_async_engine_client(args) as engine_client:
ValueError: Model architectures ['LlavaForConditionalGeneration'] are not supported for now. Supported architectures: ['AquilaModel', 'AquilaForCausalLM', 'LlamaForCausalLM', 'LlavaForConditionalGeneration', 'LlavaNextForConditionalGeneration', 'MistralForCausalLM', 'Qwen2ForCausalLM', 'Qwen2VLForConditionalGeneration']
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F07
M = "/hf-local/pansophic/rocket-3B"
add(
    "t0_custom_code_without_trust_remote_code",
    source="https://github.com/h2oai/h2o-llmstudio/issues/560",
    why="The model ships its own configuration code and the server was started without trust_remote_code, so transformers refused to load it.",
    expect=dict(run="fail", task=0, category="trust_remote_code"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 1 --max-model-len 4096 --port 8000
INFO 01-03 16:22:10 api_server.py:149] vLLM API server version 0.2.6
Traceback (most recent call last):
  File "/usr/local/lib/python3.10/dist-packages/vllm/engine/arg_utils.py", line 197, in create_engine_configs
    model_config = ModelConfig(self.model, self.tokenizer,
  File "/usr/local/lib/python3.10/dist-packages/vllm/config.py", line 101, in __init__
    self.hf_config = get_config(self.model, trust_remote_code, revision)
  File "/usr/local/lib/python3.10/dist-packages/vllm/transformers_utils/config.py", line 23, in get_config
    config = AutoConfig.from_pretrained(
  File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/configuration_auto.py", line 1085, in from_pretrained
    trust_remote_code = resolve_trust_remote_code(
  File "/usr/local/lib/python3.10/dist-packages/transformers/dynamic_module_utils.py", line 621, in resolve_trust_remote_code
    raise ValueError(
ValueError: Loading pansophic/rocket-3B requires you to execute the configuration file in that repo on your local machine. Make sure you have read the code there to avoid malicious use, then set the option `trust_remote_code=True` to remove this error.
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F08
M = "/hf-local/openai/gpt-oss-20b"
add(
    "t0_harmony_vocab_then_empty_chain",
    source="https://github.com/vllm-project/vllm/issues/22525",
    why="On the air-gapped cluster the gpt-oss server could not download the harmony o200k vocab (HarmonyError) and died after engine init; query.py wrote nothing, the dump then found no prompts and training found no .pt files - the root cause is the tokenizer vocab in task_0.",
    expect=dict(run="fail", task=0, category="tokenizer"),
    family="first_failure_wins",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 8192 --port 8000
(APIServer pid=1) INFO 08-08 07:58:02 [api_server.py:1755] vLLM API server version 0.10.1+gptoss
Capturing CUDA graph shapes:  98%|█████████▊| 81/83 [01:40<00:02,  1.27s/it]
Capturing CUDA graph shapes:  99%|█████████▉| 82/83 [01:42<00:01,  1.33s/it]
Capturing CUDA graph shapes: 100%|██████████| 83/83 [01:45<00:00,  1.27s/it]
(VllmWorker pid=418) INFO 08-08 08:01:25 [gpu_model_runner.py:2567] Graph capturing finished in 106 secs, took 0.72 GiB
(EngineCore_0 pid=284) INFO 08-08 08:01:25 [core.py:216] init engine (profile, create kv cache, warmup model) took 196.18 seconds
(EngineCore_0 pid=284) reasoning_end_token_ids [200006, 173781, 200005, 17196, 200008]
(EngineCore_0 pid=284) WARNING 08-08 08:01:26 [core.py:111] Using configured V1 scheduler class vllm.v1.core.sched.async_scheduler.AsyncScheduler. This scheduler interface is not public and compatibility may not be maintained.
(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/openai/serving_responses.py", line 130, in __init__
(APIServer pid=1)     get_stop_tokens_for_assistant_actions())
(APIServer pid=1)     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/harmony_utils.py", line 187, in get_stop_tokens_for_assistant_actions
(APIServer pid=1)     return get_encoding().stop_tokens_for_assistant_actions()
(APIServer pid=1)            ^^^^^^^^^^^^^^
(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/harmony_utils.py", line 37, in get_encoding
(APIServer pid=1)     _harmony_encoding = load_harmony_encoding(
(APIServer pid=1)                         ^^^^^^^^^^^^^^^^^^^^^^
(APIServer pid=1)   File "/usr/local/lib/python3.12/dist-packages/openai_harmony/__init__.py", line 674, in load_harmony_encoding
(APIServer pid=1)     inner: _PyHarmonyEncoding = _load_harmony_encoding(name)
(APIServer pid=1)                                 ^^^^^^^^^^^^^^^^^^^^^^^^^^^^
(APIServer pid=1) openai_harmony.HarmonyError: error downloading or loading vocab file: failed to download or load vocab file
ERROR: vLLM server failed to start within 1800s
""",
        ),
        task(
            1,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 0 conversations from /scratchspace/data
No prompts to process.
""",
        ),
        task(
            2,
            exit_code=1,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {M} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs 2
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 212, in train
[rank0]:     data_module = make_eagle_supervised_data_module(tokenizer, data_args, max_length=training_args.training_seq_len)
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/eagle_utils.py", line 371, in make_eagle_supervised_data_module
[rank0]:     raise ValueError(f"No .pt files found in {{data_args.offline_data_path}}")
[rank0]: ValueError: No .pt files found in /scratchspace/offline_hidden_states
[ERROR] /nemo_run/code/modelopt/examples/speculative_decoding/launch_train.sh:164 failed with status 1.
<REPORT>training failed: launch_train.sh exited with status 1</REPORT>
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
OSError: Error no file named pytorch_model.bin, model.safetensors, tf_model.h5, model.ckpt.index or flax_model.msgpack found in directory /scratchspace/eagle3.
""",
            sbatch_tail="srun: error: pool0-0412: task 0: Exited with exit code 1\n",
        ),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F09
add(
    "t0_harmony_cache_dir_permission_denied",
    source="https://github.com/facebookresearch/matrix/pull/74",
    why="openai_harmony's default tiktoken cache /tmp/tiktoken-rs-cache was created by another user on the shared node, so loading the vocab failed with 'Permission denied (os error 13)' - a file-permission problem, not a missing vocab.",
    expect=dict(run="fail", task=0, category="permission"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ vllm serve /hf-local/openai/gpt-oss-120b --tensor-parallel-size 8 --max-model-len 8192 --port 8000
(APIServer pid=7731) INFO 08-26 13:44:09 [api_server.py:1755] vLLM API server version 0.10.1
(EngineCore_0 pid=7934) INFO 08-26 13:47:52 [core.py:216] init engine (profile, create kv cache, warmup model) took 171.02 seconds
(APIServer pid=7731)   File "/checkpoint/data/shared/conda/matrix_gpt_oss/lib/python3.10/site-packages/openai_harmony/__init__.py", line 689, in load_harmony_encoding
(APIServer pid=7731)     inner: _PyHarmonyEncoding = _load_harmony_encoding(name)
(APIServer pid=7731) openai_harmony.HarmonyError: error downloading or loading vocab file: an underlying IO error occurred while creating file "/tmp/tiktoken-rs-cache/fb374d419588a4632f3f557e76b4b70aebbca790": Permission denied (os error 13)
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F10
add(
    "t0_hub_unreachable_offline_model_id",
    source="https://github.com/PromtEngineer/localGPT/issues/822",
    why="The YAML passed the hub id meta-llama/Meta-Llama-3-8B-Instruct instead of the local mirror path; the compute node has no internet, so transformers could neither download nor find config.json in the cache - the model files were unavailable.",
    expect=dict(run="fail", task=0, category="model_files"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log="""
RANK 0 GPU count: 8
+ vllm serve meta-llama/Meta-Llama-3-8B-Instruct --tensor-parallel-size 8 --max-model-len 8192 --port 8000
INFO 08-13 11:05:48 api_server.py:339] vLLM API server version 0.5.4
Traceback (most recent call last):
  File "/usr/local/lib/python3.10/dist-packages/transformers/utils/hub.py", line 402, in cached_file
    resolved_file = hf_hub_download(
  File "/usr/local/lib/python3.10/dist-packages/huggingface_hub/file_download.py", line 1371, in hf_hub_download
    raise LocalEntryNotFoundError(
huggingface_hub.utils._errors.LocalEntryNotFoundError: An error happened while trying to locate the file on the Hub and we cannot find the requested files in the local cache. Please check your connection and try again or make sure your Internet connection is on.

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/usr/local/lib/python3.10/dist-packages/vllm/transformers_utils/config.py", line 54, in get_config
    config = AutoConfig.from_pretrained(
  File "/usr/local/lib/python3.10/dist-packages/transformers/utils/hub.py", line 445, in cached_file
    raise EnvironmentError(
OSError: We couldn't connect to 'https://huggingface.co' to load this file, couldn't find it in the cached files and it looks like meta-llama/Meta-Llama-3-8B-Instruct is not the path to a directory containing a file named config.json.
Checkout your internet connection or see how to run the library in offline mode at 'https://huggingface.co/docs/transformers/installation#offline-mode'.
ERROR: vLLM server failed to start within 1800s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F12
M = "/hf-local/deepseek-ai/DeepSeek-V3"
add(
    "t0_trtllm_deepseek_v3_not_supported",
    source="https://github.com/NVIDIA/TensorRT-LLM/issues/2845",
    why="trtllm-serve 0.17 has no implementation for DeepseekV3ForCausalLM ('not supported in TRT-LLM yet'); the backend/container does not support the architecture.",
    expect=dict(run="fail", task=0, category="unsupported_model"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=f"""
RANK 0 GPU count: 8
+ trtllm-serve --host 0.0.0.0 --port 8000 --max_batch_size 32 --max_num_tokens 4096 --max_seq_len 4096 --tp_size 8 --trust_remote_code {M}
[TensorRT-LLM] TensorRT-LLM version: 0.17.0.post1
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/tensorrt_llm/llmapi/llm_utils.py", line 1250, in get_model_format
    AutoConfig.from_hugging_face(model_dir)
  File "/usr/local/lib/python3.12/dist-packages/tensorrt_llm/models/automodel.py", line 31, in from_hugging_face
    raise NotImplementedError(
NotImplementedError: The given huggingface model architecture DeepseekV3ForCausalLM is not supported in TRT-LLM yet

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/usr/local/bin/trtllm-serve", line 8, in <module>
    sys.exit(main())
             ^^^^^^
  File "/usr/local/lib/python3.12/dist-packages/click/core.py", line 1161, in __call__
    return self.main(*args, **kwargs)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^
ValueError: Unknown architecture for AutoModelForCausalLM: DeepseekV3ForCausalLM
ERROR: TRT-LLM server failed to start within 3600s
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F14
M = "/hf-local/Qwen/Qwen3-32B"
add(
    "t0_synthesis_hit_time_limit",
    source="https://github.com/ZettaAI/zetta_utils/issues/671",
    why="Slurm killed the synthesis job at its wall-clock limit while query.py was still generating (CANCELLED ... DUE TO TIME LIMIT); no trailer was written and the chain never continued.",
    expect=dict(run="fail", task=0, category="time_limit"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=None,
            artifacts=True,
            log=dedent(f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 16384 --port 8000
(APIServer pid=388) INFO 04-20 05:10:02 [api_server.py:1805] vLLM API server version 0.10.1.1
(APIServer pid=388) INFO:     Application startup complete.
Server is up! (waited 312s)
+ python3 query.py --base-url http://localhost:8000/v1 --data /hf-local/datasets/nvidia/Daring-Anteater/train.jsonl --output-dir /scratchspace/data --num-shards 16
Loaded 64000 prompts
[shard 0/16] wrote 4000 conversations to /scratchspace/data/train-00000-00016.jsonl
[shard 1/16] wrote 4000 conversations to /scratchspace/data/train-00001-00016.jsonl
[shard 2/16] wrote 4000 conversations to /scratchspace/data/train-00002-00016.jsonl
[shard 3/16] wrote 4000 conversations to /scratchspace/data/train-00003-00016.jsonl
shard 4/16:  71%|███████   | 2843/4000 [51:22<20:54,  1.08s/it]
(APIServer pid=388) INFO 04-20 09:09:31 [loggers.py:123] Engine 000: Avg prompt throughput: 611.2 tokens/s, Avg generation throughput: 2876.4 tokens/s, Running: 64 reqs, Waiting: 0 reqs, GPU KV cache usage: 31.7%, Prefix cache hit rate: 12.4%
"""),
            sbatch_tail="""
srun: Job step aborted: Waiting up to 47 seconds for job step to finish.
slurmstepd: error: *** JOB 494583 ON pool0-0288 CANCELLED AT 2024-04-20T09:09:37 DUE TO TIME LIMIT ***
slurmstepd: error: *** STEP 494583.0 ON pool0-0288 CANCELLED AT 2024-04-20T09:09:37 DUE TO TIME LIMIT ***
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F15
M = "/hf-local/meta-llama/Llama-3.1-70B-Instruct"
add(
    "t0_illegal_memory_access_during_generation",
    source="https://github.com/vllm-project/vllm/issues/6976",
    why="The vLLM engine crashed mid-generation with 'CUDA error: an illegal memory access was encountered'; every later request failed and query.py produced no usable shards.",
    expect=dict(run="fail", task=0, category="cuda_error"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=dedent(f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 16384 --port 8000
INFO 09-27 06:31:10 api_server.py:527] vLLM API server version 0.6.2
INFO:     Application startup complete.
Server is up! (waited 418s)
+ python3 query.py --base-url http://localhost:8000/v1 --data /hf-local/datasets/nvidia/Daring-Anteater/train.jsonl --output-dir /scratchspace/data --num-shards 8
Loaded 8000 prompts
ERROR 09-27 06:46:46 engine.py:157] RuntimeError('Error in model execution (input dumped to /tmp/err_execute_model_input_20240927-064646.pkl): CUDA error: an illegal memory access was encountered\\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.\\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\\nCompile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\\n')
ERROR 09-27 06:46:46 engine.py:157] Traceback (most recent call last):
ERROR 09-27 06:46:46 engine.py:157]   File "/usr/local/lib/python3.12/dist-packages/vllm/worker/model_runner_base.py", line 116, in _wrapper
ERROR 09-27 06:46:46 engine.py:157]     return func(*args, **kwargs)
ERROR 09-27 06:46:46 engine.py:157] RuntimeError: CUDA error: an illegal memory access was encountered
ERROR 09-27 06:46:46 engine.py:157] CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.
ERROR 09-27 06:46:46 engine.py:157] For debugging consider passing CUDA_LAUNCH_BLOCKING=1
ERROR 09-27 06:46:46 engine.py:157] Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.
ERROR 09-27 06:46:46 engine.py:157]
INFO:     127.0.0.1:50322 - "POST /v1/chat/completions HTTP/1.1" 500 Internal Server Error
INFO:     127.0.0.1:50330 - "POST /v1/chat/completions HTTP/1.1" 500 Internal Server Error
openai.InternalServerError: Error code: 500
Main process exit
"""),
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F62
add(
    "t0_pyxis_registry_401",
    source="https://github.com/NVIDIA/pyxis/issues/70",
    why="pyxis/enroot could not pull the serving image (registry returned 401 Unauthorized), so the container never started - a container runtime / image import failure.",
    expect=dict(run="fail", task=0, category="container"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=1,
            artifacts=False,
            log="pyxis: importing docker image: nvcr.io#nvidia/vllm:25.09-py3\n",
            sbatch_tail="""
slurmstepd: error: pyxis: child 88213 failed with error code: 1
slurmstepd: error: pyxis: failed to import docker image
slurmstepd: error: pyxis: printing contents of log file ...
slurmstepd: error: pyxis:     [INFO] Querying registry for permission grant
slurmstepd: error: pyxis:     [INFO] Authenticating with user: <anonymous>
slurmstepd: error: pyxis:     [INFO] Authentication succeeded
slurmstepd: error: pyxis:     [INFO] Fetching image manifest list
slurmstepd: error: pyxis:     [ERROR] URL https://nvcr.io/v2/nvidia/vllm/manifests/25.09-py3 returned error code: 401 Unauthorized
slurmstepd: error: pyxis: couldn't start container
slurmstepd: error: spank: required plugin spank_pyxis.so: task_init() failed with rc=-1
slurmstepd: error: Failed to invoke spank plugin stack
srun: error: pool0-0150: task 0: Exited with exit code 1
""",
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F65
M = "/hf-local/Qwen/Qwen3-8B"
add(
    "t0_query_py_bad_request_crash",
    source="https://github.com/THUDM/LongBench/issues/104",
    why="The server was healthy but query.py sent a prompt longer than the model context and died on the unhandled openai.BadRequestError (400, maximum context length); query.sh exited 0 with most shards missing - an unhandled Python exception in the query script.",
    expect=dict(run="fail", task=0, category="python_exception"),
    family="plain",
    tasks=[
        task(
            0,
            exit_code=0,
            artifacts=False,
            log=dedent(f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tensor-parallel-size 8 --max-model-len 8192 --port 8000
(APIServer pid=412) INFO 01-23 10:02:11 [api_server.py:1805] vLLM API server version 0.10.1.1
(APIServer pid=412) INFO:     Application startup complete.
Server is up! (waited 205s)
+ python3 query.py --base-url http://localhost:8000/v1 --data /hf-local/datasets/THUDM/LongBench-v2/data.jsonl --output-dir /scratchspace/data --num-shards 8
Loaded 503 prompts
(APIServer pid=412) INFO:     127.0.0.1:41866 - "POST /v1/chat/completions HTTP/1.1" 400 Bad Request
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/tools/launcher/common/vllm/query.py", line 141, in <module>
    main()
  File "/nemo_run/code/modelopt/tools/launcher/common/vllm/query.py", line 118, in main
    response = client.chat.completions.create(model=args.model, messages=messages, max_tokens=args.max_tokens)
  File "/usr/local/lib/python3.12/dist-packages/openai/_base_client.py", line 1047, in _request
    raise self._make_status_error_from_response(err.response) from None
openai.BadRequestError: Error code: 400 - {{'object': 'error', 'message': "This model's maximum context length is 8192 tokens. However, you requested 35143 tokens. Please reduce the length of the messages or completion.", 'type': 'BadRequestError', 'param': None, 'code': 400}}
"""),
        ),
        not_run(1),
        not_run(2),
        not_run(3),
    ],
)

# ---------------------------------------------------------------- F70
M = "/hf-local/microsoft/phi-4-gguf/phi-4-Q4_K_M.gguf"
add("t0_engine_process_failed_to_start",
    source="https://github.com/vllm-project/vllm/issues/11994",
    why="The v0 engine process died while starting and the API server only reported 'Engine process failed to start. See stack trace for the root cause.' with no more specific error - the inference server never became healthy.",
    expect=dict(run="fail", task=0, category="server_startup"), family="plain",
    tasks=[
        task(0, exit_code=0, artifacts=False, log=f"""
RANK 0 GPU count: 8
+ vllm serve {M} --tokenizer /hf-local/microsoft/phi-4 --tensor-parallel-size 1 --max-model-len 16384 --port 8000
INFO 01-13 08:44:51 api_server.py:712] vLLM API server version 0.6.6.post1
INFO 01-13 08:44:51 api_server.py:713] args: Namespace(subparser='serve', model_tag='{M}', tokenizer='/hf-local/microsoft/phi-4', port=8000, max_model_len=16384)
INFO 01-13 08:44:51 api_server.py:199] Started engine process with PID 377
Traceback (most recent call last):
  File "/usr/local/bin/vllm", line 8, in <module>
    sys.exit(main())
  File "/usr/local/lib/python3.11/dist-packages/vllm/scripts.py", line 201, in main
    args.dispatch_function(args)
  File "/usr/local/lib/python3.11/dist-packages/vllm/scripts.py", line 42, in serve
    uvloop.run(run_server(args))
  File "/usr/local/lib/python3.11/dist-packages/uvloop/__init__.py", line 82, in run
    return loop.run_until_complete(wrapper())
  File "uvloop/loop.pyx", line 1518, in uvloop.loop.Loop.run_until_complete
  File "/usr/local/lib/python3.11/dist-packages/uvloop/__init__.py", line 61, in wrapper
    return await main
  File "/usr/local/lib/python3.11/dist-packages/vllm/entrypoints/openai/api_server.py", line 740, in run_server
    async with build_async_engine_client(args) as engine_client:
  File "/usr/lib/python3.11/contextlib.py", line 210, in __aenter__
    return await anext(self.gen)
  File "/usr/local/lib/python3.11/dist-packages/vllm/entrypoints/openai/api_server.py", line 118, in build_async_engine_client
    async with build_async_engine_client_from_engine_args(
  File "/usr/lib/python3.11/contextlib.py", line 210, in __aenter__
    return await anext(self.gen)
  File "/usr/local/lib/python3.11/dist-packages/vllm/entrypoints/openai/api_server.py", line 223, in build_async_engine_client_from_engine_args
    raise RuntimeError(
RuntimeError: Engine process failed to start. See stack trace for the root cause.
ERROR: vLLM server failed to start within 1800s
"""),
        not_run(1), not_run(2), not_run(3),
    ])
