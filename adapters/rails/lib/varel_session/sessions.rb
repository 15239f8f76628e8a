# frozen_string_literal: true

module VarelSession
  # The extension's SQL API on a pool of connections: one statement, so one round trip, per call
  # (PG::Connection#exec_params sends the unnamed statement's parse, bind and execute together).
  # Tokens are passed as parameters, never in SQL text, so they appear in no log line of the
  # server's either. Untrusted ids are normal input: an unknown, malformed or ended one gives nil
  # or false, never an error.
  class Sessions
    attr_reader :pool

    def initialize(pool)
      @pool = pool
    end

    # The live session named by id, sliding its idle deadline: { data: JSON text, user_id: },
    # or nil.
    def load(id)
      row = first_row("SELECT data::text AS data, user_id FROM varel_session.session_load($1)", [id])
      row && { data: row["data"], user_id: integer_or_nil(row["user_id"]) }
    end

    # The session imported from `store` under the old id (docs/moving.md), created now under a
    # new token, which the old id no longer names: { id:, data: JSON text, user_id: }, or nil.
    def claim(store, old_id, ip: nil, user_agent: nil)
      row = first_row(<<~SQL, [store, old_id, ip, user_agent])
        SELECT id, data::text AS data, user_id
        FROM varel_session.session_claim($1, $2, ip => $3::inet, user_agent => $4)
      SQL
      row && { id: row["id"], data: row["data"], user_id: integer_or_nil(row["user_id"]) }
    end

    # Creates the session under an id this process has just minted; false if it exists already.
    def adopt(id, data:, user_id: nil, max_age: nil, ip: nil, user_agent: nil)
      boolean(<<~SQL, [id, max_age, user_id, data, ip, user_agent])
        SELECT varel_session.session_adopt($1, max_age => $2::integer * interval '1 second',
            user_id => $3::bigint, data => $4::jsonb, ip => $5::inet, user_agent => $6)
      SQL
    end

    # Creates a session and returns its token.
    def create(data:, user_id: nil, max_age: nil, ip: nil, user_agent: nil)
      value(<<~SQL, [max_age, user_id, data, ip, user_agent])
        SELECT varel_session.session_new(max_age => $1::integer * interval '1 second',
            user_id => $2::bigint, data => $3::jsonb, ip => $4::inet, user_agent => $5)
      SQL
    end

    # Applies a top-level JSON merge patch (a JSON text) to the live session; false if none.
    def patch(id, patch)
      boolean("SELECT varel_session.session_set($1, $2::jsonb)", [id, patch])
    end

    # Logs the live session in as user_id: its new token, or nil if it ended.
    def set_user(id, user_id, max_age: nil, ip: nil, user_agent: nil)
      value(<<~SQL, [id, user_id, max_age, ip, user_agent])
        SELECT varel_session.session_set_user($1, $2::bigint,
            max_age => $3::integer * interval '1 second', ip => $4::inet, user_agent => $5)
      SQL
    end

    # Clears the live session's user (a log-out that keeps the data): its new token, or nil.
    def clear_user(id)
      value("SELECT varel_session.session_clear_user($1)", [id])
    end

    def destroy(id)
      boolean("SELECT varel_session.session_destroy($1)", [id])
    end

    # Adds by to the integer under key on the server (a missing key counts as 0): the new value,
    # or nil without a live session.
    def incr(id, key, by = 1)
      integer_or_nil(value("SELECT varel_session.session_incr($1, $2, $3::bigint)", [id, key, by]))
    end

    # The user's live sessions, newest first ("your devices"); never a token.
    def user_sessions(user_id)
      @pool.with do |connection|
        connection.exec_params(<<~SQL, [user_id]).to_a
          SELECT handle, created_at, updated_at, expires_at, ip::text AS ip, user_agent,
                 last_seen_at
            FROM varel_session.session_user_sessions($1::bigint)
        SQL
      end
    end

    # The handle of the live session named by id (to mark "this device" in a listing), or nil.
    def handle(id)
      value("SELECT varel_session.session_handle($1)", [id])
    end

    # Ends one of the user's sessions by its handle.
    def revoke(user_id, handle)
      boolean("SELECT varel_session.session_revoke($1::bigint, $2)", [user_id, handle])
    end

    # Ends every session of the user except except_id's: how many ended.
    def revoke_user(user_id, except_id = nil)
      Integer(value("SELECT varel_session.session_user_revoke($1::bigint, $2)", [user_id, except_id]))
    end

    private

    def first_row(sql, params)
      @pool.with { |connection| connection.exec_params(sql, params).first }
    end

    def value(sql, params)
      row = first_row(sql, params)
      row&.values&.first
    end

    def boolean(sql, params)
      value(sql, params) == "t"
    end

    def integer_or_nil(text)
      text && Integer(text, 10)
    end
  end
end
