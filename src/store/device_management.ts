import type { Database } from "./database.ts";

/** The provisioning handshake state of one partnership. */
export interface ProvisioningRecord {
  device: number;
  tempKey: string;
  /** The policy sent with the temporary key (fingerprint). */
  sentPolicy: string;
  policyType: string;
  /** The final key ("" until acknowledged). */
  policyKey: string;
  /** The policy the phone acknowledged (fingerprint). */
  appliedPolicy: string;
  /** "pending", "applied", "partial" or "not-applied". */
  state: string;
  issued: number;
  acknowledged: number;
}

/** A remote wipe of one DeviceId of a user. */
export interface WipeRecord {
  user: string;
  deviceId: string;
  kind: "full" | "account";
  state: "pending" | "sent" | "confirmed" | "failed" | "not-supported";
  requested: number;
  requestedBy: string;
  sent: number;
  answered: number;
  /** What happened to the confirmation email. */
  notice: string;
}

/** An allow / block / quarantine rule. */
export interface AccessRule {
  id: number;
  match: "default" | "user" | "device" | "device-type" | "model";
  user: string;
  value: string;
  action: "allow" | "block" | "quarantine";
  created: number;
  createdBy: string;
}

/** The access state last recorded for a device. */
export interface DeviceAccessRecord {
  device: number;
  state: "allow" | "block" | "quarantine";
  reason: string;
  since: number;
  notice: string;
}

/** A change a running server pushes into held requests. */
export interface DeviceEvent {
  id: number;
  at: number;
  user: string;
  deviceId: string;
  kind: string;
}

const EVENT_RETENTION_MS = 24 * 3_600_000;

/** Provisioning, wipes, access rules and device events in SQLite. */
export class DeviceManagementRepository {
  constructor(private readonly db: Database) {}

  /** The handshake state of a partnership. */
  provisioning(device: number): ProvisioningRecord | undefined {
    return this.db.get<ProvisioningRecord>(
      `SELECT device, temp_key AS tempKey, sent_policy AS sentPolicy, policy_type AS policyType,
         policy_key AS policyKey, applied_policy AS appliedPolicy, state, issued, acknowledged
       FROM device_provisioning WHERE device = ?`,
      device,
    );
  }

  /** Step one: a temporary key and the policy sent with it (the final key stays until acknowledged). */
  issueTemporaryKey(
    device: number,
    tempKey: string,
    sentPolicy: string,
    policyType: string,
    now = Date.now(),
  ): void {
    this.db.run(
      `INSERT INTO device_provisioning (device, temp_key, sent_policy, policy_type, state, issued)
       VALUES (?, ?, ?, ?, 'pending', ?)
       ON CONFLICT (device) DO UPDATE SET temp_key = excluded.temp_key, sent_policy = excluded.sent_policy,
         policy_type = excluded.policy_type, issued = excluded.issued`,
      device,
      tempKey,
      sentPolicy,
      policyType,
      now,
    );
  }

  /** Step two: the phone acknowledged; the final key replaces the temporary one. */
  acknowledge(device: number, policyKey: string, state: string, now = Date.now()): void {
    this.db.run(
      `UPDATE device_provisioning SET policy_key = ?, applied_policy = sent_policy, temp_key = '', state = ?,
         acknowledged = ?, issued = ? WHERE device = ?`,
      policyKey,
      state,
      now,
      now,
      device,
    );
  }

  /** The active wipe of a user's DeviceId. */
  wipe(user: string, deviceId: string): WipeRecord | undefined {
    return this.db.get<WipeRecord>(
      `SELECT user, device_id AS deviceId, kind, state, requested, requested_by AS requestedBy, sent, answered, notice
       FROM device_wipes WHERE user = ? AND device_id = ?`,
      user,
      deviceId,
    );
  }

  /** All active wipes. */
  wipes(): WipeRecord[] {
    return this.db.all<WipeRecord>(
      `SELECT user, device_id AS deviceId, kind, state, requested, requested_by AS requestedBy, sent, answered, notice
       FROM device_wipes ORDER BY requested`,
    );
  }

