"""Validation: a policy run in a domain and judged (rollout, latency in the loop, chunk execution, paired and
two-sample statistics, hil, sim2sim, and doctor, the contract diagnosis). Domains themselves live in domains/."""
