from edgeperf.cli.app import run

run()
