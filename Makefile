# The project's commands; each script does its own set-up on a fresh machine.
.PHONY: run run-sharded test test-env stop bench bench-quick package installcheck sql-edition

run:   ## start a local PostgreSQL (15, or PG=16/17/18) with the extension and show a session's life
	@scripts/run.sh

run-sharded:  ## the same API on a PL/Proxy router over two shard nodes (one with a standby), PostgreSQL 15
	@scripts/run_sharded.sh

test:  ## run every test tier on every supported major (TIERS="regress isolation", PG_MAJORS_TO_TEST="17" for a subset)
	@scripts/test.sh

test-env:  ## start the test clusters of one major (PG=15 by default) and write target/test.env
	@scripts/test_env.sh

stop:  ## stop the local clusters (make run, make test-env, make run-sharded)
	@scripts/stop.sh

bench:  ## the full benchmark (about 25 minutes); writes BENCHMARKS.md
	@scripts/bench.sh

bench-quick:  ## a smoke run of the benchmark (about 4 minutes)
	@scripts/bench.sh --quick

package:  ## release packages for every supported major in target/packages, each tested
	@scripts/package.sh

installcheck:  ## SQL regression tests and concurrency specs against a running server (PGHOST, PGPORT, PGUSER)
	@scripts/installcheck.sh

sql-edition:  ## the SQL edition (no native code) in target/sql_edition/: extension files, one psql file, a pg_tle script
	@scripts/sql_edition.sh
