"""Target computers: the catalog, detection of the machine edgeperf runs on, and resolution of --device."""
