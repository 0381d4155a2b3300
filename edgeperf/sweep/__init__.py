"""Sweeps: the product of models x precisions x domains x latencies x seeds (and training runs) as independent
jobs (config.py), run by an executor (local.py: a process pool, the default; ray_cluster.py: a Ray cluster),
resumable (run.py: a job whose report is in the output folder is not run again)."""
