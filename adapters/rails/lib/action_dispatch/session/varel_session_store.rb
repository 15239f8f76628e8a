# frozen_string_literal: true

require "ipaddr"
require "securerandom"
require "set"
require "action_dispatch"
require "action_dispatch/middleware/session/abstract_store"
require "varel_session/codec"
require "varel_session/connection_pool"
require "varel_session/sessions"
require "varel_session/user_key"

module ActionDispatch
  module Session
    # Rails' session store on the varel_session extension: `config.session_store :varel_session`.
    #
    # The cookie holds the session's token; the database keeps only its hash. A request reads its
    # session with one `session_load` and, at its end, writes only the keys whose value it changed,
    # as a JSON merge patch applied on the server, so two requests of one browser that change
    # different keys both land, and a request that changes nothing writes nothing. A write for a
    # session that ended meanwhile (a log-out on another device) writes nothing: it is not revived.
    #
    # Ids: an id the request presented is never stored. An unknown, malformed or ended one is "no
    # session", and the session the request starts gets a new id, minted here (256 bits from
    # SecureRandom) and stored by `session_adopt` only once it holds something. `reset_session`
    # destroys the session and starts one under a new id; a change of the user (the `user_key`)
    # of a stored session rotates its token too (`session_set_user`, `session_clear_user`), so a
    # log-in never keeps a token that existed before it.
    #
    # Options, besides Rails' cookie options (`key`, `secure`, `same_site`, `expire_after`...):
    # - database_url: a libpq URL; ENV["DATABASE_URL"] by default.
    # - pool: anything with `with { |pg_connection| }` (the connection_pool gem's, say); by
    #   default a VarelSession::ConnectionPool of `pool_size` connections (ENV["RAILS_MAX_THREADS"]
    #   or 5).
    # - user_key: the session key that holds the user's id ("user_id"), or a proc from the session
    #   hash to the id (Devise: ->(s) { s.dig("warden.user.user.key", 0, 0) }); nil: none. An
    #   integer id is stored in the session's user column, which "your devices" and
    #   log-out-everywhere use.
    # - max_age: the idle lifetime of new sessions, in seconds; `expire_after` if given, else the
    #   extension's varel_session.max_age.
    # - imported_from: the store sessions were imported from ("activerecord-session_store",
    #   docs/moving.md): a cookie of another form than this store's ids is looked up there once,
    #   and its session continues under a new id; nil (the default): nothing is looked up.
    class VarelSessionStore < AbstractSecureStore
      # What this request read, minted and destroyed (the store itself serves every request).
      State = Struct.new(:store, :loaded, :minted, :destroyed) do
        def self.of(request)
          request.get_header(STATE_KEY) or
            raise ArgumentError, "the request has no varel_session state: is " \
                                 "ActionDispatch::Session::VarelSessionStore the app's session store?"
        end
      end
      STATE_KEY = "varel_session.state"
      # Ids the extension or this store could have made; anything else is not looked up at all.
      PLAUSIBLE_ID = /\A[A-Za-z0-9\-_,.]{22,128}\z/.freeze
      # The ids this store makes: the extension's token form.
      OWN_ID = /\A[0-9a-fA-F]{64}\z/.freeze

      attr_reader :sessions

      def initialize(app, options = {})
        options = options.dup
        pool = options.delete(:pool) || ::VarelSession::ConnectionPool.new(
          options.delete(:database_url) || ENV.fetch("DATABASE_URL"),
          size: Integer(options.delete(:pool_size) || ENV.fetch("RAILS_MAX_THREADS", 5)),
        )
        @sessions = ::VarelSession::Sessions.new(pool)
        @user_key = options.key?(:user_key) ? options.delete(:user_key) : "user_id"
        @user_key = @user_key.to_s if @user_key.is_a?(Symbol)
        @max_age = options.delete(:max_age)
        @imported_from = options.delete(:imported_from)
        super
      end

      # 256 bits from SecureRandom, in the extension's own token form (64 hex characters).
      def generate_sid
        Rack::Session::SessionId.new(SecureRandom.hex(32))
      end

      # The user id a session hash holds under the store's user_key (VarelSession::UserKey).
      def user_id_of(session)
        ::VarelSession::UserKey.user_id(@user_key, session)
      end

      private

      def prepare_session(req)
        req.set_header(STATE_KEY, State.new(self, {}, Set.new, Set.new))
        super
      end

      def find_session(req, sid)
        state = State.of(req)
        token = sid&.public_id
        if token && state.minted.include?(token)
          return [sid, {}]
        elsif token && (entry = state.loaded[token])
          return [sid, entry[:snapshot].transform_values { |text| JSON.parse(text) }]
        elsif token.is_a?(String) && !state.destroyed.include?(token) && token.b.match?(PLAUSIBLE_ID) &&
              (row = @sessions.load(token))
          data = ::VarelSession::Codec.decode(row[:data])
          # Encoded again from the values the request gets, so that an unchanged value compares
          # equal at the write whatever JSON spelling the row had.
          state.loaded[token] = { snapshot: ::VarelSession::Codec.encode_all(data), user_id: row[:user_id] }
          return [sid, data]
        elsif @imported_from && token.is_a?(String) && !token.b.match?(OWN_ID) && (claimed = claim(req, token))
          return claimed
        end
        [mint(state), {}]
      end

      # The session of an old cookie, imported from the old store: claimed under a new id (which
      # Rack then sends), or nil. activerecord-session_store keys its rows by the cookie's
      # private form (Rack's "2::" and SHA-256, since CVE-2019-16782), and the import stores
      # older rows, keyed by the cookie itself, under that form too: one statement looks it up,
      # and a private id copied from the old table is hashed again here, so it names nothing.
      def claim(req, token)
        return unless token.bytesize <= 1024 && token.dup.force_encoding(Encoding::UTF_8).valid_encoding? &&
                      !token.include?("\0")

        row = @sessions.claim(@imported_from, Rack::Session::SessionId.new(token).private_id, **client_of(req))
        return unless row

        data = ::VarelSession::Codec.decode(row[:data])
        State.of(req).loaded[row[:id]] = { snapshot: ::VarelSession::Codec.encode_all(data), user_id: row[:user_id] }
        [Rack::Session::SessionId.new(row[:id]), data]
      end

      def write_session(req, sid, session, options)
        state = State.of(req)
        token = sid.public_id
        texts = ::VarelSession::Codec.encode_all(session)
        user_id = user_id_of(session)
        max_age = max_age_of(options)
        if (entry = state.loaded[token])
          update(req, state, sid, entry, texts, user_id, max_age)
        elsif state.minted.include?(token) && (!texts.empty? || user_id)
          adopted = @sessions.adopt(token, data: ::VarelSession::Codec.object(texts), user_id: user_id,
                                           max_age: max_age, **client_of(req))
          return false unless adopted # 256 random bits already taken: never, in practice

          state.minted.delete(token)
          state.loaded[token] = { snapshot: texts, user_id: user_id }
          sid
        else
          # A new session that holds nothing (no row is made), or one that ended while this
          # request ran (nothing is revived).
          sid
        end
      end

      # reset_session, and Rack's :renew (the data moves to a new id) and :drop (the session
      # ends, nothing is written). The new id, or nil for :drop.
      def delete_session(req, sid, options)
        state = State.of(req)
        # :renew and :drop may come before the request read its session: it is read first, so
        # that the session the cookie names is the one that ends, and :renew has its data.
        session = req.get_header(Rack::RACK_SESSION)
        session.send(:load!) if session.respond_to?(:loaded?) && !session.loaded?
        token = sid&.public_id
        if token && state.loaded.delete(token)
          @sessions.destroy(token)
          state.destroyed << token
        end
        state.minted.delete(token)
        if options[:drop]
          remove_cookie(req, options)
          return nil
        end
        mint(state)
      end

      # Writes what the request changed of a session it read: the patch, and a change of user
      # with its rotation. The session id the response's cookie names.
      def update(req, state, sid, entry, texts, user_id, max_age)
        token = sid.public_id
        patch = ::VarelSession::Codec.diff(entry[:snapshot], texts)
        live = patch.empty? || @sessions.patch(token, ::VarelSession::Codec.object(patch))
        entry[:snapshot] = texts
        return rotate_user(req, state, token, texts, user_id, max_age, live) if user_id != entry[:user_id]

        state.loaded.delete(token) unless live
        sid
      end

      # The user of a stored session changed (a log-in without reset_session, or a log-out that
      # kept the session): its token rotates, so no token from before the change stays valid.
      def rotate_user(req, state, token, texts, user_id, max_age, live)
        state.loaded.delete(token)
        new_token =
          if user_id.nil?
            live ? @sessions.clear_user(token) : nil
          else
            (live && @sessions.set_user(token, user_id, max_age: max_age, **client_of(req))) ||
              begin
                # The session ended while this request ran (a log-out elsewhere, a revocation):
                # the log-in makes a new one with the user alone, so nothing of the ended
                # session's data comes back (its token stays dead).
                texts = @user_key.is_a?(String) ? texts.slice(@user_key) : {}
                @sessions.create(data: ::VarelSession::Codec.object(texts), user_id: user_id,
                                 max_age: max_age, **client_of(req))
              end
          end
        return mint(state) if new_token.nil?

        state.loaded[new_token] = { snapshot: texts, user_id: user_id }
        Rack::Session::SessionId.new(new_token)
      end

      # A new session's cookie is sent once it is stored: a request whose new session holds
      # nothing gets no cookie, and the cookie of one that presented a session it ended (a
      # log-out) is removed.
      def set_cookie(request, response, cookie)
        return super unless State.of(request).minted.include?(cookie[:value])

        remove_cookie(request, cookie)
      end

      def remove_cookie(request, options)
        return unless request.cookie_jar.key?(key)

        request.cookie_jar.delete(key, options.to_hash.slice(:path, :domain, :secure, :same_site, :httponly))
      end

      # The client's address (Rails' remote_ip, which honours only trusted proxies) if it is one,
      # and its user agent as UTF-8 text of at most 512 characters: the columns' types, so a
      # client's odd header never fails the write.
      def client_of(req)
        ip = req.respond_to?(:remote_ip) ? req.remote_ip : req.ip
        ip = begin
          IPAddr.new(ip.to_s).to_s
        rescue ArgumentError
          nil
        end
        user_agent = req.user_agent&.dup&.force_encoding(Encoding::UTF_8)&.scrub("")&.delete("\0")
        { ip: ip, user_agent: user_agent && user_agent[0, 512] }
      end

      def mint(state)
        sid = generate_sid
        state.minted << sid.public_id
        sid
      end

      def max_age_of(options)
        (options[:expire_after] || @max_age)&.to_i
      end
    end

    # `config.session_store :varel_session` names this class.
    VarelSession = VarelSessionStore
  end
end
