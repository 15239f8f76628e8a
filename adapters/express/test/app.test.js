'use strict';
// The store in a running Express app, driven over HTTP by browsers with cookie jars, under
// express-session's settings: resave, saveUninitialized, rolling; req.session.regenerate and
// destroy; a counter under concurrent requests; a second browser; a log-out elsewhere.

const test = require('node:test');
const assert = require('node:assert/strict');
const express = require('express');
const { Pool } = require('pg');
const { varelSession } = require('..');

const pool = new Pool({ connectionString: process.env.VAREL_EXPRESS_DATABASE_URL, max: 16 });

async function sql(text, params) {
  return (await pool.query(text, params)).rows;
}

/** Starts the example app with these express-session options; resolves to its base URL and a
 * function that stops it. */
async function startApp(options) {
  const app = express();
  const middleware = varelSession({ pool, secret: 'tests only', name: 'sid', ...options });
  app.use(middleware);
  app.get('/me', (req, res) => res.json({ user: req.session.user || null, visits: req.session.visits || 0, note: req.session.note || null }));
  app.get('/note', (req, res) => { req.session.note = req.query.text; res.send('ok'); });
  app.get('/count', async (req, res, next) => {
    try {
      res.json({ visits: await middleware.store.incr(req, 'visits') });
    } catch (err) { next(err); }
  });
  app.get('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = req.query.user;
      res.send('ok');
    });
  });
  app.get('/logout', (req, res, next) => req.session.destroy((err) => (err ? next(err) : res.send('ok'))));
  app.get('/sid', (req, res) => res.send(req.sessionID));
  app.get('/save-then-redirect', (req, res) => {
    req.session.user = 'eve';
    req.session.save();
    res.redirect('/me');
  });
  const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    store: middleware.store,
    stop: async () => {
      await new Promise((resolve) => server.close(resolve));
      await middleware.store.close();
    },
  };
}

/** A browser: one cookie, sent back as received. */
class Browser {
  constructor(base) { this.base = base; this.cookie = null; this.setCookies = 0; }
  async get(path) {
    const response = await fetch(this.base + path, { headers: this.cookie ? { cookie: this.cookie } : {} });
    const set = response.headers.get('set-cookie');
    if (set) { this.cookie = set.split(';')[0]; this.setCookies += 1; }
    return { status: response.status, body: await response.text() };
  }
  async json(path) {
    const { status, body } = await this.get(path);
    assert.equal(status, 200, `${path}: ${body}`);
    return JSON.parse(body);
  }
  token() {
    // s:<token>.<signature>, URL-encoded.
    return this.cookie && decodeURIComponent(this.cookie.split('=')[1]).slice(2, 66);
  }
}

test.after(() => pool.end());

test('recommended settings: log in, a counter, a second browser, log out', async () => {
  const app = await startApp({ resave: false, saveUninitialized: false });
  try {
    const alice = new Browser(app.base);
    assert.deepEqual(await alice.json('/me'), { user: null, visits: 0, note: null });
    assert.equal(alice.cookie, null, 'a request that stores nothing sets no cookie');
    await alice.get('/note?text=hello');
    const anonymous = alice.token();
    assert.match(anonymous, /^[0-9a-f]{64}$/);
    await alice.get('/login?user=ana');
    assert.notEqual(alice.token(), anonymous, 'log-in gives a new token');
    assert.equal((await sql('SELECT count(*)::int AS n FROM varel_session.session_get($1)', [anonymous]))[0].n, 0);
    assert.deepEqual(await alice.json('/me'), { user: 'ana', visits: 0, note: null });

    const counts = await Promise.all(Array.from({ length: 64 }, () => alice.json('/count')));
    assert.deepEqual(counts.map((c) => c.visits).sort((a, b) => a - b), Array.from({ length: 64 }, (_, i) => i + 1));
    assert.equal((await alice.json('/me')).visits, 64);

    const bob = new Browser(app.base);
    await bob.get('/login?user=bo');
    assert.equal((await bob.json('/count')).visits, 1);
    assert.equal((await alice.json('/me')).visits, 64);

    await alice.get('/logout');
    assert.deepEqual(await alice.json('/me'), { user: null, visits: 0, note: null });
    assert.equal((await bob.json('/me')).user, 'bo');
  } finally {
    await app.stop();
  }
});

