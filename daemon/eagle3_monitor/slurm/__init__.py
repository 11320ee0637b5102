"""The one place that talks to Slurm: job records, the sacct CLI backend, the pyslurm backend."""
