'use strict';
// The express-session Store contract (get, set, destroy, touch, regenerate) against a real
// PostgreSQL with the extension (VAREL_EXPRESS_DATABASE_URL), plus what the extension adds.

const test = require('node:test');
const assert = require('node:assert/strict');
const { Pool } = require('pg');
const { VarelStore, ENDED } = require('..');

const pool = new Pool({ connectionString: process.env.VAREL_EXPRESS_DATABASE_URL, max: 8 });
const store = new VarelStore({ pool });

const call = (method, ...args) =>
  new Promise((resolve, reject) => store[method](...args, (err, value) => (err ? reject(err) : resolve(value))));

async function sql(text, params) {
  return (await pool.query(text, params)).rows;
}

/** A stored session, as express-session would make it: a new id (genid), then a save. */
async function newSession(data, maxAge = 60000) {
  const sid = store.generateId();
  const sess = { cookie: { originalMaxAge: maxAge, httpOnly: true, path: '/' }, ...data };
  await call('set', sid, sess);
  return sid;
}

/** A loaded session the way express-session holds it: the object and its request. */
async function load(sid) {
  const data = await call('get', sid);
  if (!data) return null;
  const req = { sessionID: sid, sessionStore: store };
  store.createSession(req, data);
  return req.session;
}

test.after(async () => {
  await store.close();
  await pool.end();
});

test('ids are 64 hex characters from a CSPRNG, and only their hash is stored', async () => {
  const sid = await newSession({ a: 1 });
  assert.match(sid, /^[0-9a-f]{64}$/);
  const [{ count }] = await sql(
    "SELECT count(*)::int AS count FROM varel_session.sessions WHERE encode(token_hash, 'hex') = $1", [sid]);
  assert.equal(count, 0);
  const [{ hashed }] = await sql(
    "SELECT count(*)::int AS hashed FROM varel_session.sessions WHERE token_hash = sha256(decode($1, 'hex'))", [sid]);
  assert.equal(hashed, 1);
  const ids = new Set(Array.from({ length: 1000 }, () => store.generateId()));
  assert.equal(ids.size, 1000);
});

test('a new id is stored by its first save only: nothing is made in advance', async () => {
  const [{ before }] = await sql('SELECT count(*)::int AS before FROM varel_session.sessions');
  const sids = Array.from({ length: 40 }, () => store.generateId());
  const [{ after }] = await sql('SELECT count(*)::int AS after FROM varel_session.sessions');
  assert.equal(after, before);
  for (const sid of sids) assert.equal(await call('get', sid), null);
});

test('get of an unknown, malformed or empty id is no session, and creates nothing', async () => {
  const [{ before }] = await sql('SELECT count(*)::int AS before FROM varel_session.sessions');
  for (const sid of ['0'.repeat(64), 'not-a-token', '', 'z'.repeat(64)]) {
    assert.equal(await call('get', sid), null, sid);
  }
  const [{ after }] = await sql('SELECT count(*)::int AS after FROM varel_session.sessions');
  assert.equal(after, before);
});

test('a session stored by another app gets this app\'s cookie settings', async () => {
  const [{ token }] = await sql(`SELECT varel_session.session_new(data => '{"from": "rust"}') AS token`);
  const own = new VarelStore({ pool, cookie: { maxAge: 120000, secure: true, sameSite: 'strict' } });
  try {
    const data = await new Promise((resolve, reject) => own.get(token, (e, v) => (e ? reject(e) : resolve(v))));
    assert.equal(data.from, 'rust');
    const req = { sessionID: token, sessionStore: own };
    own.createSession(req, data);
    assert.equal(req.session.cookie.secure, true);
    assert.equal(req.session.cookie.sameSite, 'strict');
    assert.equal(req.session.cookie.originalMaxAge, 120000);
  } finally {
    await own.close();
  }
});

test('every method also returns a promise, with or without a callback', async () => {
  const sid = await newSession({ a: 1 });
  const data = await store.get(sid);
  assert.equal(data.a, 1);
  const req = { sessionID: sid, sessionStore: store };
  store.createSession(req, data);
  req.session.b = 2;
  assert.equal(await store.set(sid, req.session), undefined);
  assert.equal((await store.get(sid)).b, 2);
  assert.equal(await store.touch(sid, req.session), undefined);
  // With a callback too: both report the same outcome.
  let called = null;
  const value = await store.get(sid, (err, v) => { called = [err, v]; });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(called, [null, value]);
  // A failure rejects the promise (a save of a session that ended).
  await store.destroy(sid);
  await assert.rejects(store.set(sid, req.session), (err) => err.code === ENDED);
  // Given a callback, a failure nobody awaits is the callback's, not an unhandled rejection.
  const failures = [];
  store.set(sid, req.session, (err) => failures.push(err && err.code));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(failures, [ENDED]);
});

test('set then get round-trips the data and the cookie', async () => {
  const sid = await newSession({ user: 'ana', cart: [1, { b: null }] });
  const data = await call('get', sid);
  assert.equal(data.user, 'ana');
  assert.deepEqual(data.cart, [1, { b: null }]);
  assert.equal(data.cookie.originalMaxAge, 60000);
});

test('the idle lifetime follows the cookie maxAge, and defaultMaxAge for a browser-session cookie', async () => {
  const sid = await newSession({}, 90 * 60 * 1000);
  let [{ left }] = await sql(
    'SELECT extract(epoch FROM expires_at - now())::int AS left FROM varel_session.session_get($1)', [sid]);
  assert.ok(Math.abs(left - 5400) <= 5, `left ${left}`);
  const browser = await newSession({}, null);
  [{ left }] = await sql(
    'SELECT extract(epoch FROM expires_at - now())::int AS left FROM varel_session.session_get($1)', [browser]);
  assert.ok(Math.abs(left - 86400) <= 5, `left ${left}`);
});

