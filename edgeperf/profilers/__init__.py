"""Clocks, latency profiling, memory, power sources and their statistics."""