  /** Requests a wipe (replacing an earlier one of the device, which starts over as pending). */
  requestWipe(user: string, deviceId: string, kind: WipeRecord["kind"], by: string, now = Date.now()): void {
    this.db.run(
      `INSERT INTO device_wipes (user, device_id, kind, state, requested, requested_by)
       VALUES (?, ?, ?, 'pending', ?, ?)
       ON CONFLICT (user, device_id) DO UPDATE SET kind = excluded.kind, state = 'pending',
         requested = excluded.requested, requested_by = excluded.requested_by, sent = 0, answered = 0, notice = ''`,
      user,
      deviceId,
      kind,
      now,
      by,
    );
  }

  /** Moves a wipe to a new state (sent, confirmed, failed, not-supported). */
  setWipeState(user: string, deviceId: string, state: WipeRecord["state"], now = Date.now()): void {
    const column = state === "sent" ? "sent" : "answered";
    this.db.run(
      `UPDATE device_wipes SET state = ?, ${column} = CASE WHEN ${column} = 0 THEN ? ELSE ${column} END
       WHERE user = ? AND device_id = ?`,
      state,
      now,
      user,
      deviceId,
    );
  }

  /** Records what happened to the wipe's confirmation email. */
  setWipeNotice(user: string, deviceId: string, notice: string): void {
    this.db.run(
      "UPDATE device_wipes SET notice = ? WHERE user = ? AND device_id = ?",
      notice,
      user,
      deviceId,
    );
  }

  /** Cancels a wipe; false when there was none. */
  cancelWipe(user: string, deviceId: string): boolean {
    return this.db.run("DELETE FROM device_wipes WHERE user = ? AND device_id = ?", user, deviceId) > 0;
  }

  /** All access rules, oldest first. */
  accessRules(): AccessRule[] {
    return this.db.all<AccessRule>(
      `SELECT id, match, user, value, action, created, created_by AS createdBy FROM access_rules ORDER BY id`,
    );
  }

  /** Adds or replaces the rule for (match, user, value). */
  setAccessRule(rule: Omit<AccessRule, "id" | "created"> & { created?: number }): number {
    return this.db.insert(
      `INSERT INTO access_rules (match, user, value, action, created, created_by) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (match, user, value) DO UPDATE SET action = excluded.action, created = excluded.created,
         created_by = excluded.created_by`,
      rule.match,
      rule.user,
      rule.value,
      rule.action,
      rule.created ?? Date.now(),
      rule.createdBy,
    );
  }

  /** Removes a rule by id; false when there was none. */
  removeAccessRule(id: number): boolean {
    return this.db.run("DELETE FROM access_rules WHERE id = ?", id) > 0;
  }

  /** The access state last recorded for a device. */
  deviceAccess(device: number): DeviceAccessRecord | undefined {
    return this.db.get<DeviceAccessRecord>(
      "SELECT device, state, reason, since, notice FROM device_access WHERE device = ?",
      device,
    );
  }

  /** Records a device's access state (callers write only when it changed). */
  setDeviceAccess(record: DeviceAccessRecord): void {
    this.db.run(
      `INSERT INTO device_access (device, state, reason, since, notice) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (device) DO UPDATE SET state = excluded.state, reason = excluded.reason,
         since = excluded.since, notice = excluded.notice`,
      record.device,
      record.state,
      record.reason,
      record.since,
      record.notice,
    );
  }

  /** Records what happened to a device's quarantine notice. */
  setAccessNotice(device: number, notice: string): void {
    this.db.run("UPDATE device_access SET notice = ? WHERE device = ?", notice, device);
  }

  /** Appends an event for running servers (and prunes old ones); returns its id. */
  addEvent(user: string, deviceId: string, kind: string, now = Date.now()): number {
    return this.db.transaction(() => {
      this.db.run("DELETE FROM device_events WHERE at < ?", now - EVENT_RETENTION_MS);
      return this.db.insert(
        "INSERT INTO device_events (at, user, device_id, kind) VALUES (?, ?, ?, ?)",
        now,
        user,
        deviceId,
        kind,
      );
    });
  }

  /** The newest event id (0 when none): the cheap poll of a running server. */
  lastEventId(): number {
    return this.db.get<{ id: number | null }>("SELECT max(id) AS id FROM device_events")?.id ?? 0;
  }

  /** Events after an id, oldest first. */
  eventsAfter(id: number): DeviceEvent[] {
    return this.db.all<DeviceEvent>(
      "SELECT id, at, user, device_id AS deviceId, kind FROM device_events WHERE id > ? ORDER BY id LIMIT 1000",
      id,
    );
  }
}
