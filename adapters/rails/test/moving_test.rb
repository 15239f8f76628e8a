# frozen_string_literal: true

# Moving a live Rails app from activerecord-session_store to varel_session, nobody logged out.
# An app on ActionDispatch::Session::ActiveRecordStore (the store's release 2.1.0, vendored in
# vendor/, with its default Marshal serializer) in a database of its own has logged-in users
# with carts. `varel-session-rails import activerecord-session_store` runs while it serves and
# again after the switch; then, on the varel store with `imported_from`, every old cookie must
# log its user in once, with their cart, under a new id.
require "minitest/autorun"
require "rack/test"
require "json"
require "open3"
require "pg"
require "action_dispatch"
require "active_record"
$LOAD_PATH.unshift(File.expand_path("../../../vendor/activerecord-session_store-2.1.0/lib", __dir__))
require "active_record/session_store"
require "varel_session/rails"

ADMIN_URL = ENV.fetch("VAREL_ADAPTERS_DATABASE_URL")
MOVING_URL = ADMIN_URL.sub(%r{/varel_adapters(\?|\z)}, '/varel_moving_rails\1')
COOKIE = "_app_session"

# The app: a log-in (a new session, then the user's id and a cart), the cart, a log-out.
APP = lambda do |env|
  request = Rack::Request.new(env)
  session = env["rack.session"]
  case request.path
  when "/login"
    session.destroy
    session["user_id"] = Integer(request.params["user"])
    session["cart"] = ["item-of-#{request.params['user']}"]
    session["flash"] = { "discard" => [], "flashes" => { "notice" => "Signed in" } }
  when "/stamp" then session["stamped_at"] = Time.at(0) # an object: Marshal of more than plain data
  when "/add" then session["cart"] = (session["cart"] || []) + [request.params["item"]]
  when "/logout" then session.destroy
  end
  [200, { "content-type" => "application/json" }, [JSON.generate(user: session["user_id"], cart: session["cart"])]]
end

def app_on(store, **options)
  Rack::Builder.new do
    use ActionDispatch::Cookies
    use store, key: COOKIE, **options
    run APP
  end.to_app
end

