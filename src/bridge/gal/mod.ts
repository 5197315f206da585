/**
 * The box's Global Address List: an LDAP directory when "gal.ldap.url" is
 * set (see ldap_source.ts for its keys), else a shared CardDAV address book
 * when the setting "gal.carddav.url" names one, else the users seen by the box.
 * Settings are read on each load, so a change on the setup page applies
 * within one cache TTL.
 *
 * @module
 */

import type { Credentials } from "../../backend/types.ts";
import type { GalDirectory, GalEntry } from "../../eas/commands/search.ts";
import type { Store } from "../../store/mod.ts";
import { CachedGalDirectory, type GalCacheOptions } from "./cached_directory.ts";
import { cardDavLoader } from "./carddav.ts";
import { ldapConfigOf, ldapLoader } from "./ldap_source.ts";
import { seenUsersLoader } from "./seen_users.ts";

export { CachedGalDirectory } from "./cached_directory.ts";
export { cardDavLoader, galEntriesOfMultistatus } from "./carddav.ts";
export { seenUsersLoader } from "./seen_users.ts";
export { galEntryOfLdap, LDAP_GAL_SETTINGS, ldapConfigOf, ldapLoader } from "./ldap_source.ts";
export { galEntryOfVcard } from "./vcard.ts";

/** Setting keys of the GAL (store.settings). */
export const GAL_SETTINGS = {
  /** URL of a shared CardDAV address book, read with the requesting user's credentials. */
  carddavUrl: "gal.carddav.url",
} as const;

/**
 * One directory for the box. `credentials` gives the login of the request
 * that triggered a load (a shared book is readable by every user).
 */
export function createGalDirectory(
  store: Store,
  options: {
    defaultDomain: () => string | undefined;
    credentials: () => Credentials | undefined;
    davClient?: Deno.HttpClient;
    /** PEM CAs trusted for ldaps:// and StartTLS (the mailstore's CA); system roots when absent. */
    caCerts?: string[];
    cache?: GalCacheOptions;
  },
): GalDirectory {
  const seen = seenUsersLoader(store.devices, options.defaultDomain);
  const load = async (): Promise<GalEntry[]> => {
    const ldap = ldapConfigOf((key) => store.settings.get(key), options.caCerts);
    if (ldap) return await ldapLoader(ldap)();
    const url = store.settings.get(GAL_SETTINGS.carddavUrl);
    const credentials = options.credentials();
    if (url && credentials) return await cardDavLoader(new URL(url), () => credentials, options.davClient)();
    return await seen();
  };
  return new CachedGalDirectory(load, options.cache);
}
