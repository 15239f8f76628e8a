'use strict';
// An express-session store on the varel_session PostgreSQL extension, over node-postgres.
//
//   const { varelSession } = require('varel-session-express');
//   app.use(varelSession({ pool, secret: '...', resave: false, saveUninitialized: false }));
//
// `varelSession(options)` is express-session's `session(options)` with this store. The session
// id in the cookie is the extension's token: 32 bytes from the database server's CSPRNG, made by
// `session_new`, stored only as its SHA-256. express-session asks for a new id synchronously
// (its `genid` hook), so the store keeps a small reserve of tokens made in advance, a batch per
// round trip, and each request sets one aside before express-session runs. A token handed to
// a request that never stored its session is destroyed after the response (in batches): it is
// never handed out twice, since the app may have shown it. A token set aside but never handed
// out (the request had a session) goes back to the reserve: nobody has seen it.
//
// A save writes only the top-level keys the request changed (a merge patch built on the server
// from the row's newest version), so concurrent requests that change different keys both land;
// a save never recreates a session destroyed elsewhere (it fails with code
// VAREL_SESSION_ENDED); `incr` is an atomic counter.

const session = require('express-session');

/** The data as the database last had it, per request: each top-level key's JSON text. */
const STORED = Symbol('varel_session stored data');
/** The token set aside for the request, before express-session may ask for one. */
const RESERVED = Symbol('varel_session reserved token');
/** Names a Session object cannot hold as data (express-session skips them when it loads a
 * session), so a save must not read their absence as "removed". */
const SESSION_MEMBERS = new Set(['id', 'req', 'touch', 'resetMaxAge', 'save', 'reload',
  'destroy', 'regenerate']);

const ENDED = 'VAREL_SESSION_ENDED';

class VarelStore extends session.Store {
  /**
   * @param {object} options
   * @param {import('pg').Pool} options.pool the app's node-postgres pool
   * @param {number} [options.reserve=16] how many tokens to make in advance
   * @param {number} [options.defaultMaxAge=86400] the idle lifetime, in seconds, of a session
   *   whose cookie has no maxAge (a browser-session cookie); the server still ends it then
   */
  constructor({ pool, reserve = 16, defaultMaxAge = 86400, cookie = {} } = {}) {
    super();
    if (!pool) throw new TypeError('VarelStore needs a node-postgres pool');
    this.pool = pool;
    this.reserveSize = reserve;
    this.defaultMaxAge = defaultMaxAge;
    // The app's cookie options, for a session stored without express-session's `cookie`
    // (created by another app on the same database).
    this.cookieOptions = typeof cookie === 'object' && cookie ? cookie : {};
    this.tokens = []; // { token, made } of sessions made in advance, not yet handed out
    this.handedOut = new Set(); // tokens handed out whose session no request stored yet
    this.unused = []; // handed out, never stored: destroyed in batches
    this.refilling = null;
    this.sweeper = setInterval(() => this.destroyUnused().catch(() => {}), 5000);
    this.sweeper.unref();
  }

  // The reserve of tokens.

  /** Sets a token aside for `req` (a database round trip only when the reserve is empty),
   * and refills in the background when the reserve runs low. */
  async reserve(req) {
    this.dropStale();
    while (this.tokens.length === 0) await this.refill();
    req[RESERVED] = this.tokens.pop();
    if (this.tokens.length < this.reserveSize / 4) this.refill().catch(() => {});
  }

  /** A token set aside but never handed out goes back, with its age: nobody has seen it. */
  release(req) {
    if (req[RESERVED]) {
      this.tokens.push(req[RESERVED]);
      delete req[RESERVED];
    }
  }

  refill() {
    if (!this.refilling) {
      this.refilling = this.pool
        .query('SELECT varel_session.session_new(max_age => interval \'1 hour\') AS token ' +
               'FROM generate_series(1, $1)', [this.reserveSize])
        .then(({ rows }) => {
          const made = Date.now();
          for (const { token } of rows) this.tokens.push({ token, made });
        })
        .finally(() => { this.refilling = null; });
    }
    return this.refilling;
  }

