'use strict';
// An express-session store on the varel_session PostgreSQL extension, over node-postgres.
//
//   const { varelSession } = require('varel-session-express');
//   app.use(varelSession({ pool, secret: '...', resave: false, saveUninitialized: false }));
//
// `varelSession(options)` is express-session's `session(options)` with this store. express-session
// decides a new session's id itself, synchronously (its `genid` hook), before the store sees
// it: the id is 32 bytes from Node's CSPRNG as 64 hex characters, the extension's own token
// form, and the first save creates the session under it (`session_adopt`), so the database
// stores only its SHA-256 and nothing is stored for a request that never saves. An id the
// client presents is never adopted: express-session makes a new session, with a new id, when
// the store has none for it.
//
// A save writes only the top-level keys the request changed (a merge patch built on the server
// from the row's newest version), so concurrent requests that change different keys both land;
// a save never recreates a session destroyed elsewhere (it fails with code
// VAREL_SESSION_ENDED); `incr` is an atomic counter.
//
// Every Store method takes express-session's callback and also returns a promise of the same
// outcome (`await store.get(sid)`); index.d.ts declares the package's types.

const crypto = require('node:crypto');
const session = require('express-session');

/** The data as the database last had it, per request: each top-level key's JSON text. */
const STORED = Symbol('varel_session stored data');
/** Names a Session object cannot hold as data (express-session skips them when it loads a
 * session), so a save must not read their absence as "removed". */
const SESSION_MEMBERS = new Set(['id', 'req', 'touch', 'resetMaxAge', 'save', 'reload',
  'destroy', 'regenerate']);

const ENDED = 'VAREL_SESSION_ENDED';
/** The new id of a session claimed from an imported store, between `get` and `createSession`. */
const CLAIMED = Symbol('varel_session claimed id');
/** A session key set only while express-session takes its first hash of a claimed session,
 * so that the request counts as modified: then express-session saves it and sends its new
 * cookie (with saveUninitialized off, it sends one only for a modified session). */
const CLAIM_MARK = '__varel_session_claimed';
/** The extension's own token form: 64 hex characters. */
const OWN_ID = /^[0-9a-fA-F]{64}$/;

class VarelStore extends session.Store {
  /**
   * @param {object} options
   * @param {import('pg').Pool} options.pool the app's node-postgres pool
   * @param {number} [options.defaultMaxAge=86400] the idle lifetime, in seconds, of a session
   *   whose cookie has no maxAge (a browser-session cookie); the server still ends it then
   * @param {object} [options.cookie] the app's cookie options, for sessions another app stored
   * @param {string} [options.userKey] a session key whose integer the extension records as the
   *   session's user (for a user's devices, log-out everywhere, the per-user cap), when the
   *   session is created: set it right after `req.session.regenerate()` at log-in
   * @param {string} [options.importedFrom] the store sessions were imported from
   *   ('connect-pg-simple', docs/moving.md): an id of another form than the extension's is
   *   looked up there once, and its session continues under a new id
   */
  constructor({ pool, defaultMaxAge = 86400, cookie = {}, userKey, importedFrom } = {}) {
    super();
    if (!pool) throw new TypeError('VarelStore needs a node-postgres pool');
    this.pool = pool;
    this.defaultMaxAge = defaultMaxAge;
    this.userKey = userKey;
    this.importedFrom = importedFrom;
    // The app's cookie options, for a session stored without express-session's `cookie`
    // (created by another app on the same database).
    this.cookieOptions = typeof cookie === 'object' && cookie ? cookie : {};
  }

  /** express-session's genid: a new session's id, 32 bytes from Node's CSPRNG as 64 hex
   * characters (the extension's token form), which the first save adopts. */
  generateId() {
    return crypto.randomBytes(32).toString('hex');
  }

  /** Nothing to release: the store keeps no connections or timers of its own (kept so that
   * code written for earlier versions, which kept a reserve of tokens, still runs). */
  async close() {}

  // The express-session Store API.

