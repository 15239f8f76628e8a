# frozen_string_literal: true

require "base64"
require "digest"
require "json"
require "pg"
require "varel_session/codec"
require "varel_session/plain_marshal"
require "varel_session/user_key"

module VarelSession
  module Import
    # Imports the live sessions of activerecord-session_store (its `sessions` table) into
    # varel_session (docs/moving.md): each session's data, decoded whatever serializer wrote it
    # (:json, :hybrid, or :marshal, which is read only when it holds plain data: see
    # PlainMarshal; a session that holds an object is skipped, never loaded), stored as the
    # varel store stores it, with its user (the store's user_key) and an expiry of its last
    # update plus `expire_after`, under a hash of the id the table keys it by. With
    # `imported_from: "activerecord-session_store"`, the first request with an old cookie gets
    # its session under a new id.
    #
    # It runs against the live database while the old store keeps serving, and may run again: a
    # re-run refreshes what changed and ends what the old table no longer holds (a log-out
    # there). The connection must be the extension owner's (the application's role gets
    # "permission denied").
    class ActiveRecordStore
      STORE = "activerecord-session_store"
      # The store's own default for trimming old sessions (rake db:sessions:trim): 30 days.
      DEFAULT_EXPIRE_AFTER = 30 * 24 * 3600

      IMPORT_BATCH = <<~SQL
        SELECT count(*) FILTER (WHERE varel_session.session_import(
                   $1, r.value->>'id', r.value->'data', (r.value->>'updated_at')::timestamptz + $2::integer * interval '1 second',
                   (r.value->>'user_id')::bigint, $3::timestamptz, $2::integer * interval '1 second'))
        FROM jsonb_array_elements($4::jsonb) AS r
      SQL

      # user_key: what the varel store is given (a key, or a proc from the session hash to the id).
      def initialize(connection, table: "sessions", expire_after: DEFAULT_EXPIRE_AFTER, user_key: "user_id")
        @db = connection
        @table = PG::Connection.quote_ident(table)
        @expire_after = Integer(expire_after)
        @user_key = user_key.is_a?(Symbol) ? user_key.to_s : user_key
      end

      # accept_until: old cookies are accepted until then (a Time; nil: each session's expiry).
      # { imported:, skipped:, ended: }; skipped: data that does not decode or is not plain.
      def run(accept_until: nil, batch_size: 500)
        counts = { imported: 0, skipped: 0, ended: 0 }
        started = @db.exec("SELECT statement_timestamp()").getvalue(0, 0)
        last = ""
        loop do
          rows = @db.exec_params(<<~SQL, [last, @expire_after, batch_size]).to_a
            SELECT session_id, data, updated_at FROM #{@table}
            WHERE session_id > $1 AND updated_at > now() - $2::integer * interval '1 second'
            ORDER BY session_id LIMIT $3
          SQL
          break if rows.empty?

          last = rows.last["session_id"]
          batch = rows.filter_map do |row|
            data = decode(row["data"])
            unless data
              counts[:skipped] += 1
              next
            end

            { "id" => private_id(row["session_id"]), "data" => JSON.parse(Codec.object(Codec.encode_all(data))),
              "updated_at" => row["updated_at"], "user_id" => UserKey.user_id(@user_key, data) }
          rescue ArgumentError
            counts[:skipped] += 1
            nil
          end
          next if batch.empty?

          counts[:imported] += Integer(@db.exec_params(IMPORT_BATCH, [STORE, @expire_after, accept_until&.utc&.iso8601,
                                                                     JSON.generate(batch)]).getvalue(0, 0))
        end
        counts[:ended] = Integer(@db.exec_params("SELECT varel_session.session_import_prune($1, $2)",
                                                 [STORE, started]).getvalue(0, 0))
        counts
      end

      private

      # The id a row is imported under: its private form, the one the table keys rows by since
      # CVE-2019-16782 (Rack's "2::" and SHA-256 of the cookie). Older rows, keyed by the cookie
      # itself, are imported under the private form of that cookie too, so the store's claim
      # looks up one form only, and a private id copied from the old table is never a cookie
      # that works (it is hashed again at the claim).
      def private_id(session_id)
        return session_id if session_id.match?(/\A\d+::/)

        "2::#{Digest::SHA256.hexdigest(session_id)}"
      end

      # The session hash, or nil: JSON (the :json and :hybrid serializers), else Base64 of Marshal
      # (:marshal, :hybrid's old rows) holding plain data only.
      def decode(text)
        return nil if text.nil? || text.empty?

        data = begin
          JSON.parse(text)
        rescue JSON::ParserError
          begin
            PlainMarshal.load(Base64.decode64(text))
          rescue PlainMarshal::Refused
            nil
          end
        end
        data.is_a?(Hash) && !data.empty? ? data : nil
      end
    end
  end
end
