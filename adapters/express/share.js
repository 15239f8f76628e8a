'use strict';
// The Express side of the cross-language test (client/tests/shared_sessions.rs), not part of
// the package:
//   share.js create            makes a session with {"from": "express"} and prints its token
//   share.js read-and-add SID  prints the session's data as JSON, then adds {"express_saw": true}
const { Pool } = require('pg');
const { VarelStore } = require('.');

async function main() {
  const pool = new Pool({ connectionString: process.env.VAREL_EXPRESS_DATABASE_URL });
  const store = new VarelStore({ pool });
  const call = (method, ...args) =>
    new Promise((resolve, reject) => store[method](...args, (err, v) => (err ? reject(err) : resolve(v))));
  try {
    if (process.argv[2] === 'create') {
      const sid = store.generateId();
      await call('set', sid, { cookie: { originalMaxAge: null }, from: 'express' });
      console.log(sid);
    } else {
      const sid = process.argv[3];
      const data = await call('get', sid);
      const req = { sessionID: sid, sessionStore: store };
      store.createSession(req, data);
      const { cookie, ...rest } = JSON.parse(JSON.stringify(req.session));
      console.log(JSON.stringify(Object.fromEntries(Object.entries(rest).sort())));
      req.session.express_saw = true;
      await call('set', sid, req.session);
    }
  } finally {
    await store.close();
    await pool.end();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
