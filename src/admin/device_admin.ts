import {
  ALL_POLICY_KEYS,
  formatPolicyValue,
  formatScope,
  isNeutral,
  isPolicyKey,
  parsePolicyValue,
  parseScope,
  policyFingerprint,
  type PolicyKeyName,
  PolicyValueError,
  type ResolvedPolicy,
  type WipeKind,
} from "../eas/provisioning/mod.ts";
import { atLeast } from "../eas/protocol/versions.ts";
import type { AccessRule, AuditEntry, DeviceRecord, Store, WipeRecord } from "../store/mod.ts";
import { type AccessDecision, evaluateAccess } from "./access.ts";
import { chainFor, effectivePolicy, resolveChain } from "./policy_resolver.ts";

/** An admin request that cannot be done; the message says why, for the CLI and the setup page. */
export class AdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AdminError";
  }
}

/** One row of the devices list. */
export interface DeviceView {
  user: string;
  deviceId: string;
  deviceType: string;
  model: string;
  os: string;
  friendlyName: string;
  imei: string;
  phoneNumber: string;
  userAgent: string;
  protocolVersion: string;
  firstSync: number;
  lastSync: number;
  /** none, pending, applied, partial, not-supported, outdated or exempt. */
  policy: string;
  access: AccessDecision & { notice: string };
  wipe?: Pick<WipeRecord, "kind" | "state" | "requested" | "requestedBy" | "sent" | "answered" | "notice">;
}

/** One key of a policy as shown: value and the scope it comes from. */
export interface PolicyRow {
  key: PolicyKeyName;
  value: string;
  source: string;
  description: string;
}

/** Who acts and how running servers learn of changes. */
export interface DeviceAdminOptions {
  store: Store;
  /** Recorded in the audit log ("cli:alice", "setup:admin"). */
  actor: string;
  /**
   * Called after a change a phone must learn of at once (wipe, policy, access)
   * with the event's id; the server passes its event poller so a held Ping is
   * ended in the same process without waiting for the poll.
   */
  onEvent?: (event: { id: number; user: string; deviceId: string; kind: string }) => void;
  now?: () => number;
}

/** Access actions. */
export type AccessAction = AccessRule["action"];

/**
 * Device, policy, wipe, access and audit operations shared by the admin CLI
 * and the setup page. Every operation is written to the audit log with its
 * result, also when it fails.
 */
export class DeviceAdmin {
  constructor(private readonly options: DeviceAdminOptions) {}

