# frozen_string_literal: true

module VarelSession
  # The user id a session hash holds under a user_key (a session key, or a proc from the session
  # hash to the id), if it is an integer (or its digits), or nil: other ids (UUIDs) stay in the
  # session's data only, and the user column, with the listings that need it, stays empty.
  module UserKey
    module_function

    def user_id(user_key, session)
      value = user_key.respond_to?(:call) ? user_key.call(session) : (user_key && session[user_key])
      case value
      when Integer then value
      when /\A-?[0-9]{1,18}\z/ then Integer(value, 10)
      end
    end
  end
end
