import type { AccessState } from "../eas/provisioning/mod.ts";
import type { AccessRule } from "../store/mod.ts";

/** What access rules can match on. */
export interface AccessSubject {
  user: string;
  deviceId: string;
  deviceType: string;
  /** From Settings DeviceInformation; "" until the phone sent it. */
  model: string;
}

/** The decision and the rule that made it (for the devices list). */
export interface AccessDecision {
  state: AccessState;
  reason: string;
}

const SEVERITY: Record<AccessState, number> = { allow: 0, quarantine: 1, block: 2 };

/**
 * Exchange's order (allow/block/quarantine): a rule for this very device wins,
 * then a rule for the user, then model and device type rules (the strictest
 * of those when several match), then the box default (allow when none).
 */
export function evaluateAccess(rules: readonly AccessRule[], subject: AccessSubject): AccessDecision {
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  const device = rules.find((r) =>
    r.match === "device" && r.user === subject.user && r.value === subject.deviceId
  );
  if (device) return { state: device.action, reason: `device rule #${device.id}` };
  const user = rules.find((r) => r.match === "user" && r.user === subject.user);
  if (user) return { state: user.action, reason: `user rule #${user.id}` };
  const matching = rules.filter((r) =>
    (r.match === "model" && subject.model !== "" && same(r.value, subject.model)) ||
    (r.match === "device-type" && same(r.value, subject.deviceType))
  ).sort((a, b) => SEVERITY[b.action] - SEVERITY[a.action]);
  const first = matching[0];
  if (first) return { state: first.action, reason: `${first.match} rule #${first.id}` };
  const fallback = rules.find((r) => r.match === "default");
  if (fallback) return { state: fallback.action, reason: `default rule #${fallback.id}` };
  return { state: "allow", reason: "default" };
}