test('cookie-less requests that store nothing leave no session behind', async () => {
  const app = await startApp({ resave: false, saveUninitialized: false });
  try {
    const sids = [];
    const [{ before }] = await sql('SELECT count(*)::int AS before FROM varel_session.sessions');
    for (let i = 0; i < 20; i += 1) sids.push((await new Browser(app.base).get('/sid')).body);
    const [{ after }] = await sql('SELECT count(*)::int AS after FROM varel_session.sessions');
    assert.equal(after, before, 'a request that stored nothing made a row');
    const rows = await sql(
      'SELECT count(*)::int AS n FROM unnest($1::text[]) AS t, varel_session.session_get(t)', [sids]);
    assert.equal(rows[0].n, 0);
    assert.equal(new Set(sids).size, 20, 'no id handed out twice');
  } finally {
    await app.stop();
  }
});

test('a session saved by hand right before the response is kept', async () => {
  const app = await startApp({ resave: false, saveUninitialized: false });
  try {
    const browser = new Browser(app.base);
    const response = await fetch(`${app.base}/save-then-redirect`, { redirect: 'manual' });
    browser.cookie = response.headers.get('set-cookie').split(';')[0];
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await browser.json('/me')).user, 'eve');
  } finally {
    await app.stop();
  }
});

test('many cookie-less requests at once all get their own session', async () => {
  const app = await startApp({ resave: false, saveUninitialized: true });
  try {
    const browsers = Array.from({ length: 30 }, () => new Browser(app.base));
    const statuses = await Promise.all(browsers.map(async (b) => (await b.get('/me')).status));
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(new Set(browsers.map((b) => b.token())).size, 30);
  } finally {
    await app.stop();
  }
});

test('saveUninitialized stores and sends a new session at once', async () => {
  const app = await startApp({ resave: false, saveUninitialized: true });
  try {
    const browser = new Browser(app.base);
    await browser.get('/me');
    assert.ok(browser.cookie);
    const rows = await sql('SELECT count(*)::int AS n FROM varel_session.session_get($1)', [browser.token()]);
    assert.equal(rows[0].n, 1);
  } finally {
    await app.stop();
  }
});

test('rolling sends the cookie on every response; resave saves unmodified sessions', async () => {
  const app = await startApp({ resave: true, saveUninitialized: false, rolling: true, cookie: { maxAge: 3600000 } });
  try {
    const browser = new Browser(app.base);
    await browser.get('/note?text=kept');
    const token = browser.token();
    for (let i = 0; i < 3; i += 1) assert.equal((await browser.json('/me')).note, 'kept');
    assert.equal(browser.setCookies, 4, 'a Set-Cookie on every response');
    assert.equal(browser.token(), token);
    const [{ left }] = await sql(
      'SELECT extract(epoch FROM expires_at - now())::int AS left FROM varel_session.session_get($1)', [token]);
    assert.ok(Math.abs(left - 3600) <= 5, `left ${left}`);
  } finally {
    await app.stop();
  }
});

test('a log-out elsewhere is not undone by the next request', async () => {
  const app = await startApp({ resave: false, saveUninitialized: false });
  try {
    const phone = new Browser(app.base);
    await phone.get('/login?user=cy');
    const token = phone.token();
    await sql('SELECT varel_session.session_destroy($1)', [token]); // "log out everywhere"
    assert.deepEqual(await phone.json('/me'), { user: null, visits: 0, note: null });
    await phone.get('/note?text=later');
    assert.notEqual(phone.token(), token);
    assert.equal((await sql('SELECT count(*)::int AS n FROM varel_session.session_get($1)', [token]))[0].n, 0);
  } finally {
    await app.stop();
  }
});
