import { evaluateAccess } from "../admin/access.ts";
import type { Notifier } from "../admin/notifier.ts";
import { effectivePolicy } from "../admin/policy_resolver.ts";
import type { CommandContext, EasRequest, EasResponse } from "../eas/commands/context.ts";
import { parsePing, PING_STATUS } from "../eas/commands/ping.ts";
import { EasHttpError } from "../eas/protocol/errors.ts";
import { COMMON_STATUS } from "../eas/protocol/status.ts";
import { atLeast } from "../eas/protocol/versions.ts";
import { decideGate, type GateReason, policyFingerprint } from "../eas/provisioning/mod.ts";
import type { CommandSpec } from "../eas/registry.ts";
import type { Logger } from "../log/logger.ts";
import { el, textEl } from "../wbxml/mod.ts";

/** The gate's statuses (MS-ASCMD 2.2.2 common status codes). */
const REASON_STATUS: Record<GateReason, number> = {
  "blocked": COMMON_STATUS.DeviceIsBlockedForThisUser,
  "quarantined": COMMON_STATUS.DeviceIsBlockedForThisUser,
  "wipe": COMMON_STATUS.RemoteWipeRequested,
  "not-provisioned": COMMON_STATUS.DeviceNotProvisioned,
  "policy-refresh": COMMON_STATUS.PolicyRefresh,
  "invalid-key": COMMON_STATUS.InvalidPolicyKey,
};

/**
 * Root elements that carry a top-level Status in 14.0+ responses, so the
 * common status goes in-band (MS-ASCMD 2.2.2). Others get HTTP 449.
 */
const IN_BAND: Record<string, readonly [ns: string, root: string]> = {
  FolderSync: ["FolderHierarchy", "FolderSync"],
  FolderCreate: ["FolderHierarchy", "FolderCreate"],
  FolderUpdate: ["FolderHierarchy", "FolderUpdate"],
  FolderDelete: ["FolderHierarchy", "FolderDelete"],
  Sync: ["AirSync", "Sync"],
  GetItemEstimate: ["GetItemEstimate", "GetItemEstimate"],
  ItemOperations: ["ItemOperations", "ItemOperations"],
  SendMail: ["ComposeMail", "SendMail"],
  SmartReply: ["ComposeMail", "SmartReply"],
  SmartForward: ["ComposeMail", "SmartForward"],
  Search: ["Search", "Search"],
  ResolveRecipients: ["ResolveRecipients", "ResolveRecipients"],
};

/** HTTP 449 "Retry after sending a PROVISION command" (MS-ASHTTP 3.2.5.1). */
const RETRY_WITH_PROVISION = 449;

/** What the gate needs besides the request context. */
export interface PolicyGateOptions {
  /** Quarantine notices; without one the notice is recorded as not sent. */
  notifier?: Notifier;
  log?: Logger;
  now?: () => number;
}

/**
 * The `gate` hook of createEasApp: access rules, remote wipe and the policy
 * key, decided by decideGate (MS-ASPROV 3.2.5.1) from a few reads. Clients
 * below 14.0 are refused with HTTP 449 (403 when blocked); 14.0 and later get
 * the common status in the command's own root element. Ping has no such
 * status: a Ping of a provisioned device that must re-provision or wipe is
 * answered "changes in every folder" so the phone's next Sync meets the gate,
 * otherwise 449. Only a change of a device's access state is written.
 */
