/**
 * Daily maintenance of the data partition (run by pushbridge-maintenance.timer
 * as `pushbridge doctor --maintenance`): SQLite integrity check and a settings
 * backup kept on the data partition, the newest few only.
 *
 * @module
 */
import { backup as sqliteBackup, DatabaseSync } from "node:sqlite";
import { Database } from "../store/database.ts";

/** Retention of daily backups, with its reason. */
export const MAINTENANCE_LIMITS = {
  /** A week of daily copies covers a problem noticed after a weekend; each copy is one small database. */
  keepDailyBackups: 7,
} as const;

/** What one maintenance run found and wrote. */
export interface MaintenanceResult {
  /** "ok" or SQLite's integrity_check complaint. */
  integrity: string;
  /** Path of the backup written, undefined when the database was unsound (a corrupt copy helps no one). */
  backup: string | undefined;
  /** Backups removed by the retention rule. */
  removed: string[];
}

/**
 * Checks the database in `dataDir` and, when sound, writes
 * `backups/daily-YYYY-MM-DD.sqlite` with {@link copyDatabase} (a consistent
 * copy while the service keeps running, thanks to WAL).
 */
export async function runMaintenance(dataDir: string, now: Date = new Date()): Promise<MaintenanceResult> {
  const path = `${dataDir}/pushbridge.sqlite`;
  await Deno.stat(path).catch(() => {
    throw new Error(`Database '${path}' does not exist`);
  });
  const dir = `${dataDir}/backups`;
  await Deno.mkdir(dir, { recursive: true });
  const db = Database.open(path);
  let integrity: string;
  let backup: string | undefined;
  try {
    integrity = db.integrityCheck();
    if (integrity === "ok") {
      backup = `${dir}/daily-${now.toISOString().slice(0, 10)}.sqlite`;
    }
  } finally {
    db.close();
  }
  if (backup) await copyDatabase(path, backup);
  const daily: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (/^daily-\d{4}-\d{2}-\d{2}\.sqlite$/.test(entry.name)) daily.push(entry.name);
  }
  daily.sort();
  const removed = daily.slice(0, Math.max(0, daily.length - MAINTENANCE_LIMITS.keepDailyBackups));
  for (const name of removed) await Deno.remove(`${dir}/${name}`);
  return { integrity, backup, removed };
}

/**
 * Copies the SQLite database at `source` to `target` as one consistent
 * snapshot (committed WAL content included) with SQLite's online backup API,
 * written beside the target and renamed into place. Not VACUUM INTO: that
 * attaches the target, and Deno's node:sqlite allows no ATTACH unless the
 * process runs with --allow-all, which the appliance's program does not.
 */
export async function copyDatabase(source: string, target: string): Promise<void> {
  const partial = `${target}.part`;
  await Deno.remove(partial).catch(() => {});
  const db = new DatabaseSync(source, { readOnly: true });
  try {
    await sqliteBackup(db, partial);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  } finally {
    db.close();
  }
  await Deno.rename(partial, target);
}
