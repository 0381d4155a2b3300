"""Policy sources -> a torch module -> deployable artifacts, with parity proven. torch is imported lazily."""
