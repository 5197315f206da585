import { autodiscoverDomains } from "../store/mail_domains.ts";
import {
  domainOf,
  parsePolicyValue,
  type PolicyLayer,
  type ResolvedPolicy,
  resolvePolicy,
  scopeChain,
} from "../eas/provisioning/mod.ts";
import type { Store } from "../store/mod.ts";

/** The box's default mail domain (the first Autodiscover domain), for users named without "@". */
export function defaultDomain(store: Store): string | undefined {
  return autodiscoverDomains(store.settings)[0];
}

/** Parses a stored layer; a value that no longer parses (an older range) is skipped, i.e. inherited. */
export function parseLayer(stored: Record<string, string> | undefined): PolicyLayer {
  const layer: PolicyLayer = {};
  for (const [key, text] of Object.entries(stored ?? {})) {
    try {
      layer[key as keyof PolicyLayer] = parsePolicyValue(key, text);
    } catch {
      // Unknown key or out-of-range value: inherit instead of sending a broken policy.
    }
  }
  return layer;
}

/** The scopes (text forms) that apply to a user's device, widest first. */
export function chainFor(store: Store, user: string, deviceId?: string): string[] {
  return scopeChain(user, deviceId, domainOf(user, defaultDomain(store)));
}

/** The effective policy of a user's device (or of the user when no device is named): one read. */
export function effectivePolicy(store: Store, user: string, deviceId?: string): ResolvedPolicy {
  return resolveChain(store, chainFor(store, user, deviceId));
}

/** Resolves a chain of scopes from the store. */
export function resolveChain(store: Store, chain: readonly string[]): ResolvedPolicy {
  const stored = store.policies.layers(chain);
  return resolvePolicy(chain.map((scope) => ({ scope, values: parseLayer(stored.get(scope)) })));
}
