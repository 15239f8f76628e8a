# frozen_string_literal: true

# Rails' session store on the varel_session PostgreSQL extension:
#
#   # config/application.rb (or an initializer)
#   require "varel_session/rails"
#   config.session_store :varel_session, key: "_app_session"
#
# See adapters/rails/README.md.
require "varel_session/codec"
require "varel_session/connection_pool"
require "varel_session/sessions"
require "action_dispatch/session/varel_session_store"
require "varel_session/request"