test('a save writes only the keys the request changed', async () => {
  const sid = await newSession({ mine: 1, shared: 1 });
  const first = await load(sid);
  const second = await load(sid);
  first.mine = 2;
  second.theirs = 3;
  delete second.shared;
  await call('set', sid, first);
  await call('set', sid, second);
  const data = await call('get', sid);
  assert.equal(data.mine, 2);
  assert.equal(data.theirs, 3);
  assert.ok(!('shared' in data));
});

test('null values are kept', async () => {
  const sid = await newSession({ gone: 1 });
  const sess = await load(sid);
  sess.gone = null;
  await call('set', sid, sess);
  assert.equal((await call('get', sid)).gone, null);
});

test('destroy ends the session', async () => {
  const sid = await newSession({ a: 1 });
  await call('destroy', sid);
  assert.equal(await call('get', sid), null);
});

test('a save never recreates a session destroyed elsewhere', async () => {
  const sid = await newSession({ a: 1 });
  const sess = await load(sid);
  await call('destroy', sid); // a log-out on another device
  sess.a = 2;
  await assert.rejects(call('set', sid, sess), (err) => err.code === ENDED);
  assert.equal(await call('get', sid), null);
});

test('touch succeeds and keeps the session', async () => {
  const sid = await newSession({ a: 1 });
  await call('touch', sid, await load(sid));
  assert.equal((await call('get', sid)).a, 1);
});

test('regenerate ends the old session; the new one is stored whole', async () => {
  const sid = await newSession({ a: 1 });
  const old = await load(sid);
  const req = old.req;
  store.generate = (r) => {
    r.sessionID = store.generateId();
    r.session = { cookie: { originalMaxAge: 60000, path: '/' } };
    Object.defineProperty(r.session, 'req', { value: r }); // as express-session's Session has
  };
  await new Promise((resolve, reject) => store.regenerate(req, (err) => (err ? reject(err) : resolve())));
  assert.notEqual(req.sessionID, sid);
  assert.match(req.sessionID, /^[0-9a-f]{64}$/);
  assert.equal(await call('get', sid), null);
  // Its first save writes all of it, cookie included, not a diff against the old session.
  req.session.b = 2;
  await call('set', req.sessionID, req.session);
  const stored = await call('get', req.sessionID);
  assert.equal(stored.b, 2);
  assert.equal(stored.cookie.originalMaxAge, 60000);
  assert.ok(!('a' in stored));
  delete store.generate;
});

test('incr is atomic: concurrent increments of one session lose nothing', async () => {
  const sid = await newSession({ visits: 0 });
  const requests = await Promise.all(Array.from({ length: 32 }, () => load(sid)));
  const values = await Promise.all(requests.map((s) => store.incr(s.req, 'visits')));
  assert.deepEqual(values.sort((a, b) => a - b), Array.from({ length: 32 }, (_, i) => i + 1));
  // Each request's own save afterwards does not write its stale copy of the counter back.
  await Promise.all(requests.map((s) => { s.note = 'x'; return call('set', sid, s); }));
  assert.equal((await call('get', sid)).visits, 32);
});

test('CSRF tokens are the session\'s, verified by the extension, and change with a regenerate', async () => {
  const sid = await newSession({ a: 1 });
  const other = await newSession({ b: 2 });
  const session = await load(sid);
  const req = session.req;
  const csrf = await store.csrfToken(req);
  assert.match(csrf, /^[0-9a-f]{64}$/);
  const [{ expected }] = await sql('SELECT varel_session.session_csrf_token($1) AS expected', [sid]);
  assert.equal(csrf, expected);
  assert.equal(await store.verifyCsrf(req, csrf), true);
  assert.equal(await store.verifyCsrf((await load(other)).req, csrf), false, 'another session');
  for (const bad of [csrf.slice(0, 63), csrf.toUpperCase(), '', undefined, 42, { csrf }]) {
    assert.equal(await store.verifyCsrf(req, bad), false, String(bad));
  }
  // A regenerate (log-in) gives the session a new id: the old form's token is refused, and
  // the new session, stored for its token, has its own.
  store.generate = (r) => {
    r.sessionID = store.generateId();
    r.session = { cookie: { originalMaxAge: 60000, path: '/' } };
    Object.defineProperty(r.session, 'req', { value: r }); // as express-session's Session has
  };
  try {
    await call('regenerate', req);
  } finally {
    delete store.generate;
  }
  assert.equal(await store.verifyCsrf(req, csrf), false, 'not stored yet');
  const fresh = await store.csrfToken(req);
  assert.notEqual(await call('get', req.sessionID), null, 'stored for its token');
  assert.notEqual(fresh, csrf);
  assert.equal(await store.verifyCsrf(req, csrf), false);
  assert.equal(await store.verifyCsrf(req, fresh), true);
  // A session ended elsewhere has none.
  await call('destroy', req.sessionID);
  await assert.rejects(store.csrfToken(req), (error) => error.code === ENDED);
  assert.equal(await store.verifyCsrf(req, fresh), false);
});

test('with userKey, a new session is created as its user\'s', async () => {
  const own = new VarelStore({ pool, userKey: 'userId' });
  const sid = own.generateId();
  const user = 910000 + Math.floor(Math.random() * 9999);
  await own.set(sid, { cookie: { originalMaxAge: 60000 }, userId: user });
  const [{ n }] = await sql('SELECT count(*)::int AS n FROM varel_session.session_user_sessions($1)', [user]);
  assert.equal(n, 1);
  const [{ ended }] = await sql('SELECT varel_session.session_user_revoke($1)::int AS ended', [user]);
  assert.equal(ended, 1);
  assert.equal(await own.get(sid), null);
});
