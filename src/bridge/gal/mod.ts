/**
 * The box's Global Address List: an LDAP directory when "gal.ldap.url" is
 * set (see ldap_source.ts for its keys), else a shared CardDAV address book
 * when the setting "gal.carddav.url" names one, else the users seen by the box.
 * Settings are read on each load, so a change on the setup page applies
 * within one cache TTL (plus the one request that starts the reload).
 *
 * The CardDAV book is read with the service account of "gal.carddav.user"
 * and "gal.carddav.password" (or PUSHBRIDGE_CARDDAV_GAL_PASSWORD), and then
 * one cached copy serves every user. Without a service account each user's
 * requests read the book with that user's own credentials into a cache of
 * their own, so nobody sees what only another user's login may read.
 *
 * @module
 */

import type { Credentials } from "../../backend/types.ts";
import type { GalDirectory, GalEntry } from "../../eas/commands/search.ts";
import type { Store } from "../../store/mod.ts";
import { CachedGalDirectory, type GalCacheOptions } from "./cached_directory.ts";
import { cardDavLoader } from "./carddav.ts";
import { LDAP_GAL_SETTINGS, ldapConfigOf, ldapLoader } from "./ldap_source.ts";
import { seenUsersLoader } from "./seen_users.ts";

export { CachedGalDirectory } from "./cached_directory.ts";
export { cardDavLoader, galEntriesOfMultistatus } from "./carddav.ts";
export { seenUsersLoader } from "./seen_users.ts";
export { galEntryOfLdap, LDAP_GAL_SETTINGS, ldapConfigOf, ldapLoader } from "./ldap_source.ts";
export { galEntryOfVcard } from "./vcard.ts";

/** Setting keys of the CardDAV GAL (store.settings). */
export const GAL_SETTINGS = {
  /** URL of a shared CardDAV address book. */
  carddavUrl: "gal.carddav.url",
  /** Service account that reads the book for everyone; unset means each user's own login. */
  carddavUser: "gal.carddav.user",
  /** Its password (a box setting like the LDAP bind password; the environment variable wins). */
  carddavPassword: "gal.carddav.password",
} as const;

/** Environment variable that supplies the CardDAV service account's password instead of the stored setting. */
export const CARDDAV_GAL_PASSWORD_ENV = "PUSHBRIDGE_CARDDAV_GAL_PASSWORD";

/** Users whose own CardDAV GAL copy is kept at once; the least recently used goes first. */
const MAX_USER_DIRECTORIES = 64;

/** The CardDAV GAL settings: the book and the account that reads it (none: each user's own). */
export interface CardDavGalConfig {
  url: URL;
  serviceAccount?: Credentials;
}

/**
 * The CardDAV GAL config from settings, or undefined when "gal.carddav.url"
 * is unset; throws a clear error for a bad URL.
 */
export function cardDavGalConfigOf(
  get: (key: string) => string | undefined,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): CardDavGalConfig | undefined {
  const raw = get(GAL_SETTINGS.carddavUrl)?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`Setting "${GAL_SETTINGS.carddavUrl}" is not a URL: '${raw}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`Setting "${GAL_SETTINGS.carddavUrl}" must be an http:// or https:// URL, got '${raw}'`);
  }
  const user = get(GAL_SETTINGS.carddavUser)?.trim();
  if (!user) return { url };
  return {
    url,
    serviceAccount: {
      user,
      password: env(CARDDAV_GAL_PASSWORD_ENV) || (get(GAL_SETTINGS.carddavPassword) ?? ""),
    },
  };
}

/** The box's GAL as one user sees it. */
export type GalForUser = (credentials: Credentials) => GalDirectory;

/**
 * The box's directory; call the result with a request's credentials to get
 * that user's view (the same shared cache unless the CardDAV book is read
 * per user, see the module comment).
 */
export function createGalDirectory(
  store: Store,
  options: {
    defaultDomain: () => string | undefined;
    davClient?: Deno.HttpClient;
    /** PEM CAs trusted for ldaps://, StartTLS and an https:// CardDAV book (the mailstore's CA). */
    caCerts?: string[];
    cache?: GalCacheOptions;
    env?: (name: string) => string | undefined;
  },
): GalForUser {
  const get = (key: string) => store.settings.get(key);
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const tls = {
    ...(options.davClient ? { client: options.davClient } : {}),
    ...(options.caCerts ? { caCerts: options.caCerts } : {}),
  };
  const seen = seenUsersLoader(store.devices, options.defaultDomain);
  const shared = new CachedGalDirectory(async (): Promise<GalEntry[]> => {
    const ldap = ldapConfigOf(get, options.caCerts, env);
    if (ldap) return await ldapLoader(ldap)();
    const carddav = cardDavGalConfigOf(get, env);
    if (carddav?.serviceAccount) {
      const account = carddav.serviceAccount;
      return await cardDavLoader(carddav.url, () => account, tls)();
    }
    return await seen();
  }, options.cache);
  const cacheAgeMs = Math.max(options.cache?.maxAgeMs ?? 300_000, options.cache?.ttlMs ?? 60_000);
  const now = options.cache?.now ?? Date.now;
  /** Per-user copies of the book, in least recently used order (Map keeps insertion order). */
  const perUser = new Map<
    string,
    { directory: CachedGalDirectory; credentials: Credentials; used: number }
  >();

  const ownDirectory = (credentials: Credentials): GalDirectory => {
    const at = now();
    for (const [user, entry] of perUser) {
      if (at - entry.used > cacheAgeMs) perUser.delete(user);
    }
    let entry = perUser.get(credentials.user);
    if (entry) perUser.delete(credentials.user);
    else {
      const created: { directory: CachedGalDirectory; credentials: Credentials; used: number } = {
        credentials,
        used: at,
        directory: new CachedGalDirectory(async () => {
          const carddav = cardDavGalConfigOf(get, env);
          if (!carddav) return [];
          // The latest credentials this user's requests brought (a changed password included).
          return await cardDavLoader(carddav.url, () => created.credentials, tls)();
        }, options.cache),
      };
      entry = created;
    }
    entry.credentials = credentials;
    entry.used = at;
    perUser.set(credentials.user, entry);
    while (perUser.size > MAX_USER_DIRECTORIES) perUser.delete(perUser.keys().next().value!);
    return entry.directory;
  };

  const pick = (credentials: Credentials): GalDirectory => {
    // The per-user book applies only when it is the source: no LDAP, a book, and no service account.
    if (get(LDAP_GAL_SETTINGS.url)?.trim()) return shared;
    const carddav = cardDavGalConfigOf(get, env);
    return carddav && !carddav.serviceAccount ? ownDirectory(credentials) : shared;
  };
  return (credentials) => ({
    search: async (query, limit) => await pick(credentials).search(query, limit),
    lookup: async (address) => await pick(credentials).lookup(address),
    fitPicture: async (picture, maxBytes) => await shared.fitPicture(picture, maxBytes),
  });
}
