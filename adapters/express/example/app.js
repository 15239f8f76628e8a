'use strict';
// The example app of the shared contract (tests/examples/contract.py) on Express: handlers use
// express-session's req.session, stored by the varel_session extension.
//
//   DATABASE_URL=postgresql://postgres@127.0.0.1:54321/varel PORT=3000 adapters/express/example/run

const crypto = require('node:crypto');
const express = require('express');
const { Pool } = require('pg');
const { varelSession, ENDED } = require('..');

const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
const sessions = varelSession({
  pool,
  // Signs the cookie (express-session's own); a fresh one per start in this example.
  secret: crypto.randomBytes(32).toString('hex'),
  resave: false,
  saveUninitialized: false,
  // The session's user, for the extension's per-user functions (a user's sessions, log out
  // everywhere): recorded when the session is created, right after regenerate at log-in.
  userKey: 'userId',
  // Plain HTTP on loopback in this example; behind HTTPS, set cookie.secure.
  cookie: { httpOnly: true, sameSite: 'lax', secure: false },
});
const store = sessions.store;

const app = express();
app.use(express.json());
app.use(sessions);

const unauthorized = (res) => res.status(401).json({ error: 'not logged in' });

app.post('/login', (req, res, next) => {
  const userId = Number(req.body.user_id);
  // A new session, and a new id, at log-in (against session fixation), then the user, which
  // the store records when it creates the session at the end of the request.
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.userId = userId;
    res.json({ user_id: userId });
  });
});

app.get('/me', async (req, res, next) => {
  if (req.session.userId === undefined) return unauthorized(res);
  try {
    // Counted on the server in one update: concurrent requests never lose a visit.
    const visits = await store.incr(req, 'visits');
    res.json({ user_id: req.session.userId, visits });
  } catch (error) {
    if (error.code === ENDED) return unauthorized(res);
    next(error);
  }
});

app.get('/sessions', async (req, res, next) => {
  if (req.session.userId === undefined) return unauthorized(res);
  try {
    const { rows: [{ current }] } = await pool.query(
      'SELECT varel_session.session_handle($1) AS current', [req.sessionID]);
    const { rows } = await pool.query(
      'SELECT handle, extract(epoch FROM created_at)::bigint AS created_at, host(ip) AS ip, ' +
      'user_agent FROM varel_session.session_user_sessions($1)', [req.session.userId]);
    res.json(rows.map((r) => ({ ...r, created_at: Number(r.created_at), current: r.handle === current })));
  } catch (error) {
    next(error);
  }
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.status(204).end()));
});

app.post('/logout-all', async (req, res, next) => {
  if (req.session.userId === undefined) return unauthorized(res);
  try {
    const { rows: [{ ended }] } = await pool.query(
      'SELECT varel_session.session_user_revoke($1) AS ended', [req.session.userId]);
    req.session.destroy(() => res.json({ ended: Number(ended) }));
  } catch (error) {
    next(error);
  }
});

const port = Number(process.env.PORT || 3000);
app.listen(port, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${port}`));
