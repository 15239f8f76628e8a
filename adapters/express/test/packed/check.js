'use strict';
// Run from a fresh project that installed the packed tarball (run.sh): the package loads by its
// name, its store round-trips a session through promises, and its middleware serves an app.
const assert = require('node:assert/strict');
const express = require('express');
const { Pool } = require('pg');
const { varelSession, VarelStore, ENDED } = require('varel-session-express');

async function main() {
  const pool = new Pool({ connectionString: process.env.VAREL_EXPRESS_DATABASE_URL, max: 4 });
  try {
    const store = new VarelStore({ pool });
    const sid = store.generateId();
    await store.set(sid, { cookie: { originalMaxAge: 60000 }, n: 1 });
    assert.equal((await store.get(sid)).n, 1);
    await store.destroy(sid);
    assert.equal(await store.get(sid), null);
    assert.equal(ENDED, 'VAREL_SESSION_ENDED');

    const app = express();
    app.use(varelSession({ pool, secret: 'packed', resave: false, saveUninitialized: false }));
    app.get('/count', async (req, res) => {
      req.session.seen = true;
      res.json({ visits: await req.sessionStore.incr(req, 'visits') });
    });
    const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
    try {
      const base = `http://127.0.0.1:${server.address().port}`;
      let response = await fetch(`${base}/count`);
      const cookie = response.headers.get('set-cookie').split(';')[0];
      assert.deepEqual(await response.json(), { visits: 1 });
      response = await fetch(`${base}/count`, { headers: { cookie } });
      assert.deepEqual(await response.json(), { visits: 2 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  } finally {
    await pool.end();
  }
}

main().catch((error) => { console.error(error); process.exit(1); });
