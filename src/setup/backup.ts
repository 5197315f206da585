/**
 * Settings backup and restore: the stored settings as one JSON document,
 * validated on restore with the same rules as start-up, with a diff that a
 * dry run shows before anything changes.
 *
 * @module
 */
import { resolveSettings, SETTING_ENV, type StoredSettingKey } from "../config/settings.ts";

/** Format marker of a backup file. */
export const BACKUP_FORMAT = "pushbridge-settings" as const;
/** Version of the backup format. */
export const BACKUP_VERSION = 1;
/** Settings that are never exported: they belong to this box only. */
const LOCAL_ONLY = new Set(["setup.completed"]);
/** Backups larger than this are not settings files. */
export const MAX_BACKUP_BYTES = 1024 * 1024;

/** A settings backup. */
export interface SettingsBackup {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  softwareVersion: string;
  settings: Record<string, string>;
}

/** One line of a restore diff. */
export interface SettingChange {
  key: string;
  change: "added" | "changed" | "removed";
  before?: string;
  after?: string;
}

/** Makes a backup of stored settings. */
export function createBackup(
  settings: Record<string, string>,
  softwareVersion: string,
  now: Date,
): SettingsBackup {
  const kept = Object.fromEntries(Object.entries(settings).filter(([k]) => !LOCAL_ONLY.has(k)).sort());
  return {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt: now.toISOString(),
    softwareVersion,
    settings: kept,
  };
}

/** Parses and validates a backup file; throws with a clear message when it is not one. */
export function parseBackup(text: string): SettingsBackup {
  if (text.length > MAX_BACKUP_BYTES) {
    throw new RangeError(`Backup of ${text.length} bytes exceeds ${MAX_BACKUP_BYTES}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(`Backup is not JSON: ${(error as Error).message}`);
  }
  const backup = value as Partial<SettingsBackup>;
  if (!backup || typeof backup !== "object" || backup.format !== BACKUP_FORMAT) {
    throw new SyntaxError(`Backup has no format '${BACKUP_FORMAT}': it is not a Pushbridge settings backup`);
  }
  if (backup.version !== BACKUP_VERSION) {
    throw new SyntaxError(`Backup version '${backup.version}' is not supported`);
  }
  if (!backup.settings || typeof backup.settings !== "object" || Array.isArray(backup.settings)) {
    throw new SyntaxError("Backup has no settings object");
  }
  for (const [key, v] of Object.entries(backup.settings)) {
    if (typeof v !== "string") throw new SyntaxError(`Setting '${key}' is not a string`);
    if (!/^[A-Za-z][A-Za-z0-9._-]{0,63}$/.test(key)) {
      throw new SyntaxError(`Setting name '${key}' is not valid`);
    }
  }
  // The same checks as start-up: a restored backup must never stop the box.
  const stored: Partial<Record<StoredSettingKey, string>> = {};
  for (const key of Object.keys(SETTING_ENV) as (keyof typeof SETTING_ENV)[]) {
    const v = backup.settings[key];
    if (v !== undefined && key !== "dataDir" && key !== "adminPassword") stored[key] = v;
  }
  resolveSettings({}, stored);
  return backup as SettingsBackup;
}

/** What restoring `backup` over `current` would change (local-only settings are left alone). */
export function diffSettings(
  current: Record<string, string>,
  incoming: Record<string, string>,
): SettingChange[] {
  const changes: SettingChange[] = [];
  const keys = [...new Set([...Object.keys(current), ...Object.keys(incoming)])].filter((k) =>
    !LOCAL_ONLY.has(k)
  )
    .sort();
  for (const key of keys) {
    const before = current[key];
    const after = incoming[key];
    if (before === after) continue;
    if (before === undefined) changes.push({ key, change: "added", after: after! });
    else if (after === undefined) changes.push({ key, change: "removed", before });
    else changes.push({ key, change: "changed", before, after });
  }
  return changes;
}
