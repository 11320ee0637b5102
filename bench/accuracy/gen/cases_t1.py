from common import add, task, not_run, skipped, dedent, t0_vllm_ok, t1_hf_ok, t1_vllm_ok, t2_ok, t3_ok

# ---------------------------------------------------------------- F16
M = "/hf-local/Qwen/Qwen2.5-VL-72B-Instruct"
add("t1_dump_vllm_oom",
    source="https://github.com/studio-dots-ai/dots.ocr/issues/196",
    why="The hidden-state dump tried to allocate 74 GiB on a GPU that had ~30 GiB free and died with torch.OutOfMemoryError; the destroy_process_group warning that follows is only shutdown noise.",
    expect=dict(run="fail", task=1, category="gpu_oom"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M, tp=8, mml=8192, waited=402)),
        task(1, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_vllm.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 1
Loaded 8000 conversations from /scratchspace/data
INFO 09-14 04:51:07 [core.py:74] Initializing a V1 LLM engine (v0.10.1.1) with config: model='{M}', tensor_parallel_size=1
Processing conversations:   0%|          | 0/8000 [00:00<?, ?it/s]
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 74.16 GiB. GPU 0 has a total capacity of 79.19 GiB of which 29.89 GiB is free. Process 2684311 has 49.30 GiB memory in use. Of the allocated memory 48.44 GiB is allocated by PyTorch, and 738.96 MiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)
[rank0]:[W914 04:53:45.615225908 ProcessGroupNCCL.cpp:1476] Warning: WARNING: destroy_process_group() was not called before program exit, which can leak resources. For more info, please see https://pytorch.org/docs/stable/distributed.html#shutdown (function operator())
"""), sbatch_tail="srun: error: pool0-0317: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F17
M = "/hf-local/Qwen/Qwen3-8B"
add("t1_task0_skipped_data_never_produced",
    source="https://github.com/huggingface/datasets/issues/6073",
    why="The run was relaunched with task_0 skipped, but this experiment directory never got synthesized data, so the dump's load_dataset could not find the shards - the task's upstream input is missing.",
    expect=dict(run="fail", task=1, category="missing_input"), family="skipped_and_logless",
    tasks=[
        skipped(0),
        task(1, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 214, in <module>
    main(args)
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 91, in main
    dataset = load_dataset("json", data_files={{"train": "/scratchspace/data/train-*.jsonl"}}, split="train")
  File "/usr/local/lib/python3.12/dist-packages/datasets/load.py", line 1656, in load_dataset
    builder_instance = load_dataset_builder(
  File "/usr/local/lib/python3.12/dist-packages/datasets/load.py", line 1439, in load_dataset_builder
    dataset_module = dataset_module_factory(
  File "/usr/local/lib/python3.12/dist-packages/datasets/data_files.py", line 582, in from_local_or_remote
    data_files = resolve_patterns_locally_or_by_urls(base_path, patterns, allowed_extensions)
FileNotFoundError: Unable to find '/scratchspace/data/train-*.jsonl' at /scratchspace/data/
"""), sbatch_tail="srun: error: pool0-0102: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F18
M = "/hf-local/meta-llama/Llama-3.1-8B-Instruct"
add("t1_dump_script_path_wrong",
    source="https://github.com/tonyyxliu/CUHKSZ-CSC4005/issues/37",
    why="srun could not execve the dump script: the path in the pipeline YAML does not exist inside the job (No such file or directory), so the task never started.",
    expect=dict(run="fail", task=1, category="missing_script"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=2, artifacts=False,
             log="slurmstepd: error: execve(): /nemo_run/code/modelopt/examples/speculative_decoding/pipeline/eagle3/../../scripts/dump_offline_data_hf.sh: No such file or directory\n",
             sbatch_tail="srun: error: pool0-0023: task 0: Exited with exit code 2\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F19
M = "/hf-local/Qwen/Qwen2.5-VL-7B-Instruct"
add("t1_trtllm_dump_vl_model_not_supported",
    source="https://github.com/NVIDIA/TensorRT-LLM/issues/5395",
    why="The TRT-LLM dump backend cannot load Qwen2_5_VLForConditionalGeneration ('not supported in TRT-LLM yet'); VLMs must be dumped with the HF backend.",
    expect=dict(run="fail", task=1, category="unsupported_model"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M, tp=4)),
        task(1, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 8
<frozen importlib._bootstrap_external>:1184: FutureWarning: The cuda.cuda module is deprecated and will be removed in a future release, please switch to use the cuda.bindings.driver module instead.
<frozen importlib._bootstrap_external>:1184: FutureWarning: The cuda.cudart module is deprecated and will be removed in a future release, please switch to use the cuda.bindings.runtime module instead.
[TensorRT-LLM] TensorRT-LLM version: 0.20.0
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_trtllm.py", line 233, in <module>
    main(args)
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_trtllm.py", line 120, in main
    llm = LLM(model=args.model, tensor_parallel_size=args.tp)
  File "/usr/local/lib/python3.12/dist-packages/tensorrt_llm/llmapi/llm_utils.py", line 654, in _update_model_format
    raise ValueError(
ValueError: Inferred model format _ModelFormatKind.HF, but failed to load config.json: The given huggingface model architecture Qwen2_5_VLForConditionalGeneration is not supported in TRT-LLM yet
"""), sbatch_tail="srun: error: pool0-0441: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F20
M = "/hf-local/meta-llama/Llama-3.1-405B-Instruct"
add("t1_dump_killed_cgroup_oom",
    source="https://github.com/ArjunaCluster/ArjunaUsers/issues/52",
    why="While loading checkpoint shards into host RAM the dump was SIGKILLed; slurmstepd reports an oom-kill event in the cgroup - host memory exhaustion, not a GPU problem.",
    expect=dict(run="fail", task=1, category="host_oom"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M, tp=8, mml=8192, waited=1204)),
        task(1, exit_code=137, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 8000 conversations from /scratchspace/data
Loading checkpoint shards:  41%|████      | 78/191 [09:12<13:20,  7.08s/it]
"""), sbatch_tail="""
/var/spool/slurmd/job9176091/slurm_script: line 28:  8156 Killed                  srun --container-image=/lustre/images/modelopt.sqsh bash dump_offline_data_hf.sh
slurmstepd: error: Detected 1 oom-kill event(s) in StepId=9176091.batch cgroup. Some of your processes may have been killed by the cgroup out-of-memory handler.
"""),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F21
M = "/hf-local/Qwen/Qwen3-235B-A22B"
add("t1_dump_step_oom_killed_exit0",
    source="https://github.com/hafs-community/HAFS/issues/101",
    why="One task of the dump step was OOM-killed by the cgroup handler (srun: task 4: Out Of Memory) and the step was cancelled; the batch script still ended with code 0 - host memory exhaustion.",
    expect=dict(run="fail", task=1, category="host_oom"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M, tp=8, mml=8192, waited=955)),
        task(1, exit_code=0, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 8192 --dp 8
Loaded 8000 conversations from /scratchspace/data
[dp 4] Loading checkpoint shards:  63%|██████▎   | 75/118 [06:41<03:50,  5.36s/it]
"""), sbatch_tail="""
slurmstepd: error: Detected 1 oom-kill event(s) in step 3495064.0 cgroup. Some of your processes may have been killed by the cgroup out-of-memory handler.
srun: error: pool0-0101: task 4: Out Of Memory
srun: Terminating job step 3495064.0
slurmstepd: error: *** STEP 3495064.0 ON pool0-0101 CANCELLED AT 2025-10-27T19:35:36 ***
"""),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F22
M = "/hf-local/allenai/Llama-3.1-Tulu-3.1-8B"
add("t1_tokenizers_too_old_untagged_enum",
    source="https://github.com/allenai/open-instruct/issues/738",
    why="The dump container's tokenizers 0.19.1 cannot parse this model's tokenizer.json ('data did not match any variant of untagged enum ModelWrapper'); the tokenizer library is too old for the model.",
    expect=dict(run="fail", task=1, category="tokenizer"), family="env_vs_model",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 214, in <module>
    main(args)
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 104, in main
    tokenizer = AutoTokenizer.from_pretrained(args.model)
  File "/usr/local/lib/python3.10/dist-packages/transformers/models/auto/tokenization_auto.py", line 837, in from_pretrained
    return tokenizer_class.from_pretrained(pretrained_model_name_or_path, *inputs, **kwargs)
  File "/usr/local/lib/python3.10/dist-packages/transformers/tokenization_utils_base.py", line 2029, in from_pretrained
    return cls._from_pretrained(
  File "/usr/local/lib/python3.10/dist-packages/transformers/tokenization_utils_base.py", line 2261, in _from_pretrained
    tokenizer = cls(*init_inputs, **init_kwargs)
  File "/usr/local/lib/python3.10/dist-packages/transformers/tokenization_utils_fast.py", line 111, in __init__
    fast_tokenizer = TokenizerFast.from_file(fast_tokenizer_file)
Exception: data did not match any variant of untagged enum ModelWrapper at line 1251012 column 3
"""), sbatch_tail="srun: error: pool0-0077: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F23
M = "/hf-local/Qwen/Qwen3-30B-A3B"
add("t1_vllm_dump_nccl_allgather_timeout",
    source="https://github.com/sgl-project/sglang/issues/1693",
    why="During the tensor-parallel dump the NCCL watchdog on rank 5 timed out an _ALLGATHER_BASE collective after 600 s and aborted the process - a collective-communication failure.",
    expect=dict(run="fail", task=1, category="nccl"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=1, artifacts=True, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_vllm.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 8 --enable-expert-parallel
Loaded 8000 conversations from /scratchspace/data
Processing conversations:  37%|███▋      | 2961/8000 [04:18<07:19, 11.46it/s]
[rank5]:[E1018 09:41:37.602415370 ProcessGroupNCCL.cpp:616] [Rank 5] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9141, OpType=_ALLGATHER_BASE, NumelIn=19008, NumelOut=152064, Timeout(ms)=600000) ran for 600020 milliseconds before timing out.
terminate called after throwing an instance of 'c10::DistBackendError'
  what():  [PG 3 Rank 5] Process group watchdog thread terminated with exception: [Rank 5] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=9141, OpType=_ALLGATHER_BASE, NumelIn=19008, NumelOut=152064, Timeout(ms)=600000) ran for 600020 milliseconds before timing out.
Exception raised from checkTimeout at ../torch/csrc/distributed/c10d/ProcessGroupNCCL.cpp:609 (most recent call first):
frame #0: c10::Error::Error(c10::SourceLocation, std::string) + 0x96 (0x7f3b6d41df86 in /usr/local/lib/python3.10/dist-packages/torch/lib/libc10.so)
frame #1: c10d::ProcessGroupNCCL::WorkNCCL::checkTimeout(std::optional<std::chrono::duration<long, std::ratio<1l, 1000l> > >) + 0x1d2 (0x7f3b6e71a8d2 in /usr/local/lib/python3.10/dist-packages/torch/lib/libtorch_cuda.so)
frame #2: c10d::ProcessGroupNCCL::watchdogHandler() + 0x233 (0x7f3b6e7213 in /usr/local/lib/python3.10/dist-packages/torch/lib/libtorch_cuda.so)
frame #3: c10d::ProcessGroupNCCL::ncclCommWatchdog() + 0x10c (0x7f3b6e7236fc in /usr/local/lib/python3.10/dist-packages/torch/lib/libtorch_cuda.so)
frame #4: <unknown function> + 0xd6df4 (0x7f3bca9d5df4 in /usr/lib/x86_64-linux-gnu/libstdc++.so.6)
frame #5: <unknown function> + 0x8609 (0x7f3c74f76609 in /usr/lib/x86_64-linux-gnu/libpthread.so.0)
frame #6: clone + 0x43 (0x7f3c750b0353 in /usr/lib/x86_64-linux-gnu/libc.so.6)
"""), sbatch_tail="srun: error: pool0-0290: task 0: Exited with exit code 134\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F24
M = "/hf-local/Qwen/Qwen3-8B"
add("t1_dump_zero_pt_then_training_no_pt",
    source="https://github.com/NVIDIA/Model-Optimizer/pull/2172",
    why="On transformers>=5 apply_chat_template returned a BatchEncoding, so every conversation looked 2 tokens long and was skipped as too short: the dump 'succeeded' with 0 conversations and exit 0, then training aborted with 'No .pt files found' - the first real failure is the empty dump.",
    expect=dict(run="fail", task=1, category="empty_output"), family="first_failure_wins",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=0, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 8000 conversations from /scratchspace/data
Loading checkpoint shards: 100%|██████████| 5/5 [00:05<00:00,  1.02s/it]
Processing conversations: 100%|██████████| 8000/8000 [00:07<00:00, 1097.81it/s]
Skipped 8000 conversations that were too short (<= 10 tokens).
Successfully processed 0 out of 8000 conversations.
""")),
        task(2, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash train_eagle.sh --model {M} --offline-data /scratchspace/offline_hidden_states --output-dir /scratchspace/eagle3 --num-epochs 2
+ accelerate launch --num_processes 8 --mixed_precision bf16 main.py --mode eagle3 --model_name_or_path {M} --offline-data-path /scratchspace/offline_hidden_states --output_dir /scratchspace/eagle3
[rank0]: Traceback (most recent call last):
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/main.py", line 212, in train
[rank0]:     data_module = make_eagle_supervised_data_module(tokenizer, data_args, max_length=training_args.training_seq_len)
[rank0]:   File "/nemo_run/code/modelopt/examples/speculative_decoding/eagle_utils.py", line 371, in make_eagle_supervised_data_module
[rank0]:     raise ValueError(f"No .pt files found in {{data_args.offline_data_path}}")
[rank0]: ValueError: No .pt files found in /scratchspace/offline_hidden_states
E0812 17:02:44.118000 3341 torch/distributed/elastic/multiprocessing/api.py:874] failed (exitcode: 1) local_rank: 0 (pid: 3407) of binary: /usr/bin/python
[ERROR] /nemo_run/code/modelopt/examples/speculative_decoding/launch_train.sh:164 failed with status 1.
<REPORT>training failed: launch_train.sh exited with status 1</REPORT>
+ python export_hf_checkpoint.py --model_path /scratchspace/eagle3 --export_path /scratchspace/export
OSError: Error no file named pytorch_model.bin, model.safetensors, tf_model.h5, model.ckpt.index or flax_model.msgpack found in directory /scratchspace/eagle3.
"""), sbatch_tail="srun: error: pool0-0233: task 0: Exited with exit code 1\n"),
        not_run(3),
    ])

# ---------------------------------------------------------------- F68
M = "/hf-local/meta-llama/Llama-3.2-3B-Instruct"
add("t1_dump_zero_conversations_training_pending",
    source="https://github.com/NVIDIA/Model-Optimizer/pull/2172",
    why="The dump finished with exit code 0 but wrote zero .pt files ('Successfully processed 0 out of 6000 conversations') because every conversation was filtered as too short; the training job is still waiting in the queue - the task produced nothing usable.",
    expect=dict(run="fail", task=1, category="empty_output"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M, n=6000, shards=6)),
        task(1, exit_code=0, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 6000 conversations from /scratchspace/data
Loading checkpoint shards: 100%|██████████| 2/2 [00:01<00:00,  1.49it/s]
Processing conversations: 100%|██████████| 6000/6000 [00:05<00:00, 1121.40it/s]
Successfully processed 0 out of 6000 conversations.
""")),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F25
M = "deepseek-ai/DeepSeek-R1-0528"
add("t1_shared_hf_cache_lock_permission",
    source="https://github.com/huggingface/huggingface_hub/pull/3714",
    why="The group-shared HF_HUB_CACHE held a .lock file created by another user with mode 0644, so filelock raised PermissionError [Errno 13] when the dump tried to wait on it - a file-permission problem.",
    expect=dict(run="fail", task=1, category="permission"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok("/hf-local/deepseek-ai/DeepSeek-R1-0528", tp=8, waited=1480)),
        task(1, exit_code=1, artifacts=False, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 8000 conversations from /scratchspace/data
Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 101, in main
    model = AutoModel.from_pretrained(args.model, torch_dtype="auto", device_map="auto")
  File "/usr/local/lib/python3.12/dist-packages/huggingface_hub/file_download.py", line 1008, in _hf_hub_download_to_cache_dir
    with WeakFileLock(lock_path):
  File "/usr/local/lib/python3.12/dist-packages/filelock/_api.py", line 332, in acquire
    self._acquire()
  File "/usr/local/lib/python3.12/dist-packages/filelock/_unix.py", line 42, in _acquire
    fd = os.open(self.lock_file, open_flags, self._context.mode)
PermissionError: [Errno 13] Permission denied: '/lustre/shared/hf_cache/hub/.locks/models--deepseek-ai--DeepSeek-R1-0528/6e2501a3c2a1e9ab4a1de57fa4e6b0bd09f9c1de.lock'
"""), sbatch_tail="srun: error: pool0-0064: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F26
M = "/hf-local/Qwen/Qwen3-8B"
add("t1_pyxis_import_no_space_left",
    source="https://github.com/NVIDIA/pyxis/issues/53",
    why="Importing the container image failed while building the squashfs because the node's /run/pyxis filesystem was full ('Write failed because No space left on device') - disk full.",
    expect=dict(run="fail", task=1, category="disk_full"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=1, artifacts=False, log="pyxis: importing docker image: nvcr.io#nvidia/pytorch:25.08-py3\n",
             sbatch_tail="""
slurmstepd: error: pyxis: child 52574 failed with error code: 1
slurmstepd: error: pyxis: failed to import docker image
slurmstepd: error: pyxis: printing contents of log file ...
slurmstepd: error: pyxis:     [INFO] Querying registry for permission grant
slurmstepd: error: pyxis:     [INFO] Authenticating with user: $oauthtoken
slurmstepd: error: pyxis:     [INFO] Authentication succeeded
slurmstepd: error: pyxis:     [INFO] Fetching image manifest list
slurmstepd: error: pyxis:     [INFO] Fetching image manifest
slurmstepd: error: pyxis:     [INFO] Found all layers in cache
slurmstepd: error: pyxis:     [INFO] Extracting image layers...
slurmstepd: error: pyxis:     [INFO] Converting whiteouts...
slurmstepd: error: pyxis:     [INFO] Creating squashfs filesystem...
slurmstepd: error: pyxis:     Write failed because No space left on device
slurmstepd: error: pyxis:     FATAL ERROR:Failed to write to output filesystem
slurmstepd: error: pyxis: couldn't start container
slurmstepd: error: spank: required plugin spank_pyxis.so: task_init() failed with rc=-1
slurmstepd: error: Failed to invoke spank plugin stack
srun: error: pool0-0210: task 0: Exited with exit code 1
"""),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F11
add("t1_gated_repo_403",
    source="https://github.com/huggingface/transformers/issues/29177",
    why="The dump loaded the base model by hub id and the account is not on the gated repo's authorized list (403), so the weights could not be fetched - model files unavailable.",
    expect=dict(run="fail", task=1, category="model_files"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok("/hf-local/meta-llama/Meta-Llama-3-8B")),
        task(1, exit_code=1, artifacts=False, log=dedent("""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model meta-llama/Meta-Llama-3-8B --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 8000 conversations from /scratchspace/data
Traceback (most recent call last):
  File "/usr/local/lib/python3.12/dist-packages/huggingface_hub/utils/_http.py", line 409, in hf_raise_for_status
    response.raise_for_status()
requests.exceptions.HTTPError: 403 Client Error: Forbidden for url: https://huggingface.co/meta-llama/Meta-Llama-3-8B/resolve/main/config.json

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/nemo_run/code/modelopt/examples/speculative_decoding/collect_hidden_states/compute_hidden_states_hf.py", line 101, in main
    model = AutoModel.from_pretrained(args.model, torch_dtype="auto", device_map="auto")
  File "/usr/local/lib/python3.12/dist-packages/transformers/utils/hub.py", line 421, in cached_file
    raise EnvironmentError(
OSError: You are trying to access a gated repo.
Make sure to have access to it at https://huggingface.co/meta-llama/Meta-Llama-3-8B.
403 Client Error. (Request ID: Root=1-66adafd2-55928817165ad3fe73c38472;1b39ba82-98e0-4524-835c-e63c5009fb2b)

Cannot access gated repo for url https://huggingface.co/meta-llama/Meta-Llama-3-8B/resolve/main/config.json.
Access to model meta-llama/Meta-Llama-3-8B is restricted and you are not in the authorized list. Visit https://huggingface.co/meta-llama/Meta-Llama-3-8B to ask for access.
"""), sbatch_tail="srun: error: pool0-0031: task 0: Exited with exit code 1\n"),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F64
M = "/hf-local/meta-llama/Llama-3.1-405B-Instruct"
add("t1_multinode_dump_node_failure",
    source="https://github.com/nebius/soperator/issues/854",
    why="One of the two dump nodes died (srun: Node failure; Slurm cancelled the job DUE TO NODE FAILURE); the NCCL watchdog timeouts printed by the surviving node's ranks are only the symptom.",
    expect=dict(run="fail", task=1, category="node_failure"), family="infra_beats_symptom",
    tasks=[
        task(0, log=t0_vllm_ok(M, tp=16, mml=8192, waited=1320)),
        task(1, exit_code=None, artifacts=True, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_vllm.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --tp 16 --nodes 2
Loaded 8000 conversations from /scratchspace/data
Processing conversations:  58%|█████▊    | 4650/8000 [1:12:40<52:21,  1.07it/s]
[E ProcessGroupNCCL.cpp:458] [Rank 0] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=96120, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802412 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:458] [Rank 3] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=96120, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802419 milliseconds before timing out.
[E ProcessGroupNCCL.cpp:458] [Rank 7] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=96120, OpType=ALLREDUCE, Timeout(ms)=1800000) ran for 1802415 milliseconds before timing out.
"""), sbatch_tail="""
srun: error: Node failure on pool0-0377
slurmstepd: error: *** JOB 9176431 ON pool0-0376 CANCELLED AT 2025-11-04T02:18:40 DUE TO NODE FAILURE, SEE SLURMCTLD LOG FOR DETAILS ***
"""),
        not_run(2), not_run(3),
    ])

