'use strict';
// Moving sessions between connect-pg-simple and varel_session (docs/moving.md).
//
// importConnectPgSimple copies every live session of connect-pg-simple's table into the
// extension's imported sessions, under a hash of the old id, on the server (one statement per
// batch: the rows never travel to Node). Once the app uses varelSession({ importedFrom:
// 'connect-pg-simple', secret: [..., oldSecret] }), the first request with an old cookie gets
// its session under a new id. It runs against the live database while the old store keeps
// serving, and may run again: a re-run refreshes what changed and ends what the old table no
// longer holds (a log-out there).
//
// exportConnectPgSimple writes every live session back into connect-pg-simple's table, under
// new ids.
//
// Both need the extension owner's rights: run them on a pool that connects as the role that
// created the extension (the application's role gets "permission denied").

const crypto = require('node:crypto');
const { escapeIdentifier } = require('pg');

const STORE = 'connect-pg-simple';

function tableName({ schemaName, tableName = 'session' }) {
  return (schemaName ? `${escapeIdentifier(schemaName)}.` : '') + escapeIdentifier(tableName);
}

/**
 * Imports connect-pg-simple's live sessions.
 * @param {object} options
 * @param {import('pg').Pool} options.pool a pool that connects as the extension's owner
 * @param {string} [options.tableName='session'] connect-pg-simple's tableName
 * @param {string} [options.schemaName] connect-pg-simple's schemaName
 * @param {string[]} [options.userPath=['passport', 'user']] where the session keeps its user's
 *   id (Passport's place); an integer there becomes the session's user
 * @param {Date} [options.acceptUntil] old cookies are accepted until then (default: each
 *   session's own expiry)
 * @returns {Promise<{imported: number, ended: number}>}
 */
async function importConnectPgSimple({ pool, tableName: name, schemaName, userPath = ['passport', 'user'],
  acceptUntil = null, batchSize = 1000 }) {
  const table = tableName({ schemaName, tableName: name });
  const { rows: [{ started }] } = await pool.query('SELECT statement_timestamp() AS started');
  let imported = 0;
  let last = '';
  for (;;) {
    // connect-pg-simple writes expire as to_timestamp(...) into a timestamp without time zone,
    // so it is read back in the same TimeZone. The idle lifetime is the cookie's maxAge.
    const { rows: [batch] } = await pool.query(
      `WITH batch AS (
         SELECT s.sid, s.sess::jsonb AS sess, s.expire::timestamptz AS expire
         FROM ${table} AS s
         WHERE s.sid > $2 AND s.expire > now()
         ORDER BY s.sid LIMIT $5
       )
       SELECT count(*) AS rows, max(b.sid) AS last,
              count(*) FILTER (WHERE varel_session.session_import(
                  $1, b.sid, b.sess, b.expire,
                  CASE WHEN (b.sess #>> $3::text[]) ~ '^-?[0-9]{1,18}$'
                       THEN (b.sess #>> $3::text[])::bigint END,
                  $4, make_interval(secs => (b.sess #>> '{cookie,originalMaxAge}')::float8 / 1000)))
                AS imported
       FROM batch AS b`,
      [STORE, last, userPath, acceptUntil, batchSize]);
    if (Number(batch.rows) === 0) break;
    imported += Number(batch.imported);
    last = batch.last;
  }
  const { rows: [{ ended }] } = await pool.query(
    'SELECT varel_session.session_import_prune($1, $2) AS ended', [STORE, started]);
  return { imported, ended: Number(ended) };
}

/**
 * Writes every live varel_session session into connect-pg-simple's table under a new id (what
 * express-session's default genid makes: 24 random bytes, base64url), data and expiry kept; a
 * session stored without express-session's `cookie` gets one for its lifetime.
 * @returns {Promise<number>} how many
 */
async function exportConnectPgSimple({ pool, tableName: name, schemaName }) {
  const table = tableName({ schemaName, tableName: name });
  const { rows } = await pool.query(
    'SELECT data, expires_at, extract(epoch FROM max_age) * 1000 AS max_age_ms ' +
    'FROM varel_session.session_export()');
  const sids = [];
  const sessions = [];
  const expires = [];
  for (const row of rows) {
    const sess = row.data;
    if (!sess.cookie) {
      sess.cookie = { originalMaxAge: Number(row.max_age_ms), expires: row.expires_at.toISOString(),
        httpOnly: true, path: '/' };
    }
    sids.push(crypto.randomBytes(24).toString('base64url'));
    sessions.push(JSON.stringify(sess));
    expires.push(row.expires_at);
  }
  const { rowCount } = await pool.query(
    `INSERT INTO ${table} (sid, sess, expire)
     SELECT t.sid, t.sess::json, t.expire::timestamp
     FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS t(sid, sess, expire)
     ON CONFLICT DO NOTHING`,
    [sids, sessions, expires]);
  return rowCount;
}

module.exports = { importConnectPgSimple, exportConnectPgSimple, STORE };
