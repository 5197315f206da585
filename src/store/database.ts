import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type Migration, MIGRATIONS } from "./migrations/mod.ts";

/**
 * Why the store cannot take a write now: another process holds the write lock past the busy
 * timeout, the data partition is read-only or full, or the disk failed. None of them means the
 * request was wrong; the phone retries later.
 */
export type StoreFault = "busy" | "read-only" | "full" | "io";

/**
 * SQLite primary result codes (https://sqlite.org/rescode.html) by fault: BUSY 5 and LOCKED 6,
 * READONLY 8, IOERR 10 (a partition remounted read-only under an open file answers EROFS to
 * write(): SQLITE_IOERR_WRITE), FULL 13.
 */
const FAULT_CODES = new Map<number, StoreFault>([[5, "busy"], [6, "busy"], [8, "read-only"], [10, "io"], [
  13,
  "full",
]]);

/** exec() errors carry no errcode, only SQLite's text for the code (sqlite3_errstr). */
const FAULT_MESSAGES: [RegExp, StoreFault][] = [
  [/database is locked|database table is locked/, "busy"],
  [/readonly database/, "read-only"],
  [/disk I\/O error/, "io"],
  [/database or disk is full/, "full"],
];

const FAULT_TEXT: Record<StoreFault, string> = {
  "busy": "Store is locked by another process",
  "read-only": "Data partition is read-only",
  "full": "Data partition is full",
  "io": "Data partition failed to write",
};

/**
 * The store cannot be written now (see StoreFault). The transaction was rolled back, so nothing
 * is half-written; the HTTP layer answers 503 with Retry-After (isStoreUnavailable) and the
 * phone's retry of the same request carries on (MS-ASHTTP 3.1.5.2: 503 is retried later).
 */
