import {
  ALL_POLICY_KEYS,
  isPolicyElement,
  type PolicyElementName,
  type PolicyKeyName,
  type PolicyValue,
  PolicyValueError,
} from "./policy_elements.ts";

/**
 * Where a policy setting is made. Settings inherit downwards:
 * defaults -> box -> mail domain -> user -> device; a lower scope overrides
 * single settings and inherits the rest.
 */
export type PolicyScope =
  | { kind: "box" }
  | { kind: "domain"; domain: string }
  | { kind: "user"; user: string }
  | { kind: "device"; user: string; deviceId: string };

/** The settings one scope makes (only the keys it overrides). */
export type PolicyLayer = Partial<Record<PolicyKeyName, PolicyValue>>;

/** A resolved policy: every key's value and the scope it came from ("defaults" when none set it). */
export interface ResolvedPolicy {
  values: Record<PolicyKeyName, PolicyValue>;
  sources: Record<PolicyKeyName, string>;
}

/** The text form of a scope: "box", "domain:D", "user:U", "device:U/D". */
export function formatScope(scope: PolicyScope): string {
  switch (scope.kind) {
    case "box":
      return "box";
    case "domain":
      return `domain:${scope.domain}`;
    case "user":
      return `user:${scope.user}`;
    case "device":
      return `device:${scope.user}/${scope.deviceId}`;
  }
}

/** Parses a scope's text form; throws PolicyValueError for anything else. */
export function parseScope(text: string): PolicyScope {
  const value = text.trim();
  if (value === "box") return { kind: "box" };
  const colon = value.indexOf(":");
  const kind = colon > 0 ? value.slice(0, colon) : "";
  const rest = colon > 0 ? value.slice(colon + 1) : "";
  if (kind === "domain" && /^[A-Za-z0-9.-]{1,253}$/.test(rest) && rest.includes(".")) {
    return { kind: "domain", domain: rest.toLowerCase() };
  }
  if (kind === "user" && rest !== "" && !/[\s/]/.test(rest)) return { kind: "user", user: rest };
  if (kind === "device") {
    const slash = rest.lastIndexOf("/");
    const user = rest.slice(0, slash);
    const deviceId = rest.slice(slash + 1);
    if (slash > 0 && deviceId !== "" && !/\s/.test(rest)) return { kind: "device", user, deviceId };
  }
  throw new PolicyValueError(
    `Scope '${text}' is not one of box, domain:DOMAIN, user:USER, device:USER/DEVICEID`,
  );
}

/** The scopes that apply to a device, from the widest to the narrowest (text forms). */
export function scopeChain(user: string, deviceId: string | undefined, domain: string | undefined): string[] {
  const chain = ["box"];
  if (domain) chain.push(formatScope({ kind: "domain", domain: domain.toLowerCase() }));
  chain.push(formatScope({ kind: "user", user }));
  if (deviceId !== undefined) chain.push(formatScope({ kind: "device", user, deviceId }));
  return chain;
}

/** The mail domain of a user: the part after "@", else the box's default domain. */
export function domainOf(user: string, defaultDomain: string | undefined): string | undefined {
  const at = user.lastIndexOf("@");
  if (at >= 0 && at < user.length - 1) return user.slice(at + 1).toLowerCase();
  return defaultDomain?.toLowerCase();
}

/**
 * Resolves the policy from layers ordered widest first: each key takes the
 * value of the narrowest layer that sets it, else its neutral default.
 */
export function resolvePolicy(layers: readonly { scope: string; values: PolicyLayer }[]): ResolvedPolicy {
  const values = {} as Record<PolicyKeyName, PolicyValue>;
  const sources = {} as Record<PolicyKeyName, string>;
  for (const key of Object.keys(ALL_POLICY_KEYS) as PolicyKeyName[]) {
    values[key] = ALL_POLICY_KEYS[key].neutral;
    sources[key] = "defaults";
    for (const layer of layers) {
      const value = layer.values[key];
      if (value !== undefined) {
        values[key] = value;
        sources[key] = layer.scope;
      }
    }
  }
  return { values, sources };
}

/** The part of a resolved policy that phones receive, as a stable string (what a device applied). */
export function policyFingerprint(policy: ResolvedPolicy): string {
  const phone: Partial<Record<PolicyElementName, PolicyValue>> = {};
  for (const key of Object.keys(policy.values) as PolicyKeyName[]) {
    if (isPolicyElement(key)) phone[key] = policy.values[key];
  }
  return JSON.stringify(phone);
}

/** Whether the resolved policy asks nothing of the phone (all elements neutral). */
export function isNeutral(policy: ResolvedPolicy): boolean {
  return (Object.keys(policy.values) as PolicyKeyName[]).every((key) =>
    !isPolicyElement(key) ||
    JSON.stringify(policy.values[key]) === JSON.stringify(ALL_POLICY_KEYS[key].neutral)
  );
}
