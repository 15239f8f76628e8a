'use strict';
// Moving a live Express app from connect-pg-simple to varel_session and back, nobody logged out.
// A real app on express-session with connect-pg-simple (its own database, made here, with the
// extension) has logged-in users (Passport's session layout: regenerate, then passport.user)
// with carts. The import runs while the old store serves on and again after the switch; then
// the app uses varelSession({ importedFrom }) and every old cookie must log its user in once,
// with their cart, under a new id. At the end the export writes the sessions back for
// connect-pg-simple, which serves them.

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');
const express = require('express');
const session = require('express-session');
const PgSession = require('connect-pg-simple')(session);
const signature = require('cookie-signature');
const { Pool } = require('pg');
const { varelSession } = require('..');

const adminUrl = process.env.VAREL_EXPRESS_DATABASE_URL;
const url = adminUrl.replace('/varel_adapters?', '/varel_moving_express?');
const OLD_SECRET = 'the old app secret';
let pool;

async function sql(text, params) {
  return (await pool.query(text, params)).rows;
}

/** The app, on the old store or on varel_session. */
async function startApp(middleware) {
  const app = express();
  app.use(middleware);
  app.get('/login', (req, res, next) => req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.passport = { user: Number(req.query.user) };
    req.session.cart = [`item-of-${req.query.user}`];
    res.send('ok');
  }));
  app.get('/me', (req, res) => res.json({ user: req.session.passport?.user ?? null, cart: req.session.cart ?? null }));
  app.get('/add', (req, res) => { req.session.cart = [...(req.session.cart || []), req.query.item]; res.send('ok'); });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('ok'))));
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  return { base: `http://127.0.0.1:${server.address().port}`, stop: () => new Promise((r) => server.close(r)) };
}

/** GET with a cookie; resolves to the JSON body (or text) and the cookie the response set. */
async function get(base, route, cookie) {
  const response = await fetch(base + route, { headers: cookie ? { cookie: `connect.sid=${cookie}` } : {} });
  const set = response.headers.get('set-cookie');
  const text = await response.text();
  assert.equal(response.status, 200, text);
  let body;
  try { body = JSON.parse(text); } catch { body = text; }
  return { body, cookie: set ? decodeURIComponent(set.split(';')[0].split('=').slice(1).join('=')) : null };
}

function cli(...args) {
  return new Promise((resolve, reject) => execFile(process.execPath,
    [path.join(__dirname, '..', 'bin', 'varel-session-express.js'), ...args],
    { env: { ...process.env, DATABASE_URL: url } },
    (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))));
}

const old = {};
const oldStoreOptions = () => ({ pool, createTableIfMissing: true, pruneSessionInterval: false });

test.before(async () => {
  const admin = new Pool({ connectionString: adminUrl, max: 1 });
  await admin.query('DROP DATABASE IF EXISTS varel_moving_express');
  await admin.query('CREATE DATABASE varel_moving_express');
  await admin.end();
  pool = new Pool({ connectionString: url, max: 8 });
  await sql('CREATE EXTENSION varel_session');

  const oldApp = await startApp(session({ store: new PgSession(oldStoreOptions()), secret: OLD_SECRET,
    resave: false, saveUninitialized: false, cookie: { maxAge: 3600 * 1000 } }));
  for (const user of [1, 2, 3, 4, 5]) old[user] = (await get(oldApp.base, `/login?user=${user}`)).cookie;
  old.guest = (await get(oldApp.base, '/add?item=guest-item')).cookie;
  old.firstRun = await cli('import', 'connect-pg-simple');
  // Meanwhile: 2 adds to the cart, 3 logs out, 6 logs in; then the import runs again.
  await get(oldApp.base, '/add?item=after-first-import', old[2]);
  await get(oldApp.base, '/logout', old[3]);
  old[6] = (await get(oldApp.base, '/login?user=6')).cookie;
  old.secondRun = await cli('import', 'connect-pg-simple');
  await oldApp.stop();
});

test.after(async () => { await pool.end(); });

async function withVarelApp(run) {
  const app = await startApp(varelSession({ pool, secret: ['the new secret', OLD_SECRET], resave: false,
    saveUninitialized: false, importedFrom: 'connect-pg-simple', cookie: { maxAge: 3600 * 1000 } }));
  try { await run(app.base); } finally { await app.stop(); }
}

