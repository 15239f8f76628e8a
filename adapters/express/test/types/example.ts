// A typed app on the package, checked by `tsc --noEmit` (test/types/tsconfig.json) in
// `make test`: what a TypeScript user writes must type-check against index.d.ts.
import express from 'express';
import { Pool } from 'pg';
import { ENDED, VarelStore, varelSession } from 'varel-session-express';

declare module 'express-session' {
  interface SessionData {
    user?: string;
    visits?: number;
  }
}

const pool = new Pool({ connectionString: process.env.DATABASE_URL });
const sessions = varelSession({ pool, secret: 'x', resave: false, saveUninitialized: false });
const store: VarelStore = sessions.store;

const app = express();
app.use(sessions);

app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = 'ana';
    res.json({ user: req.session.user });
  });
});

app.get('/me', async (req, res) => {
  try {
    const visits: number = await store.incr(req, 'visits');
    res.json({ user: req.session.user ?? null, visits });
  } catch (error) {
    if ((error as { code?: string }).code === ENDED) res.status(401).end();
    else throw error;
  }
});

app.post('/transfer', async (req, res) => {
  const ok: boolean = await store.verifyCsrf(req, req.body?.csrf);
  if (!ok) return res.status(403).end();
  const next: string = await store.csrfToken(req);
  res.json({ csrf: next });
});

async function direct(sid: string): Promise<string | undefined> {
  const data = await store.get(sid);
  if (data) {
    await store.set(sid, data);
    await store.touch(sid, data);
  }
  store.destroy(sid, (err) => { if (err) console.error('destroy failed'); });
  const fresh: string = store.generateId();
  return data?.user ?? fresh;
}

void direct;