# ---------------------------------------------------------------- F67
M = "/hf-local/Qwen/Qwen3-14B"
add("t1_dump_preempted",
    source="https://github.com/SchedMD/slurm/blob/master/src/slurmd/slurmstepd/req.c",
    why="The dump ran on a preemptible partition and a higher-priority job took the node: slurmstepd cancelled the step and job DUE TO PREEMPTION in the middle of processing.",
    expect=dict(run="fail", task=1, category="preempted"), family="plain",
    tasks=[
        task(0, log=t0_vllm_ok(M)),
        task(1, exit_code=None, artifacts=True, log=dedent(f"""
RANK 0 GPU count: 8
+ bash dump_offline_data_hf.sh --model {M} --input-data /scratchspace/data --output-dir /scratchspace/offline_hidden_states --max-seq-len 4096
Loaded 8000 conversations from /scratchspace/data
Loading checkpoint shards: 100%|██████████| 8/8 [00:09<00:00,  1.14s/it]
Processing conversations:  45%|████▌     | 3612/8000 [17:42<21:31,  3.40it/s]
"""), sbatch_tail="""
slurmstepd: error: *** STEP 11509447.0 ON nodeau01 CANCELLED AT 2026-03-25T10:34:07 DUE TO PREEMPTION ***
slurmstepd: error: *** JOB 11509447 ON nodeau01 CANCELLED AT 2026-03-25T10:34:07 DUE TO PREEMPTION ***
srun: Job step aborted: Waiting up to 32 seconds for job step to finish.
"""),
        not_run(2), not_run(3),
    ])