export function createPolicyGate(options: PolicyGateOptions = {}) {
  return (request: EasRequest, ctx: CommandContext, spec: CommandSpec): Promise<EasResponse | undefined> => {
    const command = request.query.command;
    if (command === "Provision" || !spec.needsProvisioning) return Promise.resolve(undefined);
    const now = options.now?.() ?? Date.now();
    const store = ctx.store;
    const device = ctx.device;
    const management = store.deviceManagement;
    const wipe = management.wipe(ctx.user, device.deviceId);
    const access = evaluateAccess(management.accessRules(), {
      user: ctx.user,
      deviceId: device.deviceId,
      deviceType: device.deviceType,
      model: store.deviceInformation.get(device.id)?.model ?? "",
    });
    recordAccess(ctx, access, now, options);
    const policy = effectivePolicy(store, ctx.user, device.deviceId);
    const record = management.provisioning(device.id);
    const decision = decideGate({
      command,
      needsProvisioning: spec.needsProvisioning,
      policyKey: request.headers.get("X-MS-PolicyKey") ?? undefined,
      access: access.state,
      wipe,
      exempt: policy.values.PolicyExempt === 1,
      allowNonProvisionable: policy.values.AllowNonProvisionableDevices === 1,
      provisioned: record && record.policyKey !== ""
        ? { policyKey: record.policyKey, policy: record.appliedPolicy, issued: record.acknowledged }
        : undefined,
      currentPolicy: policyFingerprint(policy),
      refreshHours: typeof policy.values.DevicePolicyRefreshInterval === "number"
        ? policy.values.DevicePolicyRefreshInterval
        : 0,
      now,
    });
    if (decision.pass) return Promise.resolve(undefined);
    options.log?.info("eas.gate", {
      command,
      user: ctx.user,
      deviceId: device.deviceId,
      reason: decision.reason,
    });
    return Promise.resolve(refusal(decision.reason, command, request, ctx));
  };
}

function refusal(reason: GateReason, command: string, request: EasRequest, ctx: CommandContext): EasResponse {
  const blocked = reason === "blocked" || reason === "quarantined";
  const message = blocked
    ? `Device is ${reason === "blocked" ? "blocked" : "quarantined"}`
    : "Retry after sending a PROVISION command";
  if (!atLeast(ctx.protocolVersion, "14.0")) {
    throw new EasHttpError(blocked ? 403 : RETRY_WITH_PROVISION, message);
  }
  if (command === "Ping") {
    if (!blocked && reason !== "not-provisioned") {
      const parsed = parsePing(request.body);
      const folders = (parsed !== "syntax" ? parsed.folders : undefined) ??
        ctx.push?.hub.recallPing(ctx.user, ctx.device.deviceId)?.folders;
      if (folders && folders.length > 0) {
        return {
          body: el(
            "Ping",
            "Ping",
            textEl("Ping", "Status", PING_STATUS.ChangesFound),
            el(
              "Ping",
              "Folders",
              ...[...new Set(folders.map((f) => f.id))].map((id) => textEl("Ping", "Folder", id)),
            ),
          ),
        };
      }
    }
    throw new EasHttpError(blocked ? 403 : RETRY_WITH_PROVISION, message);
  }
  const root = IN_BAND[command];
  if (!root) throw new EasHttpError(blocked ? 403 : RETRY_WITH_PROVISION, message);
  return { body: el(root[0], root[1], textEl(root[0], "Status", REASON_STATUS[reason])) };
}

/** Writes the device's access state when it changed; a new quarantine notifies user and admin. */
function recordAccess(
  ctx: CommandContext,
  access: { state: "allow" | "block" | "quarantine"; reason: string },
  now: number,
  options: PolicyGateOptions,
): void {
  const management = ctx.store.deviceManagement;
  const stored = management.deviceAccess(ctx.device.id);
  if (stored ? stored.state === access.state : access.state === "allow") return;
  management.setDeviceAccess({
    device: ctx.device.id,
    state: access.state,
    reason: access.reason,
    since: now,
    notice: "",
  });
  if (access.state !== "quarantine") return;
  const { user } = ctx;
  const { deviceId, deviceType } = ctx.device;
  const text = `The device '${deviceId}' (${deviceType}) of '${user}' is quarantined: it cannot sync ` +
    "until an administrator allows it (pushbridge admin access allow --user USER --device DEVICE).\r\n";
  const notifier = options.notifier;
  if (!notifier) {
    management.setAccessNotice(ctx.device.id, "not sent: no notifier configured");
    return;
  }
  notifier.notify(user, `Device quarantined: ${deviceId} of ${user}`, text)
    .then((notice) => management.setAccessNotice(ctx.device.id, notice))
    .catch((error) =>
      options.log?.warn("admin.quarantine_notice_failed", { user, deviceId, error: String(error) })
    );
}
