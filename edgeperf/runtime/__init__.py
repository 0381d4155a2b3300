"""Sessions: one contract (session.py) and one module per inference backend, imported lazily."""
