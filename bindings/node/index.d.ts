// Type declarations for the sessile Node package.
//
// SessileStore is typed as express-session's Store, imported from
// @types/express-session, as connect-redis and connect-mongo do: a
// TypeScript app that uses express-session has those types already. The
// package lists them as an optional peer dependency, so nothing extra is
// installed for JavaScript or fastify users; a TypeScript project with
// neither express-session's types nor `skipLibCheck` sees TS7016/TS2307
// for this import and installs @types/express-session.
import { Store, SessionData as StoredSession } from 'express-session';

export declare const ABI_VERSION: number;
export declare const EXPIRY: { readonly DEFAULT: 0; readonly BROWSER_CLOSE: 1; readonly SECONDS: 2; readonly AT: 3; readonly KEEP: 4 };
export declare const RESULT: Readonly<Record<string, number>>;
/** The longest expiry sessile accepts, in seconds: 400 days (the longest browsers keep a cookie). */
export declare const MAX_AGE_S: number;

/** An error from sessile; `code` is the result name ('TOO_LARGE', 'INVALID_KEY', ...),
 * or LIBRARY_NOT_FOUND / LIBRARY_LOAD_FAILED / ABI_MISMATCH / INVALID_VALUE. */
export declare class SessileError extends Error {
  code: string;
  result?: number;
}

export type SessionData = Record<string, unknown>;
export interface Expiry { kind: number; value: number }
/** seconds (0 = browser close), an absolute Date, null (the default age), or a raw policy. */
export type ExpiryInput = number | Date | null | Expiry;

export interface EngineOptions {
  /** Path to libsessile; else $SESSILE_LIBRARY, else this package's prebuilds/<platform>-<arch>-<libc>/,
   * else (only inside a sessile checkout) the checkout's target/release. */
  library?: string;
  memory?: boolean;
  /** Start a manual clock at this time (ms since the epoch); tests move it with advanceClock. */
  manualClock?: number;
  /** Background sweeper interval; 0 runs none. Default 60000. */
  sweepIntervalMs?: number;
  sweepBudget?: number;
  flushEveryMs?: number;
  cacheCapacity?: number;
  /** zstd compression, fixed when the database is created (unset: follow the database). */
  compression?: boolean;
  maxDataKeyLen?: number;
  maxValueSize?: number;
  maxRecordSize?: number;
  maxKeys?: number;
  cookieName?: string;
  cookieAge?: number;
  cookieDomain?: string;
  cookiePath?: string;
  cookieSecure?: boolean;
  cookieHttpOnly?: boolean;
  cookieSameSite?: number;
  saveEveryRequest?: boolean;
  expireAtBrowserClose?: boolean;
  /** The data key that names a session's owner, or a dotted path into nested objects
   * ('passport.user'); its value, a string or an integer (42 and "42" are one owner),
   * is indexed for sessionsOf / destroyAllFor. Unset: the owner key the database keeps, if any. */
  ownerKey?: string;
}

/** An owner: a string, or an integer (by its decimal digits: 42 and "42" are one owner). */
export type Owner = string | number | bigint;

export interface Loaded { data: SessionData; expiry: Expiry; expiresAt: number }
export interface Listed extends Loaded { key: string }
export interface SaveOptions { expiry?: ExpiryInput; upsert?: boolean; durable?: boolean }

export declare class Engine {
  static open(path: string | null, options?: EngineOptions): Engine;
  readonly library: string;
  close(): void;
  load(key: string): Loaded | null;
  exists(key: string): boolean;
  create(data?: SessionData, options?: { expiry?: ExpiryInput; durable?: boolean }): string;
  save(key: string, data: SessionData, options?: SaveOptions): void;
  saveDelta(key: string, change: { set?: SessionData; remove?: string[]; clear?: boolean }, options?: SaveOptions): void;
  touch(key: string, expiry?: ExpiryInput): boolean;
  delete(key: string): void;
  scan(options?: { after?: string | null; limit?: number }): { sessions: Listed[]; next: string | null };
  sessions(options?: { pageSize?: number }): Generator<Listed>;
  /** The owner's live sessions (`ownerKey`), the one that expires last first. */
  sessionsOf(owner: Owner): Listed[];
  /** Ends the owner's live sessions but the one under `except` (null: all); returns how many ended. */
  endSessionsOf(owner: Owner, except?: string | null): number;
  count(): number;
  deleteAll(): number;
  clearExpired(): number;
  flush(): void;
  now(): number;
  advanceClock(ms: number): void;
  setClock(ms: number): void;
  session(key?: string | null): Session;
  beginRequest(cookieHeader?: string | null): Session;
}

