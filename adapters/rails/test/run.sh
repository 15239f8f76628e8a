#!/usr/bin/env bash
# The Rails adapter's tests: its own (test/*_test.rb, minitest, against
# VAREL_ADAPTERS_DATABASE_URL), then Rails' own session-store test (actionpack's
# test/dispatch/session/cache_store_test.rb) run against VarelSessionStore. That test comes from
# Rails' source (Debian's orig tarball of the ruby-rails we test with; scripts/lib/setup.sh
# fetches it into target/rails); what changes, and what is left out and why, is below.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
lib=$here/../lib
for test in "$here"/*_test.rb; do
    ruby -I "$lib" "$test"
done

rails=$root/target/rails/actionpack/test
adapted=$root/target/rails/adapted
rm -rf "$adapted"
mkdir -p "$adapted"
cp -r "$rails"/. "$adapted"
# abstract_unit.rb defines system-test classes for Capybara and Selenium, which Debian's Rails
# does not need and this machine does not have; nothing here uses them.
# The range ends with the require of Rails' CI reporter (tools/, not fetched), removed too.
sed -i '/^class DrivenByRackTest/,/^require_relative "..\/..\/tools\/test_common"/d' \
    "$adapted/abstract_unit.rb"
test=$adapted/dispatch/session/varel_session_store_test.rb
# The store under test, and what the test reads of the store's backend: where the original
# reads CacheStore's cache by a session id's private form, this reads the database by the id.
# rack-test 2 (Debian's) spells CookieJar#hash_for as get_cookie.
sed -e 's/^class CacheStoreTest < /class VarelSessionStoreRailsTest < /' \
    -e 's/::CacheStoreTest::TestController/::VarelSessionStoreRailsTest::TestController/' \
    -e 's/@cache = ActiveSupport::Cache::MemoryStore.new/require "varel_session\/rails"/' \
    -e 's/middleware.use ActionDispatch::Session::CacheStore, key: "_session_id", cache: @cache/middleware.use ActionDispatch::Session::VarelSessionStore, key: "_session_id", database_url: ENV.fetch("VAREL_ADAPTERS_DATABASE_URL"), pool_size: 2/' \
    -e 's/@cache.read("_session_id:#{sid.private_id}")/stored_session(sid.public_id)/g' \
    -e "s/@cache.read(\"_session_id:#{Rack::Session::SessionId.new(cookies\['_session_id'\]).private_id}\")/stored_session(cookies['_session_id'])/" \
    -e 's/cookies.send(:hash_for)\["_session_id"\]/cookies.get_cookie("_session_id")/' \
    "$rails/dispatch/session/cache_store_test.rb" |
    # Left out, as tests of another store's internals or of a choice this store makes otherwise:
    # - test_deserializes_unloaded_class stores a Ruby object and expects it back: this store
    #   keeps JSON (the rules of Rails' :json cookie serializer), never Marshal, so a stored
    #   session cannot run code when it is read.
    # - test_can_read_session_with_legacy_id and test_drop_session_in_the_legacy_id_as_well
    #   write CacheStore's cache under the id in clear, as CacheStore did before CVE-2019-16782:
    #   this store never had a form keyed by the id in clear.
    awk '/^  def (test_deserializes_unloaded_class|test_can_read_session_with_legacy_id|test_drop_session_in_the_legacy_id_as_well)$/ { skip = 1 }
         !skip { print }
         skip && /^  end$/ { skip = 0 }' >"$test"
cat >>"$test" <<'RUBY'

require "pg"

class VarelSessionStoreRailsTest
  # The session stored under the id, as a hash, or nil.
  def stored_session(id)
    PG.connect(ENV.fetch("VAREL_ADAPTERS_DATABASE_URL")) do |db|
      row = db.exec_params("SELECT data::text FROM varel_session.session_get($1)", [id]).first
      row && JSON.parse(row["data"])
    end
  end
end
RUBY
# Each change must have been made, or the test would run against CacheStore.
for made in 'class VarelSessionStoreRailsTest <' 'ActionDispatch::Session::VarelSessionStore, key:' \
    'stored_session(sid.public_id)' "stored_session(cookies['_session_id'])" 'cookies.get_cookie('; do
    grep -qF "$made" "$test" || { echo "adapting Rails' cache_store_test.rb: '$made' not made" >&2; exit 1; }
done
if grep -n 'CacheStore\b\|@cache\|legacy_id\|unloaded_class' "$test" >&2; then
    echo "adapting Rails' cache_store_test.rb: the lines above still test CacheStore" >&2
    exit 1
fi
ruby -I "$lib" -I "$adapted" "$test"
