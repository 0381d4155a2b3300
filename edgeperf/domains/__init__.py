"""Domains: simulated tasks a policy is validated in (the Domain contract and registry in base.py)."""
