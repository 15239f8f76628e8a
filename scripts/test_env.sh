#!/usr/bin/env bash
# `make test-env`: sets up a fresh machine if needed, installs the extension as `make test`
# does, starts the test clusters of one major (PG=15 by default, or 16, 17, 18) and writes the
# variables the tests need to target/test.env. Then any test runs on its own:
#
#   . target/test.env && cargo nextest run -E 'test(ddl)'
#
# `make stop` ends the clusters. `make test` starts the same clusters itself (scripts/lib/test_env.sh).
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/setup.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/sharded.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib/test_env.sh"

if [[ " ${SUPPORTED_MAJORS[*]} " != *" $PG_MAJOR "* ]]; then
    echo "PG=$PG_MAJOR is not supported; choose one of ${SUPPORTED_MAJORS[*]}" >&2
    exit 1
fi
setup_for_tests
install_for_tests
test_env_start

cat <<MSG

The test clusters of PostgreSQL $PG_MAJOR are running; target/test.env describes them.
  one integration test:   . target/test.env && cargo nextest run -E 'test(ddl)'
  one regression test:    . target/test.env && PGHOST=\$VAREL_TEST_HOST PGPORT=\$VAREL_TEST_PORT PGUSER=postgres \\
                              PG_CONFIG=$PG_CONFIG TESTS=lifecycle make installcheck
  the adapters' suites:   . target/test.env && (cd adapters/django && \$VAREL_PYTHON tests/run.py)
  stop:                   make stop
MSG
