# The project's commands; each script does its own set-up on a fresh machine.
.PHONY: run test stop bench bench-quick

run:   ## start a local PostgreSQL 15 with the extension and show a session's life
	@scripts/run.sh

test:  ## run every test tier
	@scripts/test.sh

stop:  ## stop the local clusters
	@scripts/stop.sh

bench:  ## the full benchmark (about 25 minutes); writes BENCHMARKS.md
	@scripts/bench.sh

bench-quick:  ## a smoke run of the benchmark (about 4 minutes)
	@scripts/bench.sh --quick