test('the import reports what it did, and stores only hashes of the old ids', async () => {
  assert.equal(old.firstRun.trim(), 'imported 6, ended 0 (gone from the old table)');
  assert.equal(old.secondRun.trim(), 'imported 6, ended 1 (gone from the old table)');
  for (const cookie of Object.values(old).filter((c) => c.startsWith('s:'))) {
    const sid = signature.unsign(cookie.slice(2), OLD_SECRET);
    assert.ok(sid);
    const [{ n }] = await sql(`SELECT count(*)::int AS n FROM varel_session.imported_sessions
      WHERE position(convert_to($1, 'UTF8') IN id_hash) > 0 OR data::text LIKE '%' || $1 || '%'`, [sid]);
    assert.equal(n, 0);
  }
  const [{ users }] = await sql(`SELECT array_agg(user_id ORDER BY user_id) AS users
    FROM varel_session.imported_sessions WHERE ended_at IS NULL AND user_id IS NOT NULL`);
  assert.deepEqual(users.map(Number), [1, 2, 4, 5, 6]);
});

test('every user is still logged in, once, with their cart, under a new id', async () => {
  await withVarelApp(async (base) => {
    const carts = { 1: ['item-of-1'], 2: ['item-of-2', 'after-first-import'], 4: ['item-of-4'], 6: ['item-of-6'] };
    for (const [user, cart] of Object.entries(carts)) {
      const first = await get(base, '/me', old[user]);
      assert.deepEqual(first.body, { user: Number(user), cart });
      assert.match(first.cookie, /^s:[0-9a-f]{64}\./);
      assert.deepEqual((await get(base, '/me', first.cookie)).body, { user: Number(user), cart });
      assert.deepEqual((await get(base, '/me', old[user])).body, { user: null, cart: null });
    }
    assert.deepEqual((await get(base, '/me', old.guest)).body, { user: null, cart: ['guest-item'] });
    // 3 logged out on the old store before the switch, and stays logged out.
    assert.deepEqual((await get(base, '/me', old[3])).body, { user: null, cart: null });
    const [{ n }] = await sql('SELECT count(*)::int AS n FROM varel_session.session_user_sessions(1)');
    assert.equal(n, 1);
  });
});

test('two requests with one old cookie make one session', async () => {
  await withVarelApp(async (base) => {
    const results = await Promise.all([get(base, '/me', old[5]), get(base, '/me', old[5])]);
    assert.deepEqual(results.map((r) => r.body.user).sort(), [5, null]);
    const [{ n }] = await sql('SELECT count(*)::int AS n FROM varel_session.session_user_sessions(5)');
    assert.equal(n, 1);
  });
});

test('a bad cookie is no session and no row', async () => {
  await withVarelApp(async (base) => {
    const [{ before }] = await sql('SELECT count(*)::int AS before FROM varel_session.sessions');
    const forged = `s:${signature.sign('not-an-imported-id', OLD_SECRET)}`;
    for (const cookie of [forged, 's:garbage.signature', 'x'.repeat(3000), `s:${signature.sign('0'.repeat(64), OLD_SECRET)}`]) {
      assert.deepEqual((await get(base, '/me', cookie)).body, { user: null, cart: null });
    }
    const [{ after }] = await sql('SELECT count(*)::int AS after FROM varel_session.sessions');
    assert.equal(after, before);
  });
});

test('the export writes them back, and connect-pg-simple serves them', async () => {
  // The old table as a team leaving would find it: its rows from before the move are dead.
  await sql('DELETE FROM session');
  const [{ live }] = await sql('SELECT count(*)::int AS live FROM varel_session.session_export()');
  assert.equal((await cli('export', 'connect-pg-simple')).trim(), `exported ${live}`);
  const rows = await sql(`SELECT sid FROM session WHERE sess #>> '{passport,user}' = '2'`);
  assert.equal(rows.length, 1);
  const oldApp = await startApp(session({ store: new PgSession(oldStoreOptions()), secret: OLD_SECRET,
    resave: false, saveUninitialized: false }));
  try {
    const cookie = `s:${signature.sign(rows[0].sid, OLD_SECRET)}`;
    assert.deepEqual((await get(oldApp.base, '/me', cookie)).body, { user: 2, cart: ['item-of-2', 'after-first-import'] });
  } finally { await oldApp.stop(); }
});
