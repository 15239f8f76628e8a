# frozen_string_literal: true

require "json"
require "active_support/json"

module VarelSession
  # How session values are stored: one JSON value per key, as Rails' cookie store does with
  # `cookies_serializer = :json` (symbols come back as strings, times as ISO 8601 strings,
  # other objects as their `as_json`). Never Marshal: a stored session must not be able to run
  # code when it is read. Strings must be UTF-8 without NUL (what jsonb holds).
  #
  # A session is kept as JSON texts by key, so that what a request changed can be found by
  # comparing texts, and written as a JSON merge patch of those keys only.
  module Codec
    module_function

    # An escaped NUL in a JSON text (an odd run of backslashes before u0000): PostgreSQL's jsonb
    # cannot hold one.
    ESCAPED_NUL = /(?<!\\)(?:\\\\)*\\u0000/.freeze

    # The JSON text of one value. A value JSON or jsonb cannot hold (bytes that are not UTF-8, a
    # NUL) is a programmer's error, said clearly, rather than a database error at the write.
    def encode(value, key = nil)
      text = ActiveSupport::JSON.encode(value)
      raise ArgumentError, "session value#{" #{key.inspect}" if key} holds a NUL, which jsonb cannot store" if text.match?(ESCAPED_NUL)

      text
    rescue JSON::GeneratorError, EncodingError => e
      raise ArgumentError, "session value#{" #{key.inspect}" if key} cannot be stored as JSON: #{e.message}"
    end

    # The session hash (string keys) of a stored JSON object text.
    def decode(text)
      data = JSON.parse(text)
      data.is_a?(Hash) ? data : {}
    end

    # JSON texts by key, of a session hash.
    def encode_all(session)
      session.each_with_object({}) { |(key, value), texts| texts[key.to_s] = encode(value, key.to_s) }
    end

    # The merge patch (JSON texts by key, "null" removing a key) that turns before into after,
    # or an empty hash when nothing changed.
    def diff(before, after)
      patch = after.reject { |key, text| before[key] == text }
      before.each_key { |key| patch[key] = "null" unless after.key?(key) }
      patch
    end

    # The JSON object text of JSON texts by key.
    def object(texts)
      "{#{texts.map { |key, text| "#{JSON.generate(key)}:#{text}" }.join(',')}}"
    end
  end
end
