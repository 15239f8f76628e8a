#!/usr/bin/env bash
# The PHP adapter's tests: its own (tests/, PHPUnit, against VAREL_ADAPTERS_DATABASE_URL), then
# Laravel's own SessionStoreTest run against VarelStore. That test comes from Laravel's source
# (Debian's orig tarball of the php-laravel-framework we test with; scripts/lib/setup.sh
# fetches it into target/laravel); only the class it builds and the id it gives change. Then
# php-src's own session tests with this handler registered (tests/phpt/run.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
phpunit --configuration "$here/../phpunit.xml"

source=$root/target/laravel/tests/Session/SessionStoreTest.php
adapted=$root/target/laravel/adapted/VarelStoreSessionStoreTest.php
mkdir -p "$(dirname "$adapted")"
sed -e 's/^class SessionStoreTest extends TestCase/class VarelStoreSessionStoreTest extends TestCase/' \
    -e 's/new ReflectionClass(Store::class)/new ReflectionClass(\\VarelSession\\Laravel\\VarelStore::class)/' \
    -e "s/return 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';/return str_repeat('a', 64);/" \
    "$source" >"$adapted"
# Each change must have been made, or the test would run against Laravel's own Store.
for made in 'class VarelStoreSessionStoreTest' 'VarelStore::class' "str_repeat('a', 64)"; do
    grep -qF "$made" "$adapted" || { echo "adapting Laravel's SessionStoreTest: '$made' not made" >&2; exit 1; }
done
phpunit --bootstrap "$here/bootstrap.php" "$adapted"

# php-src's own session tests, with this handler registered (tests/phpt).
"$here/phpt/run.sh"