  get(sid, callback) {
    // An id of the imported store's form is claimed (one statement too); ids of the
    // extension's own form never look at the imported sessions.
    const claim = this.importedFrom && !OWN_ID.test(sid);
    const query = claim
      ? this.pool.query('SELECT id, data::text AS data FROM varel_session.session_claim($1, $2)',
        [this.importedFrom, sid])
      : this.pool.query('SELECT data::text AS data FROM varel_session.session_load($1)', [sid]);
    return settle(query
      .then(({ rows }) => {
        // Unknown, expired, destroyed or malformed: no session; express-session makes a new
        // one with the token set aside for the request.
        if (rows.length === 0) return null;
        const data = JSON.parse(rows[0].data);
        if (claim) data[CLAIMED] = rows[0].id;
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
    const claimed = sess[CLAIMED];
    if (claimed) {
      // The session continues under its new id (the old one is dead already).
      req.sessionID = claimed;
      sess[CLAIM_MARK] = true;
    }
    const created = super.createSession(req, sess);
    if (claimed) delete created[CLAIM_MARK];
    req[STORED] = stored;
    return created;
  }

  set(sid, sess, callback) {
    const data = JSON.parse(JSON.stringify(sess));
    const req = sess.req;
    const stored = req && req[STORED];
    const maxAge = data.cookie && data.cookie.originalMaxAge;
    // The idle lifetime follows the cookie's; a browser-session cookie gets defaultMaxAge.
    const seconds = maxAge ? maxAge / 1000 : this.defaultMaxAge;
    if (!stored) {
      // A session this request made (express-session's genid, or a regenerate): created under
      // its id. It never names a stored session (a presented id that names none gets a new
      // session), so false means an id taken already: refused, never merged into another's.
      const user = this.userKey === undefined ? undefined : data[this.userKey];
      const userId = Number.isSafeInteger(user) ? user : null;
      return settle(this.pool
        .query('SELECT varel_session.session_adopt($1, max_age => make_interval(secs => $2), ' +
               'user_id => $4, data => $3::jsonb) AS adopted',
               [sid, seconds, JSON.stringify(data), userId])
        .then(({ rows }) => {
          if (!rows[0].adopted) throw new Error('varel_session: a new session\'s id is taken');
          if (req) req[STORED] = jsonByKey(data);
        }), callback);
    }
    const storedMaxAge = stored.cookie && JSON.parse(stored.cookie).originalMaxAge;
    const newLifetime = maxAge !== storedMaxAge;
    let write, payload;
    const changed = changedKeys(stored, data);
    if (changed.setsNull) {
      // A JSON null (which a merge patch reads as "remove"): all the data.
      write = 'varel_session.session_set_data($1, $2::jsonb)';
      payload = data;
    } else {
      write = 'varel_session.session_set($1, $2::jsonb)';
      payload = changed.patch;
    }
    return settle(this.pool
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
    return settle(Promise.resolve(), callback);
  }

  destroy(sid, callback) {
    return settle(this.pool.query('SELECT varel_session.session_destroy($1)', [sid])
      .then(() => undefined), callback);
  }

  /** A new, empty session with a new token (express-session's semantics); the old one ends. */
  regenerate(req, callback) {
    return settle(this.destroy(req.sessionID).then(() => {
      delete req[STORED]; // the new session starts empty, and is created under its new id
      this.generate(req);
    }), callback);
  }

  // What the extension adds.

  /** Adds `by` to the integer under `key` of the request's session, atomically in the
   * database (concurrent requests lose no increments), and resolves to the new value; a session
   * this request made is stored first. */
  async incr(req, key, by = 1) {
    // A session this request made is stored first (under its id), as the counter needs a row.
    if (!req[STORED]) await this.set(req.sessionID, req.session);
    const { rows } = await this.pool.query(
      'SELECT varel_session.session_incr($1, $2, $3) AS value', [req.sessionID, key, by]);
    const value = rows[0].value;
    if (value === null) throw ended();
    const number = Number(value); // bigint comes back as a string
    req.session[key] = number;
    if (req[STORED]) req[STORED][key] = canonical(number);
    return number;
  }

  /** The CSRF token of the request's session (the extension's `session_csrf_token`), for the
   * page's forms: derived from the session's id, so it changes with `req.session.regenerate()`
   * (log-in) and nothing is stored. A session this request made is stored first, as the token
   * is bound to a stored session. Rejects with code ENDED when the session ended. */
  async csrfToken(req) {
    if (!req[STORED]) await this.set(req.sessionID, req.session);
    const { rows } = await this.pool.query(
      'SELECT varel_session.session_csrf_token($1) AS csrf', [req.sessionID]);
    if (rows[0].csrf === null) throw ended();
    return rows[0].csrf;
  }

  /** Whether `candidate` (what a form or header sent) is the CSRF token of the request's
   * session, compared in constant time by the extension (`session_csrf_verify`); false for a
   * session not stored, or a candidate that is not a string. */
  async verifyCsrf(req, candidate) {
    if (!req[STORED] || typeof candidate !== 'string') return false;
    const { rows } = await this.pool.query(
      'SELECT varel_session.session_csrf_verify($1, $2) AS ok', [req.sessionID, candidate]);
    return rows[0].ok === true;
  }
}

function ended() {
  const error = new Error('the session ended while the request ran');
  error.code = ENDED;
  return error;
}

/** Calls back (if given a callback) once the promise settles, outside its chain (an exception
 * in the callback is not mistaken for a failure of the store, nor does it call back twice),
 * and returns the promise. With a callback, a failure is the callback's to handle: the promise
 * still rejects for whoever awaits it, but is not an unhandled rejection if nobody does. */
function settle(promise, callback) {
  if (typeof callback === 'function') {
    promise.then((value) => process.nextTick(callback, null, value),
      (error) => process.nextTick(callback, error));
  }
  return promise;
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
 * `varelSession({ pool, ...options })`. The middleware has the store as `.store`.
 */
function varelSession(options = {}) {
  const { pool, defaultMaxAge, userKey, importedFrom, ...rest } = options;
  const store = rest.store ||
    new VarelStore({ pool, defaultMaxAge, userKey, importedFrom, cookie: rest.cookie });
  const middleware = session({ ...rest, store, genid: () => store.generateId() });
  middleware.store = store;
  return middleware;
}

module.exports = { VarelStore, varelSession, ENDED };
