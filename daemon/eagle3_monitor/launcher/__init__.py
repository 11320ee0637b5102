"""The launcher's YAML (NVIDIA/Model-Optimizer `tools/launcher/`): its vocabulary, the pipeline a
past experiment ran, a re-run of it, and a new model's pipeline."""