export declare class Session {
  readonly key: string | null;
  readonly size: number;
  readonly modified: boolean;
  readonly accessed: boolean;
  readonly expiry: Expiry;
  readonly expiryAge: number;
  readonly expiryDate: Date;
  get<T = unknown>(name: string, fallback?: T): T;
  set(name: string, value: unknown): void;
  delete(name: string): boolean;
  has(name: string): boolean;
  keys(): string[];
  toObject(): SessionData;
  clear(): void;
  flush(): void;
  cycleKey(): void;
  save(options?: { durable?: boolean }): void;
  deleteStored(): void;
  setExpiry(expiry: ExpiryInput): void;
  endRequest(status?: number): { setCookie: string | null; varyCookie: boolean };
  close(): void;
}

export interface SessileStoreOptions extends EngineOptions {
  /** The database directory (or `memory: true`). */
  path?: string;
  /** A store URL instead of `path`: 'redis://host:port/db' for a Redis server that every process and host shares (also rediss:// for TLS, redis+sentinel://, redis+cluster://). */
  url?: string;
  /** Share an open engine instead of opening one (engine options such as ownerKey then go to Engine.open, not here). */
  engine?: Engine;
  /** Seconds for sessions whose cookie has no expiry, or a function of the session. Default 86400. A cookie maxAge or ttl over 400 days keeps the record 400 days. */
  ttl?: number | ((sess: any) => number);
  /** Flush every save to disk before answering. */
  durable?: boolean;
  /** How many per-id snapshots (for @fastify/session deltas) are kept. Default 10000. */
  snapshotLimit?: number;
  /** Worker threads that run the store's calls off the event loop. Default 4 for a
   * network store (a redis:// url), 0 (calls on the main thread) for sled and memory. */
  threads?: number;
}

/** One of an owner's sessions, as SessileStore#sessionsOf lists it. */
export interface OwnerSession {
  /** The storage key: the session id itself with `genid: store.genid`, else the key the id maps to. */
  sid: string;
  session: StoredSession;
  /** When the stored session expires. */
  expires: Date;
}

/** An express-session Store; @fastify/session accepts it too. */
export declare class SessileStore extends Store {
  constructor(options: SessileStoreOptions);
  readonly engine: Engine;
  /** Seconds (or a function of the session) for sessions whose cookie has no expiry. */
  ttl: number | ((sess: any) => number);
  durable: boolean;
  /** sessile's own id generator, optional: pass as express-session `genid` / @fastify/session `idGenerator` to skip mapping the framework's ids to storage keys. */
  genid: () => string;
  get(sid: string, callback: (err: any, session?: StoredSession | null) => void): void;
  set(sid: string, session: StoredSession, callback?: (err?: any) => void): void;
  destroy(sid: string, callback?: (err?: any) => void): void;
  touch(sid: string, session: StoredSession, callback?: (err?: any) => void): void;
  /** Every live session, each with its `id`. */
  all(callback: (err: any, sessions?: (StoredSession & { id: string })[] | null) => void): void;
  /** Every live session id (not part of the express-session Store interface). */
  ids(callback: (err: any, ids?: string[]) => void): void;
  length(callback: (err: any, length?: number) => void): void;
  /** The storage key of a session id, as all() and sessionsOf list it (null for an id the store refuses): compare it with a listing's `sid` to find the request's own session. */
  storageKey(sid: string): string | null;
  clear(callback?: (err?: any) => void): void;
  /** The owner's live sessions (needs `ownerKey`), the one that expires last first; `sid` is the storage key, as in all(). */
  sessionsOf(owner: Owner, callback: (err: any, sessions?: OwnerSession[]) => void): void;
  /** Ends every live session of the owner but the one whose id is `except` (req.sessionID; null: all); answers how many ended. */
  destroyAllFor(owner: Owner, except: string | null | undefined, callback?: (err: any, ended?: number) => void): void;
  destroyAllFor(owner: Owner, callback?: (err: any, ended?: number) => void): void;
  /** Stops the sweeper and closes the database (when the store opened it). */
  close(): void;
}

export declare function generateKey(options?: { library?: string }): string;
export declare function isValidKey(key: unknown): boolean;
export declare function version(options?: { library?: string }): string;
/** The library files this process would try, in order (README, "Finding the native library"). */
export declare function libraryCandidates(explicit?: string): { file: string; from: string }[];
