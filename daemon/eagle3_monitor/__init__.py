"""eagle3-monitor: watches EAGLE3 speculative-decoding pipelines on Slurm."""

__version__ = "0.1.0"
