"""The poll cycle: which jobs to watch, how they group into pipeline runs, what changed."""
