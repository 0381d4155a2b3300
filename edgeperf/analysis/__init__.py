"""Metrics over many runs (A2Perf): reliability across training runs (reliability.py, curves read by curves.py),
generalization across tasks (generalize.py), and the energy cost of data and checkpoints (datacost.py)."""
