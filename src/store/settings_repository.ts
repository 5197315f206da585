import type { Database } from "./database.ts";

/** Key/value settings edited on the setup page (typed and validated by config/). */
export class SettingsRepository {
  constructor(private readonly db: Database) {}

  /** Every stored setting. */
  all(): Record<string, string> {
    const rows = this.db.all<{ key: string; value: string }>("SELECT key, value FROM settings");
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  /** One stored setting. */
  get(key: string): string | undefined {
    return this.db.get<{ value: string }>("SELECT value FROM settings WHERE key = ?", key)?.value;
  }

  /** Stores a setting (no write when the value is unchanged). */
  set(key: string, value: string): void {
    if (this.get(key) === value) return;
    this.db.run(
      "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }

  /** Removes a setting so its default applies again. */
  delete(key: string): void {
    this.db.run("DELETE FROM settings WHERE key = ?", key);
  }
}