  /** Tokens made more than 30 minutes ago are destroyed: made with a one-hour lifetime, they
   * would not last long once handed out (the first save sets the real one). */
  dropStale() {
    const cutoff = Date.now() - 30 * 60 * 1000;
    const stale = this.tokens.filter((t) => t.made < cutoff);
    if (stale.length === 0) return;
    this.tokens = this.tokens.filter((t) => t.made >= cutoff);
    this.unused.push(...stale.map((t) => t.token));
  }

  /** express-session's genid: the token set aside for the request. */
  takeToken(req) {
    const reserved = req && req[RESERVED];
    if (!reserved) throw new Error('varel_session: no token set aside (use varelSession(), which sets one aside)');
    delete req[RESERVED];
    this.handedOut.add(reserved.token);
    return reserved.token;
  }

  /** After a response, or a connection closed before it: a token whose session the request
   * never stored is destroyed. */
  finished(token) {
    if (!this.handedOut.delete(token)) return;
    this.unused.push(token);
    if (this.unused.length >= this.reserveSize) this.destroyUnused().catch(() => {});
  }

  async destroyUnused() {
    const tokens = this.unused.splice(0);
    if (tokens.length === 0) return;
    try {
      await this.pool.query(
        'SELECT count(*) FILTER (WHERE varel_session.session_destroy(t)) FROM unnest($1::text[]) AS t',
        [tokens]);
    } catch (error) {
      this.unused.push(...tokens); // tried again by the next sweep
      throw error;
    }
  }

  /** At shutdown, before ending the pool: stops the background sweep and destroys every token
   * made in advance and not stored (the reserve, and those handed out). */
  async close() {
    clearInterval(this.sweeper);
    if (this.refilling) await this.refilling.catch(() => {});
    this.unused.push(...this.tokens.splice(0).map((t) => t.token), ...this.handedOut);
    this.handedOut.clear();
    await this.destroyUnused();
  }

  // The express-session Store API.

  get(sid, callback) {
    settle(this.pool
      .query('SELECT data::text AS data FROM varel_session.session_load($1)', [sid])
      .then(({ rows }) => {
        // Unknown, expired, destroyed or malformed: no session; express-session makes a new
        // one with the token set aside for the request.
        if (rows.length === 0) return null;
        const data = JSON.parse(rows[0].data);
        const stored = jsonByKey(data);
        if (!data.cookie) {
          // Stored by an app in another language: the cookie this app would have set.
          const options = this.cookieOptions;
          data.cookie = { ...options, originalMaxAge: options.maxAge ?? null };
        }
        data[STORED] = stored;
        return data;
      }), callback);
  }

  createSession(req, sess) {
    const stored = sess[STORED];
    const created = super.createSession(req, sess);
    req[STORED] = stored;
    return created;
  }

  set(sid, sess, callback) {
    // Stored (or being stored) from now on: not destroyed as unused when the response ends,
    // even if it ends before this write does.
    this.handedOut.delete(sid);
    const data = JSON.parse(JSON.stringify(sess));
    const req = sess.req;
    const stored = req && req[STORED];
    const maxAge = data.cookie && data.cookie.originalMaxAge;
    const storedMaxAge = stored && stored.cookie && JSON.parse(stored.cookie).originalMaxAge;
    // The idle lifetime follows the cookie's; a browser-session cookie gets defaultMaxAge.
    const seconds = maxAge ? maxAge / 1000 : this.defaultMaxAge;
    const newLifetime = !stored || maxAge !== storedMaxAge;
    let write, payload;
    const changed = stored ? changedKeys(stored, data) : null;
    if (!changed || changed.setsNull) {
      // A new session, or a JSON null (which a merge patch reads as "remove"): all the data.
      write = 'varel_session.session_set_data($1, $2::jsonb)';
      payload = data;
    } else {
      write = 'varel_session.session_set($1, $2::jsonb)';
      payload = changed.patch;
    }
    settle(this.pool
      .query(`SELECT ${write} AS written, CASE WHEN $3 THEN ` +
             'varel_session.session_set_max_age($1, make_interval(secs => $4)) IS NOT NULL END AS slid',
             [sid, JSON.stringify(payload), newLifetime, seconds])
      .then(({ rows }) => {
        if (!rows[0].written) {
          // Destroyed, revoked or expired since this request loaded it: never recreated.
          throw ended();
        }
        if (req) req[STORED] = jsonByKey(data);
      }), callback);
  }

