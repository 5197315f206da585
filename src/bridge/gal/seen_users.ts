/**
 * The GAL of last resort: the users the box has seen (device partnerships),
 * when neither a CardDAV address book nor an LDAP directory is configured.
 *
 * @module
 */

import type { GalEntry } from "../../eas/commands/search.ts";
import type { DeviceRepository } from "../../store/devices.ts";

/** Loads one entry per distinct user of the devices table; bare logins get `@defaultDomain`. */
export function seenUsersLoader(devices: DeviceRepository, defaultDomain: () => string | undefined) {
  return (): Promise<GalEntry[]> => {
    const domain = defaultDomain();
    const seen = new Map<string, GalEntry>();
    for (const device of devices.list()) {
      const login = device.user;
      const email = login.includes("@") ? login : domain ? `${login}@${domain}` : undefined;
      if (!email || seen.has(email)) continue;
      const local = email.slice(0, email.indexOf("@"));
      seen.set(email, { displayName: local, alias: local, email });
    }
    return Promise.resolve([...seen.values()]);
  };
}
