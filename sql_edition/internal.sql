-- The SQL edition's internal helpers: what the C edition does in Rust (extension/src/: token.rs,
-- users.rs, events.rs, the checks every write makes), in SQL and PL/pgSQL. The helpers that reach a table are SECURITY DEFINER with a pinned search_path; the pure ones are
-- plain SQL without SET options, so the planner inlines them into the API's queries (it does so
-- only for functions without SET options). Nobody but the owner may call any of them
-- (privileges.sql). Each pure one is SECURITY INVOKER and names only pg_catalog objects and the
-- edition's own tables, schema-qualified; its `pgspot-allow` line tells pgspot (scripts/test.sh
-- collects those lines from the installed script) that it has no search_path on purpose.

-- Tokens: 32 bytes from PostgreSQL's own CSPRNG (pg_strong_random, which gen_random_uuid
-- reads: OpenSSL's RAND_bytes or the kernel's), so no extension such as pgcrypto is needed.
-- A version-4 UUID carries 122 random bits; SHA-256 of three (366 bits) gives 32 uniformly
-- distributed bytes.
-- pgspot-allow: proc-without-search-path varel_session_internal.random_token()
CREATE FUNCTION varel_session_internal.random_token() RETURNS bytea
    LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
    SELECT pg_catalog.sha256(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid()))
$$;
COMMENT ON FUNCTION varel_session_internal.random_token() IS
    'internal: 32 bytes from the server''s CSPRNG (SHA-256 of three random UUIDs, 366 random bits)';

-- A session's handle: a random 64-bit number from its own draw (244 random bits), unrelated
-- to the token.
-- pgspot-allow: proc-without-search-path varel_session_internal.random_handle()
CREATE FUNCTION varel_session_internal.random_handle() RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL SAFE
AS $$
    SELECT ('x' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(
               pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
               OPERATOR(pg_catalog.||) pg_catalog.uuid_send(pg_catalog.gen_random_uuid())), 1, 8),
           'hex'))::pg_catalog.bit(64)::bigint
$$;
COMMENT ON FUNCTION varel_session_internal.random_handle() IS
    'internal: a random 64-bit handle, drawn apart from the token';

