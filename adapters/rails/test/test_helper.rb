# frozen_string_literal: true

# The adapter's own tests: a small Rails app on the store, against the real extension in the
# database VAREL_ADAPTERS_DATABASE_URL names (make test-env writes it to target/test.env).
ENV["RAILS_ENV"] = "test"
require "minitest/autorun"
require "rack/test"
require "action_controller/railtie"
require "varel_session/rails"

DATABASE_URL = ENV.fetch("VAREL_ADAPTERS_DATABASE_URL") do
  abort "VAREL_ADAPTERS_DATABASE_URL is not set: run make test-env PG=17, then . target/test.env"
end

# Lets concurrent requests meet: each request that calls Rendezvous.meet waits until `count`
# have, so that all of them have read the session before any writes it.
module Rendezvous
  @lock = Mutex.new
  @arrived = ConditionVariable.new
  @count = 0
  @waiting = 0

  def self.expect(count)
    @lock.synchronize do
      @count = count
      @waiting = 0
    end
  end

  def self.meet
    @lock.synchronize do
      @waiting += 1
      @arrived.broadcast
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      while @waiting < @count
        left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
        raise "only #{@waiting} of #{@count} requests met" if left <= 0

        @arrived.wait(@lock, left)
      end
    end
  end
end

class TestApp < Rails::Application
  config.load_defaults 6.1
  config.root = __dir__
  config.eager_load = false
  config.secret_key_base = "0" * 64
  config.hosts.clear
  config.logger = ActiveSupport::Logger.new(File::NULL)
  config.session_store :varel_session, key: "_test_session", database_url: DATABASE_URL,
                                       pool_size: 20
  routes.append do
    %w[read nothing set delete set_expiring incr login logout forget_user handle log_out_everywhere
       set_late incr_late renew drop].each { |action| match "/#{action}", to: "test##{action}", via: %i[get post] }
  end
end

# Initialized before the controllers are defined, so that they get its defaults (CSRF
# protection among them).
TestApp.initialize!

class TestController < ActionController::Base
  skip_forgery_protection

  def read
    render json: { value: session[params[:key]], user_id: VarelSession::Request.user_id(request) }
  end

  def nothing
    head :ok
  end

  # Sets each query parameter but `wait` as a session key (a JSON value), after meeting the
  # other requests if `wait` is given.
  def set
    session.keys
    Rendezvous.meet if params[:wait]
    request.query_parameters.except("wait").each { |key, json| session[key] = JSON.parse(json) }
    head :ok
  end

  def delete
    session.keys
    Rendezvous.meet if params[:wait]
    session.delete(params[:key])
    head :ok
  end

  def set_expiring
    request.session_options[:expire_after] = 600
    session[:a] = 1
    head :ok
  end

  # Rack's own options, set without reading the session first.
  def renew
    request.session_options[:renew] = true
    head :ok
  end

  def drop
    request.session_options[:drop] = true
    head :ok
  end

  def incr
    render json: { value: VarelSession::Request.incr(request, params[:key], Integer(params.fetch(:by, 1))) }
  end

  def login
    reset_session if params[:reset]
    session[:user_id] = Integer(params[:user_id])
    head :ok
  end

  def logout
    reset_session
    head :ok
  end

  def forget_user
    session.delete(:user_id)
    head :ok
  end

  def handle
    render json: { handle: VarelSession::Request.handle(request) }
  end

  def log_out_everywhere
    render json: { ended: VarelSession::Request.log_out_everywhere(request) }
  end

  # What a test runs between this request's read of its session and its write (a log-out on
  # another device, say).
  class << self
    attr_accessor :between_read_and_write
  end

  def set_late
    session.keys
    self.class.between_read_and_write&.call
    session[:late] = "write"
    head :ok
  end

  def incr_late
    session.keys
    self.class.between_read_and_write&.call
    render json: { value: VarelSession::Request.incr(request, params[:key]) }
  end
end


class StoreTest < Minitest::Test
  include Rack::Test::Methods

  def app
    TestApp
  end

  def db
    @db ||= PG.connect(DATABASE_URL)
  end

  def teardown
    @db&.close
  end

  def token
    rack_mock_session.cookie_jar["_test_session"]
  end

  def rows
    Integer(db.exec("SELECT count(*) FROM varel_session.sessions").getvalue(0, 0))
  end

  # The stored session of token, as SQL sees it (no slide of its deadline), or nil.
  def stored(token)
    db.exec_params("SELECT data::text, user_id, updated_at, expires_at - updated_at AS idle
                      FROM varel_session.session_get($1)", [token]).first
  end

  def stored_data(token)
    row = stored(token)
    row && JSON.parse(row["data"])
  end

  # Request env for a call outside rack-test's cookie jar (concurrent requests).
  def env_with(token)
    { "HTTP_COOKIE" => "_test_session=#{token}", "REMOTE_ADDR" => "192.0.2.7" }
  end

  def concurrently(requests)
    Rendezvous.expect(requests.size)
    requests.map { |path, token| Thread.new { Rack::MockRequest.new(TestApp).get(path, env_with(token)) } }
            .map(&:value)
  end
end
