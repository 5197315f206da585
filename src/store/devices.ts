import { type Database, isStoreUnavailable } from "./database.ts";

/** A device partnership (one phone of one user). */
export interface DeviceRecord {
  id: number;
  user: string;
  deviceId: string;
  deviceType: string;
  userAgent: string;
  protocolVersion: string;
  firstSeen: number;
  lastSeen: number;
}

/** What a request tells about the device. */
export interface DeviceSighting {
  user: string;
  deviceId: string;
  deviceType: string;
  userAgent: string;
  protocolVersion: string;
}

interface DeviceRow {
  id: number;
  user: string;
  device_id: string;
  device_type: string;
  user_agent: string;
  protocol_version: string;
  first_seen: number;
  last_seen: number;
}

/**
 * last_seen is written at most this often per device: the Ping path must stay
 * write-free on flash, and an hour-old "last seen" is precise enough for admins
 * (the live figure is kept in memory by the HTTP layer).
 */
const LAST_SEEN_WRITE_INTERVAL_MS = 15 * 60 * 1000;

/** Device records in SQLite. */
export class DeviceRepository {
  constructor(private readonly db: Database) {}

  /**
   * Records a request from a device. Writes only when the device is new, its
   * metadata changed, or last_seen is stale: a quiet Ping changes nothing.
   */
  sighted(sighting: DeviceSighting, now = Date.now()): DeviceRecord {
    const existing = this.find(sighting.user, sighting.deviceId);
    if (!existing) {
      const id = this.db.insert(
        `INSERT INTO devices (user, device_id, device_type, user_agent, protocol_version, first_seen, last_seen)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        sighting.user,
        sighting.deviceId,
        sighting.deviceType,
        sighting.userAgent,
        sighting.protocolVersion,
        now,
        now,
      );
      return { id, ...sighting, firstSeen: now, lastSeen: now };
    }
    const changed = existing.deviceType !== sighting.deviceType ||
      existing.userAgent !== sighting.userAgent ||
      existing.protocolVersion !== sighting.protocolVersion;
    if (changed || now - existing.lastSeen >= LAST_SEEN_WRITE_INTERVAL_MS) {
      try {
        this.db.run(
          `UPDATE devices SET device_type = ?, user_agent = ?, protocol_version = ?, last_seen = ? WHERE id = ?`,
          sighting.deviceType,
          sighting.userAgent,
          sighting.protocolVersion,
          now,
          existing.id,
        );
      } catch (error) {
        // A locked, read-only or full store must not fail a held Ping or a read that writes
        // nothing else: the refresh is bookkeeping and is tried again on the next request.
        if (!isStoreUnavailable(error)) throw error;
        return existing;
      }
      return { ...existing, ...sighting, lastSeen: now };
    }
    return existing;
  }

  /** The device of a user with this DeviceId. */
  find(user: string, deviceId: string): DeviceRecord | undefined {
    const row = this.db.get<DeviceRow>(
      "SELECT * FROM devices WHERE user = ? AND device_id = ?",
      user,
      deviceId,
    );
    return row && fromRow(row);
  }

  /** A device by its row id. */
  byId(id: number): DeviceRecord | undefined {
    const row = this.db.get<DeviceRow>("SELECT * FROM devices WHERE id = ?", id);
    return row && fromRow(row);
  }

  /** All devices, optionally of one user, newest activity first. */
  list(user?: string): DeviceRecord[] {
    const rows = user === undefined
      ? this.db.all<DeviceRow>("SELECT * FROM devices ORDER BY last_seen DESC")
      : this.db.all<DeviceRow>("SELECT * FROM devices WHERE user = ? ORDER BY last_seen DESC", user);
    return rows.map(fromRow);
  }

  /** Removes a partnership and (by cascade) all its sync state. */
  delete(id: number): boolean {
    return this.db.run("DELETE FROM devices WHERE id = ?", id) > 0;
  }
}

function fromRow(row: DeviceRow): DeviceRecord {
  return {
    id: row.id,
    user: row.user,
    deviceId: row.device_id,
    deviceType: row.device_type,
    userAgent: row.user_agent,
    protocolVersion: row.protocol_version,
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
  };
}