-- The stored form of a token: SHA-256 of its 32 bytes; of a framework id (22 to 128
-- characters of A-Z a-z 0-9 - _ , . that is not 64 hex characters, minted by a web framework,
-- extension/src/token.rs): SHA-256 of 'varel_session framework id:' and the id; NULL for
-- anything else (untrusted input: "no session", never an error). Not STRICT, so it inlines.
-- The id becomes bytes through bytea's input (its characters hold no backslash), which is
-- immutable, as the inlining of an IMMUTABLE function needs. The checks are characters that
-- ltrim() removes entirely, not regular expressions such as
-- '^[0-9a-fA-F]{64}$': the bounded repetition costs about 10 microseconds a call, which was
-- most of session_get's time (BENCHMARKS.md).
-- pgspot-allow: proc-without-search-path varel_session_internal.token_hash(id text)
CREATE FUNCTION varel_session_internal.token_hash(id text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pg_catalog.octet_length($1) OPERATOR(pg_catalog.=) 64
                 AND pg_catalog.ltrim($1, '0123456789abcdefABCDEF') OPERATOR(pg_catalog.=) ''
                THEN pg_catalog.sha256(pg_catalog.decode($1, 'hex'))
                WHEN pg_catalog.octet_length($1) OPERATOR(pg_catalog.>=) 22
                 AND pg_catalog.octet_length($1) OPERATOR(pg_catalog.<=) 128
                 AND pg_catalog.ltrim($1, '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_,.')
                     OPERATOR(pg_catalog.=) ''
                THEN pg_catalog.sha256(('varel_session framework id:' OPERATOR(pg_catalog.||) $1)::pg_catalog.bytea)
           END
$$;
COMMENT ON FUNCTION varel_session_internal.token_hash(text) IS
    'the stored form of a token (SHA-256 of its 32 bytes) or of a framework id, or NULL when id is neither';

-- The errors the functions raise, one helper each, called only when the error is due (a
-- call with SET options is not free, so the checks themselves are written out inline).
-- VOLATILE, so that the planner never evaluates one ahead of time.

-- 25006 for a write in a read-only transaction (or on a standby), naming the function as the
-- C edition does, rather than the INSERT or UPDATE inside it.
CREATE FUNCTION varel_session_internal.raise_read_only(function_name text) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'cannot execute % in a read-only transaction', function_name
        USING ERRCODE = 'read_only_sql_transaction';
END
$$;

-- 54000: session data, or a key, value or patch alone, over the limit.
CREATE FUNCTION varel_session_internal.raise_too_large(bytes bigint, max_bytes integer) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'session data would be % bytes, over the limit of % bytes', bytes, max_bytes
        USING ERRCODE = 'program_limit_exceeded',
              HINT = 'store less in the session, or raise varel_session.max_data_bytes';
END
$$;

-- Whether new data is the same as the old (a write that changes nothing writes nothing):
-- jsonb equality, and the same text, so 1.0 replacing 1 is still a change.
-- pgspot-allow: proc-without-search-path varel_session_internal.same_data(old jsonb,new jsonb)
CREATE FUNCTION varel_session_internal.same_data(old jsonb, new jsonb) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT $1 OPERATOR(pg_catalog.=) $2
       AND $1::pg_catalog.text OPERATOR(pg_catalog.=) $2::pg_catalog.text
$$;

-- The idle deadline of a session used now: now() + max_age, never past the absolute one.
-- pgspot-allow: proc-without-search-path varel_session_internal.idle_deadline(max_age interval,absolute_expires_at timestamptz)
CREATE FUNCTION varel_session_internal.idle_deadline(max_age interval, absolute_expires_at timestamptz)
    RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT least(pg_catalog.now() OPERATOR(pg_catalog.+) $1, $2)
$$;

-- session_load's throttle (extension/src/deadlines.rs, refresh_due): the new idle deadline when less
-- than 80% of max_age is left and sliding moves it forward, else NULL. "Less than 80% left"
-- is "the deadline is before now() + 0.8 * max_age": interval arithmetic, which costs a
-- fraction of the C edition's exact microsecond arithmetic written with EXTRACT (numeric).
-- pgspot-allow: proc-without-search-path varel_session_internal.refresh_due(expires_at timestamptz,absolute_expires_at timestamptz,max_age interval)
CREATE FUNCTION varel_session_internal.refresh_due(expires_at timestamptz, absolute_expires_at timestamptz,
                                                   max_age interval)
    RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN $1 OPERATOR(pg_catalog.<)
                 (pg_catalog.now() OPERATOR(pg_catalog.+) ($3 OPERATOR(pg_catalog.*) 0.8))
         AND least(pg_catalog.now() OPERATOR(pg_catalog.+) $3, $2) OPERATOR(pg_catalog.>) $1
        THEN least(pg_catalog.now() OPERATOR(pg_catalog.+) $3, $2)
    END
$$;

-- A key as an error shows it: the programmer's own key, cut short when long.
-- pgspot-allow: proc-without-search-path varel_session_internal.shown_key(key text)
CREATE FUNCTION varel_session_internal.shown_key(key text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN pg_catalog.length($1) OPERATOR(pg_catalog.>) 64
                THEN pg_catalog.left($1, 64) OPERATOR(pg_catalog.||) '...' ELSE $1 END
$$;

-- The per-user transaction lock, the same lock the C edition takes:
-- pg_advisory_xact_lock(1987208563, <user id folded to 32 bits>) ("vses" in ASCII).
-- pgspot-allow: proc-without-search-path varel_session_internal.user_lock_key(user_id bigint)
CREATE FUNCTION varel_session_internal.user_lock_key(user_id bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ((($1 OPERATOR(pg_catalog.#) ($1 OPERATOR(pg_catalog.>>) 32))
             OPERATOR(pg_catalog.&) 4294967295) OPERATOR(pg_catalog.#) 2147483648
            OPERATOR(pg_catalog.-) 2147483648)::integer
$$;

-- Log-ins leave a mark per user, so that a transaction under REPEATABLE READ or SERIALIZABLE
-- can tell that another log-in of the user committed after its snapshot: the C edition reads
-- the user's sessions with a fresh snapshot to tell, which SQL cannot. Every log-in updates
-- the user's row here (after taking the user's lock); an upsert of it by a transaction whose
-- snapshot predates such an update fails with 40001, as UPDATE does.
CREATE TABLE varel_session_internal.user_logins (
    user_id   bigint PRIMARY KEY,
    logins    bigint NOT NULL DEFAULT 1
);
COMMENT ON TABLE varel_session_internal.user_logins IS
    'internal: a counter per user bumped by every log-in, so that REPEATABLE READ transactions detect a concurrent one';

-- Records a log-in of user_id (the caller holds the user's lock). Under REPEATABLE READ or
-- SERIALIZABLE, 40001 when another log-in of the user committed after the snapshot.
CREATE FUNCTION varel_session_internal.mark_login(user_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO varel_session_internal.user_logins AS l (user_id) VALUES ($1)
    ON CONFLICT ON CONSTRAINT user_logins_pkey DO UPDATE SET logins = l.logins + 1;
EXCEPTION WHEN serialization_failure THEN
    RAISE EXCEPTION 'could not serialize access due to a concurrent change to the user''s sessions'
        USING ERRCODE = 'serialization_failure';
END
$$;

-- The per-user lock, taken before a revoke (sql/users.sql). Under REPEATABLE READ and
-- SERIALIZABLE also the check that the transaction's snapshot sees every log-in of the user
-- (40001 otherwise), so that a revoke ends every session committed before it.
CREATE FUNCTION varel_session_internal.lock_user(user_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1987208563, varel_session_internal.user_lock_key($1));
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM varel_session_internal.mark_login($1);
    END IF;
END
$$;
COMMENT ON FUNCTION varel_session_internal.lock_user(bigint) IS
    'the per-user transaction lock that serialises log-ins, caps and revocations of one user';

-- The same lock for a log-in (session_new with a user, session_set_user), which also leaves
-- its mark, whatever the isolation level, for the check above.
CREATE FUNCTION varel_session_internal.lock_user_for_login(user_id bigint) RETURNS void
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(1987208563, varel_session_internal.user_lock_key($1));
    PERFORM varel_session_internal.mark_login($1);
END
$$;

-- Before (or right after) a session gains user_id: ends the user's oldest live sessions so
-- that, with that one, the user stays within the cap. The session with handle joining is not
-- counted. The caller holds the user's lock.
CREATE FUNCTION varel_session_internal.make_room(user_id bigint, joining bigint, cap integer)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    others bigint;
    ended bigint := 0;
    victim bigint;
BEGIN
    IF cap = 0 THEN
        RETURN 0;
    END IF;
    SELECT count(*) INTO others
    FROM varel_session.sessions AS s
    WHERE s.user_id = $1 AND s.handle IS DISTINCT FROM $2
      AND varel_session_internal.is_live(s.expires_at, s.absolute_expires_at);
    IF others + 1 <= cap THEN
        RETURN 0;
    END IF;
    -- Deleted by user and handle (not by ctid), so a victim updated meanwhile is still found.
    FOR victim IN
        DELETE FROM varel_session.sessions AS s
        USING (SELECT o.handle
               FROM varel_session.sessions AS o
               WHERE o.user_id = $1 AND o.handle IS DISTINCT FROM $2
                 AND varel_session_internal.is_live(o.expires_at, o.absolute_expires_at)
               ORDER BY o.created_at, o.handle
               LIMIT others + 1 - cap) AS v
        WHERE s.user_id = $1 AND s.handle = v.handle
        RETURNING s.handle
    LOOP
        ended := ended + 1;
        PERFORM varel_session_internal.notify_event('evicted', victim, $1);
    END LOOP;
    RETURN ended;
END
$$;

-- A session event (NOTIFY) when events are on: the same payload as the C edition's
-- (extension/src/events.rs), never a token or its hash.
CREATE FUNCTION varel_session_internal.notify_event(event text, handle bigint, user_id bigint,
                                                    count bigint DEFAULT NULL) RETURNS void
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    payload text;
BEGIN
    IF event IS NULL OR event NOT IN ('created', 'rotated', 'logged_in', 'logged_out', 'destroyed',
                                      'revoked', 'evicted', 'expired', 'cleanup') THEN
        RAISE EXCEPTION 'event must be the name of a session event'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT * INTO p FROM varel_session_internal.policy();
    IF NOT p.events THEN
        RETURN;
    END IF;
    payload := '{"event": "' || event || '"';
    IF handle IS NOT NULL THEN
        payload := payload || ', "handle": "' || lpad(to_hex(handle), 16, '0') || '"';
    END IF;
    IF event <> 'cleanup' THEN
        payload := payload || ', "user_id": ' || coalesce(user_id::text, 'null');
    END IF;
    IF count IS NOT NULL THEN
        payload := payload || ', "removed": ' || count;
    END IF;
    payload := payload || ', "at": "'
        || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"}';
    PERFORM pg_catalog.pg_notify(p.events_channel, payload);
END
$$;
COMMENT ON FUNCTION varel_session_internal.notify_event(text, bigint, bigint, bigint) IS
    'internal: sends a session event (NOTIFY) when varel_session.events is on';

-- The authentication context (extension/src/auth_context.rs). With aal_timeouts on, a log-in's
-- assurance level caps its deadlines as NIST SP 800-63B-4 asks: AAL1 30 days overall, AAL2 24
-- hours overall and 1 hour idle, AAL3 12 hours overall and 15 minutes idle. The overall limit
-- is written into absolute_expires_at at the log-in; the inactivity limit caps every idle
-- deadline computed while the level stands (idle_lifetime, which the slides use too), and the
-- session's own max_age stays as it was given.

-- max_age, or the idle limit of level aal when that is shorter and the limits are on: what a
-- new idle lifetime of a session at that level may be.
CREATE FUNCTION varel_session_internal.within_idle_limit(max_age interval, aal smallint,
                                                         limits_on boolean)
    RETURNS interval
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    idle interval := CASE WHEN limits_on THEN
                         CASE aal WHEN 3 THEN interval '15 minutes' WHEN 2 THEN interval '1 hour' END
                     END;
BEGIN
    IF idle IS NOT NULL AND now() + max_age > now() + idle THEN
        RETURN idle;
    END IF;
    RETURN max_age;
END
$$;
COMMENT ON FUNCTION varel_session_internal.within_idle_limit(interval, smallint, boolean) IS
    'internal: max_age, or the idle limit of the assurance level when shorter and varel_session.aal_timeouts is on';

-- within_idle_limit with the policy in force: only sessions at AAL2 or above come here.
CREATE FUNCTION varel_session_internal.aal_idle_lifetime(max_age interval, aal smallint)
    RETURNS interval
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN varel_session_internal.within_idle_limit(max_age, aal,
        (SELECT p.aal_timeouts FROM varel_session_internal.policy() AS p));
END
$$;
COMMENT ON FUNCTION varel_session_internal.aal_idle_lifetime(interval, smallint) IS
    'internal: the idle lifetime of a session at an assurance level, under the policy in force';

-- The idle lifetime a slide of a session uses now: its max_age, or with aal_timeouts the
-- inactivity limit of its level when shorter. Plain SQL without a subquery, so the planner
-- inlines it; sessions below AAL2 never read the policy.
-- pgspot-allow: proc-without-search-path varel_session_internal.idle_lifetime(max_age interval,aal smallint)
CREATE FUNCTION varel_session_internal.idle_lifetime(max_age interval, aal smallint)
    RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN $2 OPERATOR(pg_catalog.>) 1
                THEN varel_session_internal.aal_idle_lifetime($1, $2)
                ELSE $1 END
$$;
COMMENT ON FUNCTION varel_session_internal.idle_lifetime(interval, smallint) IS
    'internal: the idle lifetime a slide uses: max_age, capped by the assurance level with varel_session.aal_timeouts';

-- Both deadlines of a session whose user (re-)authenticated now at level aal, with idle
-- lifetime lifetime (kept as its max_age; the idle deadline capped as within_idle_limit says),
-- under the policy's absolute_timeout and aal_timeouts.
CREATE FUNCTION varel_session_internal.log_in_deadlines(aal smallint, lifetime interval,
                                                        absolute_timeout interval,
                                                        limits_on boolean,
                                                        OUT max_age interval,
                                                        OUT absolute_expires_at timestamptz,
                                                        OUT expires_at timestamptz)
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    overall interval := CASE WHEN limits_on THEN
                            CASE $1 WHEN 3 THEN interval '12 hours' WHEN 2 THEN interval '24 hours'
                                    WHEN 1 THEN interval '720 hours' END
                        END;
BEGIN
    IF absolute_timeout > '0'::interval THEN
        absolute_expires_at := now() + absolute_timeout;
    END IF;
    IF overall IS NOT NULL THEN
        absolute_expires_at := least(absolute_expires_at, now() + overall);
    END IF;
    max_age := $2;
    expires_at := least(now() + varel_session_internal.within_idle_limit($2, $1, limits_on),
                        absolute_expires_at);
END
$$;
COMMENT ON FUNCTION varel_session_internal.log_in_deadlines(smallint, interval, interval, boolean) IS
    'internal: the idle lifetime and both deadlines of a session (re-)authenticated now at an assurance level';

-- aal must be 1 to 3 and amr a one-dimensional array without NULLs of at most 1 kB, as the C
-- edition checks them (extension/src/auth_context.rs).
CREATE FUNCTION varel_session_internal.check_auth_context(aal smallint, amr text[]) RETURNS void
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF aal NOT BETWEEN 1 AND 3 THEN
        RAISE EXCEPTION 'aal must be 1, 2 or 3' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Two steps: array_position refuses a multidimensional array, and OR may evaluate either side.
    IF array_ndims(amr) > 1 THEN
        RAISE EXCEPTION 'amr must be a one-dimensional array without nulls'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position(amr, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'amr must be a one-dimensional array without nulls'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF pg_column_size(amr) > 1024 THEN
        RAISE EXCEPTION 'amr must be at most 1024 bytes, not %', pg_column_size(amr)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;
COMMENT ON FUNCTION varel_session_internal.check_auth_context(smallint, text[]) IS
    'internal: raises 22023 for an assurance level or methods a log-in cannot record';
