# frozen_string_literal: true

# The example app of the shared contract (tests/examples/contract.py) as a one-file Rails app:
# the controller uses Rails' own `session` and `reset_session`, kept by the varel_session
# extension (config.session_store :varel_session).
#
#     DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/rails/example/run

require "action_controller/railtie"
require "varel_session/rails"

class ExampleApp < Rails::Application
  config.load_defaults 6.1
  config.root = __dir__
  config.eager_load = false
  config.consider_all_requests_local = false
  config.secret_key_base = ENV.fetch("SECRET_KEY_BASE") { SecureRandom.hex(64) }
  config.hosts.clear
  config.logger = ActiveSupport::Logger.new($stdout)
  config.log_level = :warn
  # Plain HTTP on loopback in this example; behind HTTPS, add secure: true.
  config.session_store :varel_session, key: "_example_session", same_site: :lax,
                                       pool_size: Integer(ENV.fetch("RAILS_MAX_THREADS", 8))

  routes.append do
    post "/login", to: "sessions#login"
    get "/me", to: "sessions#me"
    get "/sessions", to: "sessions#index"
    post "/logout", to: "sessions#logout"
    post "/logout-all", to: "sessions#logout_all"
  end
end

# Initialized before the controllers are defined, so that they get its defaults (CSRF
# protection among them).
ExampleApp.initialize!

class SessionsController < ActionController::Base
  # A JSON API for the contract's client; an app with HTML forms keeps Rails' CSRF protection.
  skip_forgery_protection

  def login
    user_id = params[:user_id]
    return render(status: :bad_request, json: { error: "user_id must be an integer" }) unless user_id.is_a?(Integer)

    # Rails' log-in idiom: a new session (and token) for the logged-in user, against fixation.
    reset_session
    session[:user_id] = user_id
    render json: { user_id: user_id }
  end

  def me
    user_id = VarelSession::Request.user_id(request)
    return unauthorized unless user_id

    # Counted on the server in one update: concurrent requests never lose a visit.
    visits = VarelSession::Request.incr(request, :visits)
    return unauthorized unless visits

    render json: { user_id: user_id, visits: visits }
  end

  def index
    user_id = VarelSession::Request.user_id(request)
    return unauthorized unless user_id

    current = VarelSession::Request.handle(request)
    listed = VarelSession::Request.sessions(request).user_sessions(user_id).map do |row|
      row.slice("handle", "created_at", "ip", "user_agent").merge("current" => row["handle"] == current)
    end
    render json: listed
  end

  def logout
    reset_session
    head :no_content
  end

  def logout_all
    return unauthorized unless VarelSession::Request.user_id(request)

    render json: { ended: VarelSession::Request.log_out_everywhere(request) }
  end

  private

  def unauthorized
    render status: :unauthorized, json: { error: "not logged in" }
  end
end

