#!/usr/bin/env bash
# php-src's own session tests (ext/session/tests, with its run-tests.php) against this handler:
# each test runs as written, with the handler registered by prepend.php (auto_prepend_file),
# except those left-out.txt lists with their reasons and those that bring a handler of their
# own or start their session before any script runs (session.auto_start=1). The tests come from
# the source of PHP 8.2 (Debian's orig tarball; scripts/lib/setup.sh fetches them into
# target/php-src). Fails if any test fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
src=$root/target/php-src
tests=$src/ext/session/tests
list=$(mktemp)
trap 'rm -f "$list"' EXIT
left_out=$(grep -v '^#' "$here/left-out.txt" | sed '/^$/d')
for name in $left_out; do
    [[ -f $tests/$name ]] || { echo "left-out.txt names $name, which php-src does not have" >&2; exit 1; }
done
for test in "$tests"/*.phpt; do
    name=$(basename "$test")
    grep -qxF "$name" <<<"$left_out" && continue
    grep -q 'session_set_save_handler\|SessionHandler' "$test" && continue
    grep -q '^session.auto_start=1' "$test" && continue
    echo "$test"
done >"$list"
echo "php-src session tests: $(wc -l <"$list") run against the handler, $(wc -w <<<"$left_out") left out"
# run-tests.php exits non-zero if a test fails or cannot run; it prints each failure's diff.
NO_INTERACTION=1 TEST_PHP_EXECUTABLE=$(command -v php) php "$src/run-tests.php" -q --show-diff \
    -p "$(command -v php)" -d "auto_prepend_file=$here/prepend.php" \
    -d "varel.database_url=$VAREL_ADAPTERS_DATABASE_URL" -r "$list"
