import type { Database } from "./database.ts";

/** One audited action (admin or system). */
export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  user: string;
  deviceId: string;
  action: string;
  result: string;
  detail: string;
}

/** The audit log: every admin action with time, actor, target and result. */
export class AuditRepository {
  constructor(private readonly db: Database) {}

  /** Appends an entry. */
  add(entry: Omit<AuditEntry, "id" | "at"> & { at?: number }): void {
    this.db.run(
      "INSERT INTO audit (at, actor, user, device_id, action, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
      entry.at ?? Date.now(),
      entry.actor,
      entry.user,
      entry.deviceId,
      entry.action,
      entry.result,
      entry.detail,
    );
  }

  /** Newest entries first. */
  list(limit = 200): AuditEntry[] {
    return this.db.all<AuditEntry>(
      `SELECT id, at, actor, user, device_id AS deviceId, action, result, detail
       FROM audit ORDER BY id DESC LIMIT ?`,
      limit,
    );
  }
}
