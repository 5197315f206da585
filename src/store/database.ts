import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { type Migration, MIGRATIONS } from "./migrations/mod.ts";

/**
 * SQLite result codes (https://sqlite.org/rescode.html) that mean the store cannot be written
 * now, not that the request was wrong: BUSY and LOCKED (another writer, e.g. the admin CLI, held
 * the file past busy_timeout), READONLY (the data partition remounted read-only), IOERR and FULL.
 */
const UNAVAILABLE_CODES = new Set([5, 6, 8, 10, 13]);

/** Whether an error is one of UNAVAILABLE_CODES: answered 503 with Retry-After, and the transaction rolled back. */
export function isStoreUnavailable(error: unknown): boolean {
  const { code, errcode, message } = (error ?? {}) as {
    code?: unknown;
    errcode?: unknown;
    message?: unknown;
  };
  if (code !== "ERR_SQLITE_ERROR") return false;
  if (typeof errcode === "number") return UNAVAILABLE_CODES.has(errcode & 0xff);
  // exec() errors carry no errcode, only SQLite's message for the code (sqlite3_errstr).
  return typeof message === "string" && UNAVAILABLE_MESSAGES.test(message);
}

const UNAVAILABLE_MESSAGES =
  /database is locked|database table is locked|readonly database|disk I\/O error|database or disk is full/;

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

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating when needed) the database at `path` (":memory:" for unit
   * tests), applies flash-friendly settings and pending migrations.
   */
  static open(path: string, migrations: Migration[] = MIGRATIONS): Database {
    const db = new DatabaseSync(path);
    // WAL keeps readers off the writer's back; synchronous=NORMAL in WAL mode
    // is crash-safe (a power cut may lose the last commits, never corrupt) and
    // halves the fsyncs on flash. The WAL is checkpointed at ~1 MB so it
    // stays small on a small data partition.
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA wal_autocheckpoint = 256");
    db.exec("PRAGMA journal_size_limit = 4194304");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA busy_timeout = 5000");
    db.exec("PRAGMA temp_store = MEMORY");
    const database = new Database(db);
    database.#migrate(migrations);
    return database;
  }

  /** Runs a statement that changes rows; returns the number changed. */
  run(sql: string, ...params: SqlValue[]): number {
    return Number(this.#db.prepare(sql).run(...params).changes);
  }

  /** Runs an INSERT and returns the new rowid. */
  insert(sql: string, ...params: SqlValue[]): number {
    return Number(this.#db.prepare(sql).run(...params).lastInsertRowid);
  }

  /** First row of a query, or undefined. */
  get<T>(sql: string, ...params: SqlValue[]): T | undefined {
    return this.#db.prepare(sql).get(...params) as T | undefined;
  }

  /** All rows of a query. */
  all<T>(sql: string, ...params: SqlValue[]): T[] {
    return this.#db.prepare(sql).all(...params) as T[];
  }

  /** Iterates rows without holding them all in memory. */
  *iterate<T>(sql: string, ...params: SqlValue[]): Generator<T> {
    for (const row of this.#db.prepare(sql).iterate(...params)) yield row as T;
  }

  /** Executes several statements (no parameters). */
  exec(sql: string): void {
    this.#db.exec(sql);
  }

  /**
   * Runs `fn` in one transaction (nested calls join the outer one): either
   * every change lands or none does, so a crash never leaves state half-written.
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
    this.#db.exec("BEGIN IMMEDIATE");
    this.#depth = 1;
    try {
      const result = fn();
      this.#db.exec("COMMIT");
      return result;
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    } finally {
      this.#depth = 0;
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
