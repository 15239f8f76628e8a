# frozen_string_literal: true

module VarelSession
  # What a controller asks of the current request's session beyond Rails' `session` hash, for
  # apps on ActionDispatch::Session::VarelSessionStore. Each takes the request (`request` in a
  # controller).
  module Request
    module_function

    # Adds by to the integer under key of the current session on the server, in one statement
    # (a missing key counts as 0), so concurrent requests never lose an increment; the request's
    # `session[key]` is set to the result, and the request's write does not write the key again.
    # A session not stored yet is counted in the request and stored with the rest. nil if the
    # session ended while the request ran (a log-out on another device).
    def incr(request, key, by = 1)
      key = key.to_s
      session = request.session
      token, entry = stored(request)
      state = state(request)
      unless entry
        # Not stored: a new session (counted here, stored with the rest at the write), or one
        # that ended while the request ran.
        id = session.id&.public_id
        return nil unless id.nil? || state.minted.include?(id)

        current = session[key]
        return session[key] = (current.is_a?(Integer) ? current : 0) + by
      end
      value = state.store.sessions.incr(token, key, by)
      if value.nil?
        state.loaded.delete(token)
        return nil
      end
      entry[:snapshot][key] = Codec.encode(value)
      session[key] = value
    end

    # The user of the current session as it is stored (as the request read it, or as its write
    # stored it), or nil.
    def user_id(request)
      _, entry = stored(request)
      entry && entry[:user_id]
    end

    # The current session's handle (to mark "this device" in a listing of user_sessions), or nil
    # if it is not stored.
    def handle(request)
      token, entry = stored(request)
      entry && state(request).store.sessions.handle(token)
    end

    # The store's Sessions (user_sessions, revoke, revoke_user...).
    def sessions(request)
      state(request).store.sessions
    end

    # Ends every session of the current user, this one included, and starts a new session for
    # the rest of the request (reset_session): how many sessions ended.
    def log_out_everywhere(request)
      user = user_id(request)
      ended = user ? sessions(request).revoke_user(user) : 0
      request.reset_session
      ended
    end

    # The current session's token and what the request read of it, or nil when it is not
    # stored. Reads the session first if the request has not (Rails reads it lazily).
    def stored(request)
      session = request.session
      session.keys
      token = session.id&.public_id
      entry = token && state(request).loaded[token]
      entry ? [token, entry] : nil
    end

    def state(request)
      ActionDispatch::Session::VarelSessionStore::State.of(request)
    end
  end
end
