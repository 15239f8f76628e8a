# frozen_string_literal: true

require_relative "test_helper"

class VarelSessionStoreTest < StoreTest
  def test_a_request_that_stores_nothing_makes_no_row_and_no_cookie
    before = rows
    get "/read", key: "x"
    assert_equal 200, last_response.status
    get "/nothing"
    assert_nil last_response.headers["Set-Cookie"]
    assert_equal before, rows
  end

  def test_values_round_trip_as_json_and_only_the_hash_is_stored
    get "/set", "n" => "41", "s" => '"<b>caf\u00e9</b>"', "h" => '{"a":[1,2.5,true,null]}'
    assert_match(/\A\h{64}\z/, token)
    row = db.exec_params("SELECT token_hash, data::text FROM varel_session.sessions
                           WHERE token_hash = varel_session_internal.token_hash($1)", [token]).first
    refute_nil row, "the session is stored under its token's hash"
    refute_includes row["data"], token
    get "/read", key: "h"
    assert_equal({ "a" => [1, 2.5, true, nil] }, JSON.parse(last_response.body)["value"])
    get "/read", key: "s"
    assert_equal "<b>café</b>", JSON.parse(last_response.body)["value"]
  end

  def test_a_request_that_changes_nothing_writes_nothing
    get "/set", "a" => "1"
    before = stored(token)
    get "/read", key: "a"
    get "/nothing"
    assert_equal before["updated_at"], stored(token)["updated_at"]
  end

  def test_concurrent_requests_that_change_different_keys_both_land
    get "/set", "a" => "0", "b" => "0"
    session = token
    responses = concurrently([["/set?wait=1&a=1", session], ["/set?wait=1&b=2", session]])
    assert_equal [200, 200], responses.map(&:status)
    assert_equal({ "a" => 1, "b" => 2 }, stored_data(session))
  end

  def test_a_removal_beside_a_concurrent_change
    get "/set", "a" => "1", "b" => "1"
    session = token
    concurrently([["/delete?wait=1&key=a", session], ["/set?wait=1&b=5", session]])
    assert_equal({ "b" => 5 }, stored_data(session))
  end

  def test_a_session_ended_elsewhere_is_not_revived_by_a_concurrent_write
    get "/set", "a" => "1"
    session = token
    before = rows
    ended_between_read_and_write(session) { get "/set_late" }
    assert_equal 200, last_response.status
    assert_nil stored(session), "the ended session came back"
    assert_equal before - 1, rows
  end

  def test_reset_session_rotates_the_token_and_the_old_one_is_dead
    get "/set", "a" => "1"
    old = token
    get "/logout"
    assert_nil stored(old)
    assert_empty token.to_s, "the cookie of a session that ended is removed"
    get "/login", reset: "1", user_id: "7"
    refute_equal old, token
    assert_equal "7", stored(token)["user_id"]
  end

  def test_a_change_of_user_rotates_the_token_and_keeps_the_data
    get "/set", "cart" => "[3]"
    anonymous = token
    get "/login", user_id: "42"
    refute_equal anonymous, token
    assert_nil stored(anonymous), "the pre-log-in token is dead"
    assert_equal "42", stored(token)["user_id"]
    assert_equal [3], stored_data(token)["cart"]
    get "/read", key: "cart"
    assert_equal 42, JSON.parse(last_response.body)["user_id"]

    logged_in = token
    get "/forget_user"
    refute_equal logged_in, token
    assert_nil stored(logged_in)
    assert_nil stored(token)["user_id"]
    assert_equal [3], stored_data(token)["cart"]
  end

  def test_rack_renew_moves_the_data_to_a_new_token_and_the_old_one_is_dead
    get "/set", "cart" => "[1]"
    old = token
    get "/renew"
    refute_equal old, token
    assert_nil stored(old), "the renewed-away token is dead"
    assert_equal({ "cart" => [1] }, stored_data(token))
  end

  def test_rack_drop_ends_the_session_and_writes_nothing
    get "/set", "cart" => "[1]"
    old = token
    before = rows
    get "/drop"
    assert_nil stored(old)
    assert_equal before - 1, rows
    assert_empty token.to_s
  end

  def test_odd_client_headers_never_fail_the_write
    header "X-Forwarded-For", "not an address"
    header "User-Agent", "agent \xFF\x00 #{'x' * 600}".b
    get "/set", "a" => "1"
    assert_equal 200, last_response.status
    row = db.exec_params("SELECT ip::text, user_agent FROM varel_session.sessions
                           WHERE token_hash = varel_session_internal.token_hash($1)", [token]).first
    assert_equal 512, row["user_agent"].length
    assert row["user_agent"].valid_encoding?
  end

  def test_a_user_id_that_is_not_an_integer_stays_in_the_data
    get "/set", "user_id" => '"8f14e45f-ceea-467f-a0e6-3f7f6d3e3b2a"'
    assert_nil stored(token)["user_id"]
    assert_equal "8f14e45f-ceea-467f-a0e6-3f7f6d3e3b2a", stored_data(token)["user_id"]
  end

  def test_values_jsonb_cannot_hold_are_a_clear_error
    error = assert_raises(ArgumentError) { VarelSession::Codec.encode_all("q" => "a\0b") }
    assert_match(/"q" holds a NUL/, error.message)
    error = assert_raises(ArgumentError) { VarelSession::Codec.encode_all("b" => "\xff".b.force_encoding("UTF-8")) }
    assert_match(/"b" cannot be stored as JSON/, error.message)
    assert_equal '"\\\\u0000"', VarelSession::Codec.encode("\\u0000"), "a backslash before u0000 is text"
  end

  def test_incr_is_atomic_under_concurrency
    get "/set", "seen" => "true"
    session = token
    threads = Array.new(8) do
      Thread.new { Array.new(10) { Rack::MockRequest.new(TestApp).get("/incr?key=hits", env_with(session)) } }
    end
    assert(threads.flat_map(&:value).all? { |response| response.status == 200 })
    assert_equal 80, stored_data(session)["hits"]
  end

  def test_incr_on_a_session_not_stored_yet_stores_it
    get "/incr", key: "hits", by: "3"
    assert_equal 3, JSON.parse(last_response.body)["value"]
    assert_equal 3, stored_data(token)["hits"]
    get "/incr", key: "hits"
    assert_equal 4, JSON.parse(last_response.body)["value"]
  end

  def test_incr_on_a_session_that_ended_meanwhile_is_nil_and_stores_nothing
    get "/set", "a" => "1"
    session = token
    before = rows
    ended_between_read_and_write(session) { get "/incr_late", key: "hits" }
    assert_nil JSON.parse(last_response.body)["value"]
    assert_equal before - 1, rows
  end

  def test_bad_cookies_are_no_session_never_an_error_never_a_row
    before = rows
    forged = SecureRandom.hex(32)
    ["x", "A" * 8192, forged, SecureRandom.urlsafe_base64(32), "%FF%FE", "a" * 129].each do |value|
      set_cookie "_test_session=#{value}"
      get "/read", key: "a"
      assert_equal 200, last_response.status, "cookie #{value[0, 12]}..."
      assert_nil JSON.parse(last_response.body)["value"]
      get "/logout"
      assert_equal 200, last_response.status
    end
    assert_equal before, rows
  end

  def test_a_presented_unknown_id_is_never_adopted
    planted = SecureRandom.hex(32)
    set_cookie "_test_session=#{planted}"
    get "/set", "a" => "1"
    refute_equal planted, token
    assert_nil stored(planted)
    assert_equal({ "a" => 1 }, stored_data(token))
  end

  def test_the_handle_and_log_out_everywhere
    user = 800_000 + SecureRandom.random_number(99_999)
    other = Rack::Test::Session.new(Rack::MockSession.new(TestApp))
    other.get "/login", reset: "1", user_id: user.to_s
    get "/login", reset: "1", user_id: user.to_s
    get "/handle"
    handle = JSON.parse(last_response.body)["handle"]
    listed = VarelSession::Sessions.new(pool).user_sessions(user).map { |row| row["handle"] }
    assert_equal 2, listed.size
    assert_includes listed, handle
    get "/log_out_everywhere"
    assert_equal 2, JSON.parse(last_response.body)["ended"]
    assert_empty VarelSession::Sessions.new(pool).user_sessions(user)
  end

  def test_expire_after_is_the_idle_lifetime
    get "/set_expiring"
    assert_match(/expires=/i, last_response.headers["Set-Cookie"])
    assert_equal "00:10:00", stored(token)["idle"]
  end

  def test_the_user_key_reads_integer_ids
    store = ActionDispatch::Session::VarelSessionStore.new(->(_) {}, database_url: DATABASE_URL)
    assert_equal 5, store.user_id_of("user_id" => "5")
    assert_nil store.user_id_of({})
    assert_nil store.user_id_of("user_id" => "five")
    devise = ActionDispatch::Session::VarelSessionStore.new(
      ->(_) {}, database_url: DATABASE_URL, user_key: ->(s) { s.dig("warden.user.user.key", 0, 0) }
    )
    assert_equal 9, devise.user_id_of("warden.user.user.key" => [[9], "salt"])
  end

  private

  # Runs the block's request with the session ended (as by a log-out on another device) between
  # the request's read of it and its write.
  def ended_between_read_and_write(session)
    TestController.between_read_and_write = -> { VarelSession::Sessions.new(pool).destroy(session) }
    yield
  ensure
    TestController.between_read_and_write = nil
  end

  def pool
    @pool ||= VarelSession::ConnectionPool.new(DATABASE_URL, size: 1)
  end
end