  get #store(): Store {
    return this.options.store;
  }

  #now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Runs an operation and audits it (result "ok" or the error message). */
  #audited<T>(action: string, user: string, deviceId: string, detail: string, work: () => T): T {
    try {
      const result = work();
      this.#store.audit.add({ actor: this.options.actor, user, deviceId, action, result: "ok", detail });
      return result;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.#store.audit.add({
        actor: this.options.actor,
        user,
        deviceId,
        action,
        result: `error: ${message}`,
        detail,
      });
      throw error;
    }
  }

  #event(user: string, deviceId: string, kind: string): void {
    const id = this.#store.deviceManagement.addEvent(user, deviceId, kind, this.#now());
    this.options.onEvent?.({ id, user, deviceId, kind });
  }

  #device(user: string, deviceId: string): DeviceRecord {
    const device = this.#store.devices.find(user, deviceId);
    if (!device) throw new AdminError(`No device '${deviceId}' of user '${user}'`);
    return device;
  }

  /** The devices list (optionally one user's). */
  devices(user?: string): DeviceView[] {
    const rules = this.#store.deviceManagement.accessRules();
    return this.#store.devices.list(user).map((device) => this.#view(device, rules));
  }

  #view(device: DeviceRecord, rules: AccessRule[]): DeviceView {
    const management = this.#store.deviceManagement;
    const info = this.#store.deviceInformation.get(device.id);
    const policy = effectivePolicy(this.#store, device.user, device.deviceId);
    const access = evaluateAccess(rules, {
      user: device.user,
      deviceId: device.deviceId,
      deviceType: device.deviceType,
      model: info?.model ?? "",
    });
    const wipe = management.wipe(device.user, device.deviceId);
    const view: DeviceView = {
      user: device.user,
      deviceId: device.deviceId,
      deviceType: device.deviceType,
      model: info?.model ?? "",
      os: info?.os ?? "",
      friendlyName: info?.friendlyName ?? "",
      imei: info?.imei ?? "",
      phoneNumber: info?.phoneNumber ?? "",
      userAgent: info?.userAgent || device.userAgent,
      protocolVersion: device.protocolVersion,
      firstSync: device.firstSeen,
      lastSync: device.lastSeen,
      policy: policyStatus(management.provisioning(device.id), policy),
      access: { ...access, notice: management.deviceAccess(device.id)?.notice ?? "" },
    };
    if (wipe) {
      const { kind, state, requested, requestedBy, sent, answered, notice } = wipe;
      view.wipe = { kind, state, requested, requestedBy, sent, answered, notice };
    }
    return view;
  }

  /**
   * Requests a remote wipe. It stays active on every later connection of the
   * DeviceId (also after re-pairing) until cancelled. An account-only wipe
   * needs a 16.1 client (MS-ASPROV AccountOnlyRemoteWipe).
   */
  wipe(user: string, deviceId: string, options: { accountOnly?: boolean } = {}): WipeRecord {
    const kind: WipeKind = options.accountOnly ? "account" : "full";
    return this.#audited(kind === "account" ? "wipe-account" : "wipe", user, deviceId, "", () => {
      const device = this.#device(user, deviceId);
      if (kind === "account" && !atLeast(device.protocolVersion, "16.1")) {
        throw new AdminError(
          `Account-only wipe needs protocol 16.1; device '${deviceId}' uses '${device.protocolVersion}'`,
        );
      }
      this.#store.deviceManagement.requestWipe(user, deviceId, kind, this.options.actor, this.#now());
      this.#event(user, deviceId, "wipe");
      return this.#store.deviceManagement.wipe(user, deviceId)!;
    });
  }

  /** Cancels a wipe in any state (a phone that already wiped will simply re-pair). */
  cancelWipe(user: string, deviceId: string): WipeRecord {
    return this.#audited("wipe-cancel", user, deviceId, "", () => {
      const wipe = this.#store.deviceManagement.wipe(user, deviceId);
      if (!wipe) throw new AdminError(`No wipe is active for device '${deviceId}' of user '${user}'`);
      this.#store.deviceManagement.cancelWipe(user, deviceId);
      this.#event(user, deviceId, "wipe-cancel");
      return wipe;
    });
  }

  /** Deletes a partnership with its sync state; the phone re-pairs through a clean full sync. */
  deleteDevice(user: string, deviceId: string): void {
    this.#audited("device-delete", user, deviceId, "", () => {
      const device = this.#device(user, deviceId);
      this.#store.devices.delete(device.id);
      this.#event(user, deviceId, "device-delete");
    });
  }

  /**
   * The policy of a scope as resolved there (inherited values show their
   * source scope). Without a scope: the box's.
   */
  showPolicy(scopeText = "box"): { scope: string; neutral: boolean; rows: PolicyRow[] } {
    const scope = parseScope(scopeText);
    let resolved: ResolvedPolicy;
    if (scope.kind === "box") resolved = resolveChain(this.#store, ["box"]);
    else if (scope.kind === "domain") resolved = resolveChain(this.#store, ["box", formatScope(scope)]);
    else if (scope.kind === "user") resolved = effectivePolicy(this.#store, scope.user);
    else resolved = effectivePolicy(this.#store, scope.user, scope.deviceId);
    const rows = (Object.keys(ALL_POLICY_KEYS) as PolicyKeyName[]).map((key) => ({
      key,
      value: formatPolicyValue(resolved.values[key]),
      source: resolved.sources[key],
      description: ALL_POLICY_KEYS[key].description,
    }));
    return { scope: formatScope(scope), neutral: isNeutral(resolved), rows };
  }

  /** Sets KEY=VALUE pairs at a scope (all checked before any is stored). */
  setPolicy(scopeText: string, assignments: readonly string[]): Record<string, string> {
    return this.#audited(
      "policy-set",
      ...this.#auditTarget(scopeText),
      `${scopeText} ${assignments.join(" ")}`,
      () => {
        const scope = this.#checkedScope(scopeText);
        if (assignments.length === 0) throw new AdminError("Give at least one KEY=VALUE");
        const values: Record<string, string> = {};
        for (const assignment of assignments) {
          const eq = assignment.indexOf("=");
          if (eq <= 0) throw new AdminError(`'${assignment}' is not KEY=VALUE`);
          const key = assignment.slice(0, eq).trim();
          values[key] = formatPolicyValue(parsePolicyValue(key, assignment.slice(eq + 1)));
        }
        this.#store.policies.set(scope, values, this.#now());
        this.#policyChanged(scope);
        return values;
      },
    );
  }

  /** Makes a scope inherit the given keys again (all of them when none are given). */
  inheritPolicy(scopeText: string, keys: readonly string[] = []): number {
    return this.#audited(
      "policy-inherit",
      ...this.#auditTarget(scopeText),
      `${scopeText} ${keys.join(" ")}`,
      () => {
        const scope = formatScope(parseScope(scopeText));
        for (const key of keys) {
          if (!isPolicyKey(key)) throw new PolicyValueError(`Unknown policy setting '${key}'`);
        }
        const removed = this.#store.policies.inherit(scope, keys);
        this.#policyChanged(scope);
        return removed;
      },
    );
  }

  #auditTarget(scopeText: string): [string, string] {
    try {
      const scope = parseScope(scopeText);
      if (scope.kind === "user") return [scope.user, ""];
      if (scope.kind === "device") return [scope.user, scope.deviceId];
    } catch {
      // Audited with the raw text as detail.
    }
    return ["", ""];
  }

  /** Parses a scope; a device scope needs a device that has connected. */
  #checkedScope(scopeText: string): string {
    const scope = parseScope(scopeText);
    if (scope.kind === "device") this.#device(scope.user, scope.deviceId);
    return formatScope(scope);
  }

  /** Ends the held requests of the devices a scope covers, so they meet the gate and re-provision. */
  #policyChanged(scope: string): void {
    const parsed = parseScope(scope);
    if (parsed.kind === "user") return this.#event(parsed.user, "", "policy");
    if (parsed.kind === "device") return this.#event(parsed.user, parsed.deviceId, "policy");
    const users = new Set(this.#store.devices.list().map((d) => d.user));
    for (const user of users) {
      if (parsed.kind === "box" || chainFor(this.#store, user).includes(scope)) {
        this.#event(user, "", "policy");
      }
    }
  }

  /** All access rules. */
  accessRules(): AccessRule[] {
    return this.#store.deviceManagement.accessRules();
  }

  /**
   * Adds (or changes) an access rule: for one device (user + device), a user,
   * a device type, a model, or the box default when no target is given.
   */
  setAccess(
    action: AccessAction,
    target: { user?: string; deviceId?: string; deviceType?: string; model?: string },
  ): AccessRule {
    const detail = Object.entries(target).map(([k, v]) => `${k}=${v}`).join(" ");
    return this.#audited(`access-${action}`, target.user ?? "", target.deviceId ?? "", detail, () => {
      let match: AccessRule["match"];
      let user = "";
      let value = "";
      if (target.deviceId !== undefined) {
        if (!target.user) throw new AdminError("A device rule needs --user as well as --device");
        match = "device";
        user = target.user;
        value = target.deviceId;
      } else if (target.user !== undefined) {
        match = "user";
        user = target.user;
      } else if (target.deviceType !== undefined) {
        match = "device-type";
        value = target.deviceType;
      } else if (target.model !== undefined) {
        match = "model";
        value = target.model;
      } else {
        match = "default";
      }
      if ((match === "device-type" || match === "model") && value.trim() === "") {
        throw new AdminError(`A ${match} rule needs a value`);
      }
      const management = this.#store.deviceManagement;
      management.setAccessRule({
        match,
        user,
        value,
        action,
        createdBy: this.options.actor,
        created: this.#now(),
      });
      this.#event(user, match === "device" ? value : "", "access");
      return management.accessRules().find((r) => r.match === match && r.user === user && r.value === value)!;
    });
  }

  /** Removes an access rule by id. */
  removeAccess(id: number): void {
    this.#audited("access-remove", "", "", `#${id}`, () => {
      if (!this.#store.deviceManagement.removeAccessRule(id)) throw new AdminError(`No access rule #${id}`);
      this.#event("", "", "access");
    });
  }

  /** The audit log, newest first. */
  audit(limit = 200): AuditEntry[] {
    return this.#store.audit.list(limit);
  }
}

/** The policy column of the devices list. */
function policyStatus(
  record: { policyKey: string; appliedPolicy: string; state: string } | undefined,
  policy: ResolvedPolicy,
): string {
  if (policy.values.PolicyExempt === 1) return "exempt";
  if (!record) return "none";
  if (record.policyKey === "") return "pending";
  if (record.appliedPolicy !== policyFingerprint(policy)) return "outdated";
  return record.state === "not-applied" ? "not-supported" : record.state;
}