export class StoreUnavailableError extends Error {
  constructor(readonly fault: StoreFault, override readonly cause?: unknown) {
    super(`${FAULT_TEXT[fault]}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "StoreUnavailableError";
  }
}

/** The fault of a node:sqlite error, or undefined for anything else (a bad statement, a constraint). */
function faultOf(error: unknown): StoreFault | undefined {
  if (error instanceof StoreUnavailableError) return error.fault;
  const { code, errcode, message } = (error ?? {}) as {
    code?: unknown;
    errcode?: unknown;
    message?: unknown;
  };
  if (code !== "ERR_SQLITE_ERROR") return undefined;
  if (typeof errcode === "number") return FAULT_CODES.get(errcode & 0xff);
  if (typeof message !== "string") return undefined;
  return FAULT_MESSAGES.find(([pattern]) => pattern.test(message))?.[1];
}

/** Whether an error means the store cannot be written now: answered 503 with Retry-After, the transaction rolled back. */
export function isStoreUnavailable(error: unknown): boolean {
  return faultOf(error) !== undefined;
}

/**
 * How long one write waits for another process's write lock (the admin CLI, a backup restore).
 * node:sqlite is synchronous, so SQLite's busy handler sleeps on the event loop: every held Ping
 * and every other request waits with it. The box's own transactions and the CLI's last
 * milliseconds, so a short wait absorbs normal contention and bounds the stall.
 */
export const BUSY_TIMEOUT_MS = 250;

/**
 * The wait while the lock is known to be held by someone else (a write already timed out and no
 * write succeeded since): writes fail at once with StoreUnavailableError instead of stalling the
 * event loop BUSY_TIMEOUT_MS each; the first write that gets the lock ends this state.
 */
export const CONTENDED_BUSY_TIMEOUT_MS = 10;

/** The wait while opening and migrating, before anything is served (stalling harms nobody then). */
const OPEN_BUSY_TIMEOUT_MS = 5000;

/**
 * Prepared statements kept for reuse. Each prepare() allocates a sqlite3_stmt
 * (about 4 KB outside the V8 heap) that is freed only when V8 collects its
 * wrapper, which a small heap does rarely: preparing once per call (one
 * upsert per item of a Sync window) grew the box's RSS with the folder, 87 MB
 * per 20,000 statements. The repositories use a few dozen distinct statements;
 * the bound is for SQL built with a variable number of placeholders.
 */
const STATEMENT_CACHE_SIZE = 256;

/** A value SQLite accepts as a parameter. */
export type SqlValue = SQLInputValue;

/**
 * The SQLite connection of the box (node:sqlite: compiled into the runtime,
 * no FFI library beside the binary). Opened once per process; every other
 * module reaches it through the repositories in this folder.
 */
export class Database {
  readonly #db: DatabaseSync;
  #depth = 0;
  /** A write timed out on another process's lock and none succeeded since (CONTENDED_BUSY_TIMEOUT_MS applies). */
  #contended = false;
  /** Statements by SQL text, least recently used first (STATEMENT_CACHE_SIZE). */
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating when needed) the database at `path` (":memory:" for unit
   * tests), applies flash-friendly settings and pending migrations.
   */
  static open(path: string, migrations: Migration[] = MIGRATIONS): Database {
    const db = new DatabaseSync(path);
    // WAL keeps readers off the writer's back. synchronous=FULL syncs the WAL
    // at every commit: a commit is followed by an answer that hands the phone
    // a new SyncKey (or confirms a ClientId, a sent mail), so it must survive
    // a power cut or a partition that goes read-only before the kernel wrote
    // its pages back. NORMAL (no sync per commit, ~6 ms less per commit on a
    // virtio disk) lost the last commits there and the phone had to resync
    // (tools/reliability/storage_faults.ts, read-only cycles). The WAL is
    // checkpointed at ~1 MB so it stays small on a small data partition.
    db.exec(`PRAGMA busy_timeout = ${OPEN_BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec("PRAGMA wal_autocheckpoint = 256");
    db.exec("PRAGMA journal_size_limit = 4194304");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA temp_store = MEMORY");
    const database = new Database(db);
    database.#migrate(migrations);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return database;
  }

  /** Whether a write recently found the file locked by another process and none has succeeded since. */
  get contended(): boolean {
    return this.#contended;
  }

  /** Runs a statement that changes rows; returns the number changed. */
  run(sql: string, ...params: SqlValue[]): number {
    return this.#write(() => Number(this.#prepare(sql).run(...params).changes));
  }

  /** Runs an INSERT and returns the new rowid. */
  insert(sql: string, ...params: SqlValue[]): number {
    return this.#write(() => Number(this.#prepare(sql).run(...params).lastInsertRowid));
  }

  /** First row of a query, or undefined. */
  get<T>(sql: string, ...params: SqlValue[]): T | undefined {
    return this.#guard(() => this.#prepare(sql).get(...params) as T | undefined);
  }

  /** All rows of a query. */
  all<T>(sql: string, ...params: SqlValue[]): T[] {
    return this.#guard(() => this.#prepare(sql).all(...params) as T[]);
  }

  /** Iterates rows without holding them all in memory. */
  *iterate<T>(sql: string, ...params: SqlValue[]): Generator<T> {
    // A statement of its own: reusing a cached one (run/get/all of the same SQL while this
    // iterates) would reset it and invalidate the iterator.
    const rows = this.#guard(() => this.#db.prepare(sql).iterate(...params));
    try {
      while (true) {
        const next = this.#guard(() => rows.next());
        if (next.done) return;
        yield next.value as T;
      }
    } finally {
      // A caller that stops early must still reset the statement: an unfinished one keeps its
      // read transaction open, which pins the WAL (no checkpoint) on a small partition.
      rows.return?.();
    }
  }

  /** The cached statement of `sql`, prepared on first use (STATEMENT_CACHE_SIZE). */
  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement) this.#statements.delete(sql);
    else statement = this.#db.prepare(sql);
    this.#statements.set(sql, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      this.#statements.delete(this.#statements.keys().next().value!);
    }
    return statement;
  }

  /** Executes several statements (no parameters). */
  exec(sql: string): void {
    this.#guard(() => this.#db.exec(sql));
  }

  /**
   * Runs `fn` in one transaction (nested calls join the outer one): either
   * every change lands or none does, so a crash never leaves state half-written.
   * A locked, read-only or full store throws StoreUnavailableError with
   * everything rolled back.
   */
  transaction<T>(fn: () => T): T {
    if (this.#depth > 0) {
      this.#depth++;
      try {
        return fn();
      } finally {
        this.#depth--;
      }
    }
    this.#write(() => this.#db.exec("BEGIN IMMEDIATE"));
    this.#depth = 1;
    try {
      const result = fn();
      this.#guard(() => this.#db.exec("COMMIT"));
      return result;
    } catch (error) {
      // SQLite rolls back by itself after FULL or IOERR (https://sqlite.org/lang_transaction.html,
      // "Response To Errors Within A Transaction"): a ROLLBACK then fails with "no transaction is
      // active", which must not replace the error that explains what happened.
      if (this.#db.isTransaction) {
        try {
          this.#db.exec("ROLLBACK");
        } catch {
          // The error below is the one to report.
        }
      }
      throw error;
    } finally {
      this.#depth = 0;
    }
  }

  /** Runs a write; a success ends the contended state, a lock held elsewhere starts it. */
  #write<T>(fn: () => T): T {
    const result = this.#guard(fn);
    if (this.#contended && this.#depth === 0) {
      this.#contended = false;
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    return result;
  }

  /** Runs SQLite work; its faults become StoreUnavailableError, anything else passes unchanged. */
  #guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      const fault = faultOf(error);
      if (fault === undefined || error instanceof StoreUnavailableError) throw error;
      if (fault === "busy" && !this.#contended) {
        this.#contended = true;
        this.#db.exec(`PRAGMA busy_timeout = ${CONTENDED_BUSY_TIMEOUT_MS}`);
      }
      throw new StoreUnavailableError(fault, error);
    }
  }

  /** `PRAGMA integrity_check` result ("ok" when the file is sound). */
  integrityCheck(): string {
    const rows = this.all<{ integrity_check: string }>("PRAGMA integrity_check");
    return rows.map((r) => r.integrity_check).join("; ");
  }

  /** The schema version after migrations. */
  get schemaVersion(): number {
    return this.get<{ user_version: number }>("PRAGMA user_version")?.user_version ?? 0;
  }

  /** Closes the connection (checkpointing the WAL). */
  close(): void {
    this.#statements.clear();
    this.#db.close();
  }

  #migrate(migrations: Migration[]): void {
    // Applied migrations are recorded one by one (not as a single version
    // number) so that numbers reserved for features which land later still
    // apply on a data dir that already ran a higher-numbered one.
    this.#db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL) STRICT",
    );
    const applied = new Set(
      (this.#db.prepare("SELECT version FROM schema_migrations").all() as { version: number }[]).map((r) =>
        r.version
      ),
    );
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      this.transaction(() => {
        this.#db.exec(migration.sql);
        this.#db.prepare("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)").run(
          migration.version,
          migration.name,
          Date.now(),
        );
        const highest = Math.max(migration.version, this.schemaVersion);
        this.#db.exec(`PRAGMA user_version = ${highest}`);
      });
    }
  }
}
