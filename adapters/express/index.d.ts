// Types of varel-session-express: an express-session store on the varel_session PostgreSQL
// extension (index.js says what it does).

import type { RequestHandler, Request } from 'express';
import session = require('express-session');
import type { Pool } from 'pg';

/** The `code` of the error a save fails with when its session ended meanwhile (logged out
 * elsewhere, revoked, expired): the session is never recreated. */
export declare const ENDED: 'VAREL_SESSION_ENDED';

export interface VarelStoreOptions {
  /** The app's node-postgres pool, on a database with the extension. */
  pool: Pool;
  /** The idle lifetime, in seconds, of a session whose cookie has no maxAge (a
   * browser-session cookie). Default 86400. */
  defaultMaxAge?: number;
  /** The app's cookie options, for sessions another app stored. */
  cookie?: session.CookieOptions;
  /** A session key whose integer the extension records as the session's user when the session
   * is created: set it right after `req.session.regenerate()` at log-in. */
  userKey?: string;
  /** The store sessions were imported from ('connect-pg-simple', docs/moving.md): an id of
   * another form than the extension's is looked up there once, and its session continues under
   * a new id. Keep the old app's secret in `secret` so its cookies are read. */
  importedFrom?: string;
}

/** The store. Every Store method takes express-session's callback and also returns a promise of
 * the same outcome. */
export declare class VarelStore extends session.Store {
  constructor(options: VarelStoreOptions);
  readonly pool: Pool;
  /** express-session's genid: 32 bytes from Node's CSPRNG as 64 hex characters. */
  generateId(): string;
  get(sid: string, callback?: (err: any, session?: session.SessionData | null) => void): Promise<session.SessionData | null>;
  set(sid: string, session: session.SessionData, callback?: (err?: any) => void): Promise<void>;
  touch(sid: string, session: session.SessionData, callback?: (err?: any) => void): Promise<void>;
  destroy(sid: string, callback?: (err?: any) => void): Promise<void>;
  regenerate(req: Request, callback?: (err?: any) => void): Promise<void>;
  /** Adds `by` (default 1) to the integer under `key` of the request's session, atomically in
   * the database, and resolves to the new value; rejects with code ENDED when the session
   * ended. */
  incr(req: Request, key: string, by?: number): Promise<number>;
  /** The CSRF token of the request's session (64 hex characters, changes when the session id
   * is regenerated); a session this request made is stored first. Rejects with code ENDED when
   * the session ended. */
  csrfToken(req: Request): Promise<string>;
  /** Whether `candidate` is the CSRF token of the request's session (constant time, in the
   * database); false for a session not stored. */
  verifyCsrf(req: Request, candidate: unknown): Promise<boolean>;
  /** Kept for code written for earlier versions: the store holds nothing to release. */
  close(): Promise<void>;
}

export interface VarelSessionOptions extends Omit<session.SessionOptions, 'store' | 'genid'> {
  /** The app's node-postgres pool (unless `store` is given). */
  pool?: Pool;
  /** A store made beforehand. */
  store?: VarelStore;
  /** See VarelStoreOptions.defaultMaxAge. */
  defaultMaxAge?: number;
  /** See VarelStoreOptions.userKey. */
  userKey?: string;
  /** See VarelStoreOptions.importedFrom. */
  importedFrom?: string;
}

/** express-session's middleware with a VarelStore, which it carries as `.store`. */
export declare function varelSession(options: VarelSessionOptions): RequestHandler & { store: VarelStore };
