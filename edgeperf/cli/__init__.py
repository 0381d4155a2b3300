"""The `edgeperf` command line: a thin typer layer over the library, one module per command."""