  /** Nothing to do: loading the session (`get`) already slid its idle deadline, at most once
   * per fifth of its lifetime, so an unmodified request costs no write. */
  touch(sid, sess, callback) {
    callback(null);
  }

  destroy(sid, callback) {
    this.handedOut.delete(sid);
    settle(this.pool.query('SELECT varel_session.session_destroy($1)', [sid]).then(() => undefined),
      callback || (() => {}));
  }

  /** A new, empty session with a new token (express-session's semantics); the old one ends. */
  regenerate(req, callback) {
    this.destroy(req.sessionID, (error) => {
      if (error) return callback(error);
      settle(this.reserve(req).then(() => {
        delete req[STORED]; // the new session starts empty: its first save writes all of it
        this.generate(req);
      }), callback);
    });
  }

  // What the extension adds.

  /** Adds `by` to the integer under `key` of the request's session, atomically in the
   * database (concurrent requests lose no increments), and resolves to the new value. */
  async incr(req, key, by = 1) {
    const { rows } = await this.pool.query(
      'SELECT varel_session.session_incr($1, $2, $3) AS value', [req.sessionID, key, by]);
    const value = rows[0].value;
    if (value === null) throw ended();
    const number = Number(value); // bigint comes back as a string
    req.session[key] = number;
    if (req[STORED]) req[STORED][key] = canonical(number);
    return number;
  }
}

function ended() {
  const error = new Error('the session ended while the request ran');
  error.code = ENDED;
  return error;
}

/** Calls back once the promise settles, outside its chain (an exception in the callback is
 * not mistaken for a failure of the store, nor does it call back twice). */
function settle(promise, callback) {
  promise.then((value) => process.nextTick(callback, null, value),
    (error) => process.nextTick(callback, error));
}

/** JSON text with object keys sorted: what jsonb stores has its own key order. */
function canonical(value) {
  return JSON.stringify(value, (key, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
    : v));
}

/** Each top-level key's canonical JSON text. */
function jsonByKey(data) {
  const out = {};
  for (const [key, value] of Object.entries(data)) out[key] = canonical(value);
  return out;
}

/** The merge patch from `stored` to `data` (changed keys, and removed ones as null), and
 * whether a key changed to JSON null (which a merge patch cannot say). */
function changedKeys(stored, data) {
  const patch = {};
  let setsNull = false;
  for (const [key, value] of Object.entries(data)) {
    if (stored[key] !== canonical(value)) {
      patch[key] = value;
      setsNull = setsNull || value === null;
    }
  }
  for (const key of Object.keys(stored)) {
    if (!(key in data) && !SESSION_MEMBERS.has(key)) patch[key] = null;
  }
  return { patch, setsNull };
}

/**
 * express-session's middleware with a VarelStore: `session(options)` becomes
 * `varelSession({ pool, ...options })`.
 */
function varelSession(options = {}) {
  const { pool, reserve, defaultMaxAge, ...rest } = options;
  const store = rest.store || new VarelStore({ pool, reserve, defaultMaxAge, cookie: rest.cookie });
  const middleware = session({ ...rest, store, genid: (req) => store.takeToken(req) });
  const handler = (req, res, next) => {
    store.reserve(req).then(() => {
      // 'close' comes after 'finish', and also when the client went away first.
      res.once('close', () => {
        store.release(req);
        if (typeof req.sessionID === 'string') store.finished(req.sessionID);
      });
      try {
        middleware(req, res, next);
      } catch (error) {
        next(error);
      }
    }, next);
  };
  handler.store = store;
  return handler;
}

module.exports = { VarelStore, varelSession, ENDED };
