import {
  easProvisionDoc,
  POLICY_ACK,
  POLICY_STATUS,
  POLICY_TYPE,
  policyFingerprint,
  PROVISION_STATUS,
  type ResolvedPolicy,
  wapProvisioningXml,
  WIPE_ACK,
  type WipeKind,
} from "../provisioning/mod.ts";
import { atLeast } from "../protocol/versions.ts";
import { EasHttpError } from "../protocol/errors.ts";
import { child, childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { settings } from "./settings.ts";

const NS = "Provision";

/** What Provision needs from the box beyond the store (wired by the composition root). */
export interface ProvisioningHooks {
  /** The policy the device should have now (defaults -> box -> domain -> user -> device). */
  policyFor(user: string, deviceId: string): ResolvedPolicy;
  /** A phone answered its wipe: audit it and send the confirmation email. */
  wipeAnswered(user: string, deviceId: string, kind: WipeKind, succeeded: boolean): void;
  /** Clock (tests). */
  now?(): number;
}

/** A policy key: a random non-zero 32-bit number as text (MS-ASPROV 2.2.2.42 PolicyKey). */
export function newPolicyKey(): string {
  const value = new Uint32Array(1);
  do crypto.getRandomValues(value); while (value[0] === 0);
  return String(value[0]);
}

/**
 * Provision (MS-ASPROV 3.2.5.1): the initial request gets the policy document
 * (EASProvisionDoc for 12.0+, the wap-provisioningdoc text for 2.5) with a
 * temporary key; the acknowledgement gets the final key that later requests
 * carry in X-MS-PolicyKey. A remote wipe pending for the device replaces any
 * policy answer with RemoteWipe (AccountOnlyRemoteWipe for an account-only
 * wipe of a 16.1 client) until the admin cancels it; the phone's answer to
 * the wipe is recorded. DeviceInformation sent along (14.1+) is stored as
 * Settings stores it.
 */
export async function provision(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const hooks = ctx.provisioning;
  const body = request.body;
  if (!body || body.ns !== NS || body.name !== "Provision") return statusOnly(PROVISION_STATUS.ProtocolError);
  if (!hooks) return statusOnly(PROVISION_STATUS.ServerError);
  const now = hooks.now?.() ?? Date.now();
  const user = ctx.user;
  const deviceId = ctx.device.deviceId;
  const management = ctx.store.deviceManagement;

  const infoPart = await deviceInformation(body, request, ctx);
  const head = infoPart ? [infoPart] : [];

  const wipeAnswer = child(body, "RemoteWipe", NS) ?? child(body, "AccountOnlyRemoteWipe", NS);
  const wipe = management.wipe(user, deviceId);
  if (wipeAnswer) {
    if (!wipe) return { body: el(NS, "Provision", ...head, textEl(NS, "Status", PROVISION_STATUS.Success)) };
    const succeeded = childText(wipeAnswer, "Status", NS) === WIPE_ACK.Succeeded;
    management.setWipeState(user, deviceId, succeeded ? "confirmed" : "failed", now);
    hooks.wipeAnswered(user, deviceId, wipe.kind, succeeded);
    return wipeResponse(head, wipe.kind);
  }
  if (wipe) {
    if (wipe.kind === "account" && !atLeast(ctx.protocolVersion, "16.1")) {
      // AccountOnlyRemoteWipe exists from 16.1 only; a full wipe is never sent in its place.
      if (wipe.state !== "not-supported") management.setWipeState(user, deviceId, "not-supported", now);
      return blocked(ctx.protocolVersion, head);
    }
    if (wipe.state === "pending") management.setWipeState(user, deviceId, "sent", now);
    return wipeResponse(head, wipe.kind);
  }

  const policyEl = child(child(body, "Policies", NS), "Policy", NS);
  if (!policyEl) return statusOnly(PROVISION_STATUS.ProtocolError, head);
  const policyType = childText(policyEl, "PolicyType", NS)?.trim();
  if (!policyType) return statusOnly(PROVISION_STATUS.ProtocolError, head);
  if (
    policyType !== POLICY_TYPE.Xml &&
    (policyType !== POLICY_TYPE.Wbxml || !atLeast(ctx.protocolVersion, "12.0"))
  ) {
    return policyAnswer(head, policyType, POLICY_STATUS.UnknownPolicyType);
  }

  const ackKey = childText(policyEl, "PolicyKey", NS)?.trim();
  const ackStatus = childText(policyEl, "Status", NS)?.trim();
  if (ackKey === undefined || ackStatus === undefined) {
    // Step one: the policy with a temporary key.
    const policy = hooks.policyFor(user, deviceId);
    const tempKey = newPolicyKey();
    management.issueTemporaryKey(ctx.device.id, tempKey, policyFingerprint(policy), policyType, now);
    const data = policyType === POLICY_TYPE.Wbxml
      ? el(NS, "Data", easProvisionDoc(policy, ctx.protocolVersion))
      : textEl(NS, "Data", wapProvisioningXml(policy));
    return policyAnswer(head, policyType, POLICY_STATUS.Success, tempKey, data);
  }

  // Step two: the acknowledgement of the temporary key.
  const record = management.provisioning(ctx.device.id);
  if (!record || record.tempKey === "" || record.tempKey !== ackKey) {
    return policyAnswer(head, policyType, POLICY_STATUS.WrongPolicyKey);
  }
  const state = ackStatus === POLICY_ACK.Applied
    ? "applied"
    : ackStatus === POLICY_ACK.Partial
    ? "partial"
    : "not-applied";
  const allowNonProvisionable = hooks.policyFor(user, deviceId).values.AllowNonProvisionableDevices === 1;
  if (state !== "applied" && !allowNonProvisionable) {
    return statusOnly(PROVISION_STATUS.DeviceNotFullyProvisionable, head);
  }
  const finalKey = newPolicyKey();
  management.acknowledge(ctx.device.id, finalKey, state, now);
  return policyAnswer(head, policyType, POLICY_STATUS.Success, finalKey);
}

function statusOnly(status: number, head: WbxmlElement[] = []): EasResponse {
  return { body: el(NS, "Provision", ...head, textEl(NS, "Status", status)) };
}

function wipeResponse(head: WbxmlElement[], kind: WipeKind): EasResponse {
  return {
    body: el(
      NS,
      "Provision",
      ...head,
      textEl(NS, "Status", PROVISION_STATUS.Success),
      el(NS, kind === "account" ? "AccountOnlyRemoteWipe" : "RemoteWipe"),
    ),
  };
}

/** A blocked device: in-band 129 from 14.0 (MS-ASCMD 2.2.2), HTTP 403 before. */
function blocked(version: string, head: WbxmlElement[]): EasResponse {
  if (!atLeast(version, "14.0")) throw new EasHttpError(403, "Device is blocked");
  return statusOnly(PROVISION_STATUS.DeviceIsBlockedForThisUser, head);
}

/** Provision Status 1 with one Policy in schema order: PolicyType, Status, PolicyKey, Data. */
function policyAnswer(
  head: WbxmlElement[],
  policyType: string,
  status: number,
  policyKey?: string,
  data?: WbxmlElement,
): EasResponse {
  const policy = el(
    NS,
    "Policy",
    textEl(NS, "PolicyType", policyType),
    textEl(NS, "Status", status),
    ...(policyKey !== undefined ? [textEl(NS, "PolicyKey", policyKey)] : []),
    ...(data ? [data] : []),
  );
  return {
    body: el(
      NS,
      "Provision",
      ...head,
      textEl(NS, "Status", PROVISION_STATUS.Success),
      el(NS, "Policies", policy),
    ),
  };
}

/**
 * settings:DeviceInformation inside Provision (14.1+, MS-ASPROV Provision request): stored
 * exactly as the Settings command stores it, and answered with its Status.
 */
async function deviceInformation(
  body: WbxmlElement,
  request: EasRequest,
  ctx: CommandContext,
): Promise<WbxmlElement | undefined> {
  const info = child(body, "DeviceInformation", "Settings");
  if (!info) return undefined;
  const answer = await settings({ ...request, body: el("Settings", "Settings", info) }, ctx);
  return child(answer.body, "DeviceInformation", "Settings");
}