class MovingFromActiveRecordStoreTest < Minitest::Test
  i_suck_and_my_tests_are_order_dependent!

  @old = {}
  @runs = []
  class << self
    attr_reader :old, :runs, :varel_app
  end

  def self.prepare
    PG.connect(ADMIN_URL) do |db|
      db.exec("SET client_min_messages = warning")
      db.exec("DROP DATABASE IF EXISTS varel_moving_rails")
      db.exec("CREATE DATABASE varel_moving_rails")
    end
    PG.connect(MOVING_URL) { |db| db.exec("CREATE EXTENSION varel_session") }
    ActiveRecord::Base.establish_connection(MOVING_URL)
    ActiveRecord::Base.logger = nil
    # The store's own migration (rails generate active_record:session_migration).
    ActiveRecord::Schema.define do
      self.verbose = false
      create_table :sessions do |t|
        t.string :session_id, null: false
        t.text :data
        t.timestamps
      end
      add_index :sessions, :session_id, unique: true
      add_index :sessions, :updated_at
    end
    old_app = app_on(ActionDispatch::Session::ActiveRecordStore)
    [1, 2, 3, 4].each { |user| @old[user] = request(old_app, "/login?user=#{user}")[:cookie] }
    @old[:object] = request(old_app, "/stamp")[:cookie]
    @runs << import
    # Meanwhile: 2 adds to the cart, 3 logs out, 5 logs in; then the import runs again.
    request(old_app, "/add?item=after-first-import", @old[2])
    request(old_app, "/logout", @old[3])
    @old[5] = request(old_app, "/login?user=5")[:cookie]
    @runs << import
    @varel_app = app_on(ActionDispatch::Session::VarelSessionStore, database_url: MOVING_URL, pool_size: 4,
                                                                     imported_from: "activerecord-session_store")
  end

  def self.import
    exe = File.expand_path("../exe/varel-session-rails", __dir__)
    output, status = Open3.capture2e({ "DATABASE_URL" => MOVING_URL }, exe, "import", "activerecord-session_store")
    raise output unless status.success?

    output.strip
  end

  # One request with the cookie; the body as JSON and the cookie the response set.
  def self.request(app, path, cookie = nil)
    browser = Rack::Test::Session.new(Rack::MockSession.new(app))
    browser.header("Cookie", "#{COOKIE}=#{cookie}") if cookie
    browser.get(path)
    set = browser.last_response.headers["Set-Cookie"].to_s[/#{COOKIE}=([^;]*)/o, 1]
    { body: JSON.parse(browser.last_response.body), cookie: set && Rack::Utils.unescape(set) }
  end

  prepare

  def request(path, cookie)
    self.class.request(self.class.varel_app, path, cookie)
  end

  def old
    self.class.old
  end

  def test_1_the_import_reports_what_it_did
    assert_equal "imported 4, skipped 1 (not JSON, or Marshal of more than plain data), ended 0 (gone from the old table)",
                 self.class.runs[0]
    # 3's session went at the log-out; the new, empty one the old store wrote for the rest of
    # that request holds nothing, and is skipped too.
    assert_equal "imported 4, skipped 2 (not JSON, or Marshal of more than plain data), ended 1 (gone from the old table)",
                 self.class.runs[1]
    PG.connect(MOVING_URL) do |db|
      users = db.exec("SELECT user_id FROM varel_session.imported_sessions WHERE ended_at IS NULL ORDER BY 1")
      assert_equal [1, 2, 4, 5], users.map { |row| Integer(row["user_id"]) }
      # Only hashes of the ids the old table keys by, never the cookies.
      old.each_value do |cookie|
        found = db.exec_params("SELECT count(*) FROM varel_session.imported_sessions
                                WHERE position(convert_to($1, 'UTF8') IN id_hash) > 0 OR data::text LIKE '%' || $1 || '%'",
                               [cookie])
        assert_equal "0", found.getvalue(0, 0)
      end
    end
  end

  def test_2_every_user_is_still_logged_in_once_with_their_cart
    { 1 => ["item-of-1"], 2 => ["item-of-2", "after-first-import"], 4 => ["item-of-4"], 5 => ["item-of-5"] }.each do |user, cart|
      first = request("/me", old[user])
      assert_equal({ "user" => user, "cart" => cart }, first[:body], "user #{user}")
      assert_match(/\A[0-9a-f]{64}\z/, first[:cookie])
      assert_equal({ "user" => user, "cart" => cart }, request("/me", first[:cookie])[:body])
      assert_equal({ "user" => nil, "cart" => nil }, request("/me", old[user])[:body])
    end
    # 3 logged out on the old store before the switch, and stays logged out; the session that
    # held an object was not imported.
    assert_equal({ "user" => nil, "cart" => nil }, request("/me", old[3])[:body])
    assert_equal({ "user" => nil, "cart" => nil }, request("/me", old[:object])[:body])
  end

  def test_3_two_requests_with_one_old_cookie_make_one_session
    old_app = app_on(ActionDispatch::Session::ActiveRecordStore)
    cookie = self.class.request(old_app, "/login?user=6")[:cookie]
    self.class.import
    users = Array.new(2) { Thread.new { request("/me", cookie)[:body]["user"] } }.map(&:value)
    assert_equal [6, nil], users.sort_by(&:to_i).reverse
    PG.connect(MOVING_URL) do |db|
      assert_equal "1", db.exec("SELECT count(*) FROM varel_session.session_user_sessions(6)").getvalue(0, 0)
    end
  end

  def test_4_a_bad_cookie_is_no_session_and_no_row
    before = PG.connect(MOVING_URL) { |db| db.exec("SELECT count(*) FROM varel_session.sessions").getvalue(0, 0) }
    ["0" * 32, "x" * 2000, "%FF%FE", "0" * 64].each do |cookie|
      assert_equal({ "user" => nil, "cart" => nil }, request("/me", cookie)[:body])
    end
    after = PG.connect(MOVING_URL) { |db| db.exec("SELECT count(*) FROM varel_session.sessions").getvalue(0, 0) }
    assert_equal before, after
  end

  def test_5_a_row_keyed_by_its_cookie_works_and_no_stored_id_is_a_cookie
    old_app = app_on(ActionDispatch::Session::ActiveRecordStore)
    seven = self.class.request(old_app, "/login?user=7")[:cookie]
    eight = self.class.request(old_app, "/login?user=8")[:cookie]
    legacy = "0123456789abcdef" * 2
    PG.connect(MOVING_URL) do |db|
      # A row from before CVE-2019-16782, keyed by the cookie itself.
      db.exec_params("UPDATE sessions SET session_id = $1 WHERE session_id = $2",
                     [legacy, Rack::Session::SessionId.new(eight).private_id])
    end
    self.class.import
    # The id the old table stores for 7 (a dump, a replica) is not a cookie that works.
    assert_equal({ "user" => nil, "cart" => nil }, request("/me", Rack::Session::SessionId.new(seven).private_id)[:body])
    assert_equal 8, request("/me", legacy)[:body]["user"]
    assert_equal 7, request("/me", seven)[:body]["user"]
  end
end
