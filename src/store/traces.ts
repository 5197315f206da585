import type { Database } from "./database.ts";

/** One traced request and its response, already redacted and decoded to XML. */
export interface TraceEntry {
  id: number;
  /** Row id of the device (devices.id). */
  device: number;
  at: number;
  command: string;
  /** The request's query string (DeviceId, DeviceType, ...; never credentials). */
  query: string;
  status: number;
  ms: number;
  request: string;
  response: string;
}

/**
 * Entries kept per device: enough for a support case (a FolderSync, a few
 * Syncs and Pings), small enough for the flash of the box.
 */
const MAX_ENTRIES_PER_DEVICE = 500;

/** Protocol traces of devices that an admin switched tracing on for. */
export class TraceRepository {
  constructor(private readonly db: Database) {}

  /** Devices being traced now, with the end of their tracing (ms since epoch). */
  active(now = Date.now()): Map<number, number> {
    const rows = this.db.all<{ device: number; until: number }>(
      "SELECT device, until FROM trace_devices WHERE until > ?",
      now,
    );
    return new Map(rows.map((r) => [r.device, r.until]));
  }

  /** Traces a device until `until`. */
  start(device: number, until: number): void {
    this.db.run(
      "INSERT INTO trace_devices (device, until) VALUES (?, ?) ON CONFLICT (device) DO UPDATE SET until = excluded.until",
      device,
      until,
    );
  }

  /** Stops tracing a device (its entries stay until cleared). */
  stop(device: number): void {
    this.db.run("DELETE FROM trace_devices WHERE device = ?", device);
  }

  /** Stores one entry, dropping the device's oldest beyond the per-device cap. */
  add(entry: Omit<TraceEntry, "id">): number {
    return this.db.transaction(() => {
      const id = this.db.insert(
        `INSERT INTO trace_entries (device, at, command, query, status, ms, request, response)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        entry.device,
        entry.at,
        entry.command,
        entry.query,
        entry.status,
        entry.ms,
        entry.request,
        entry.response,
      );
      this.db.run(
        `DELETE FROM trace_entries WHERE device = ? AND id <= (
           SELECT id FROM trace_entries WHERE device = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
        entry.device,
        entry.device,
        MAX_ENTRIES_PER_DEVICE,
      );
      return id;
    });
  }

  /** Entries of a device, oldest first. */
  list(device: number, limit = MAX_ENTRIES_PER_DEVICE): TraceEntry[] {
    return this.db.all<TraceEntry>(
      `SELECT * FROM (SELECT id, device, at, command, query, status, ms, request, response
         FROM trace_entries WHERE device = ? ORDER BY id DESC LIMIT ?) ORDER BY id`,
      device,
      limit,
    );
  }

  /** Removes a device's entries; returns how many. */
  clear(device: number): number {
    return this.db.run("DELETE FROM trace_entries WHERE device = ?", device);
  }
}
