import type { AccessState, WipeKind, WipeState } from "./statuses.ts";

/** What the gate knows about one request (all read without writing). */
export interface GateInput {
  command: string;
  needsProvisioning: boolean;
  /** X-MS-PolicyKey (header or base64 query field); undefined when the client sent none. */
  policyKey: string | undefined;
  access: AccessState;
  wipe: { kind: WipeKind; state: WipeState } | undefined;
  exempt: boolean;
  allowNonProvisionable: boolean;
  /** The device's final key and the policy it acknowledged, when it ever provisioned. */
  provisioned: { policyKey: string; policy: string; issued: number } | undefined;
  /** The policy the device should have now (fingerprint). */
  currentPolicy: string;
  /** DevicePolicyRefreshInterval in hours; 0 = never. */
  refreshHours: number;
  now: number;
}

/** Why a request is refused, mapped to MS-ASCMD 2.2.2 common statuses by the HTTP gate. */
export type GateReason =
  | "blocked"
  | "quarantined"
  | "wipe"
  | "not-provisioned"
  | "policy-refresh"
  | "invalid-key";

/** Pass, or refuse with a reason. */
export type GateDecision = { pass: true } | { pass: false; reason: GateReason };

const PASS: GateDecision = { pass: true };
const deny = (reason: GateReason): GateDecision => ({ pass: false, reason });

/**
 * The enforcement rules (MS-ASPROV 3.2.5.1, MS-ASCMD 3.1.5.1): Provision is
 * always answered (it carries wipes and policies); a pending wipe refuses
 * everything that needs provisioning; blocked and quarantined devices reach
 * only Provision and Settings; then the policy key is checked. A client that
 * sends no key at all is a non-provisionable device, allowed when the policy
 * allows those, and a Ping of a provisioned device may come without one
 * (phones omit it there).
 */
export function decideGate(input: GateInput): GateDecision {
  if (input.command === "Provision") return PASS;
  if (!input.needsProvisioning) return PASS;
  if (input.wipe) return deny(input.wipe.state === "not-supported" ? "blocked" : "wipe");
  if (input.access === "block") return deny("blocked");
  if (input.access === "quarantine") return deny("quarantined");
  if (input.exempt) return PASS;
  const key = input.policyKey?.trim();
  const provisioned = input.provisioned;
  if (key === undefined || key === "") {
    if (input.command === "Ping" && provisioned) return fresh(input, provisioned);
    return input.allowNonProvisionable ? PASS : deny("not-provisioned");
  }
  if (key === "0" || !provisioned) return deny("not-provisioned");
  if (key !== provisioned.policyKey) return deny("invalid-key");
  return fresh(input, provisioned);
}

function fresh(input: GateInput, provisioned: NonNullable<GateInput["provisioned"]>): GateDecision {
  if (provisioned.policy !== input.currentPolicy) return deny("policy-refresh");
  if (input.refreshHours > 0 && input.now - provisioned.issued > input.refreshHours * 3_600_000) {
    return deny("policy-refresh");
  }
  return PASS;
}
