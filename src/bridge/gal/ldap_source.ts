/**
 * GAL from an LDAP directory (ldapts): one simple bind and one paged subtree
 * search (RFC 2696) return every person; the result goes into the same TTL
 * cache as the CardDAV source. ldaps:// connects over TLS; "starttls" upgrades
 * an ldap:// connection with the StartTLS extended operation (RFC 4511 4.14,
 * OID 1.3.6.1.4.1.1466.20037) before the bind (RFC 4513 3), and a server
 * that refuses it ends the attempt before the bind: the bind password never
 * crosses the wire in clear text. The server certificate is checked against
 * the configured CAs and the URL's host name (RFC 4513 3.1.3) in both modes.
 *
 * Settings (store.settings, keys in {@link LDAP_GAL_SETTINGS}):
 * - `gal.ldap.url`: `ldap://host[:389]` or `ldaps://host[:636]`; setting it selects this source
 * - `gal.ldap.base_dn`: search base, e.g. `ou=people,dc=example,dc=org` (required)
 * - `gal.ldap.bind_dn`, `gal.ldap.bind_password`: a read-only service account; both unset means an anonymous search
 * - `gal.ldap.filter`: RFC 4515 filter, default `(&(objectClass=inetOrgPerson)(mail=*))`
 * - `gal.ldap.starttls`: `true` to issue StartTLS on an ldap:// URL, `false` to bind in clear; unset
 *   means StartTLS whenever a bind password would otherwise cross the network (a bind DN and a
 *   host that is not this machine)
 * - `gal.ldap.attributes`: optional JSON object overriding the attribute map, e.g. `{"company":"company"}`
 *
 * StartTLS goes through ldapts, which upgrades its socket with node:tls
 * (works on Deno 2.9.6, tests/bridge/gal/ldap_source.test.ts). ldapts hands
 * node:tls no host name for the upgrade, which then checks the certificate
 * against "localhost"; {@link openLdap} passes the URL's host.
 *
 * The service account's password is a box setting like the CardDAV URL (not
 * a user's password), stored in the box's SQLite; PUSHBRIDGE_LDAP_BIND_PASSWORD
 * supplies it instead, so it never touches disk.
 *
 * @module
 */

import { Client } from "ldapts";
import { BackendUnavailableError } from "../../backend/types.ts";
import type { GalEntry } from "../../eas/commands/search.ts";

/** Setting keys of the LDAP GAL source (store.settings). */
export const LDAP_GAL_SETTINGS = {
  url: "gal.ldap.url",
  baseDn: "gal.ldap.base_dn",
  bindDn: "gal.ldap.bind_dn",
  bindPassword: "gal.ldap.bind_password",
  filter: "gal.ldap.filter",
  startTls: "gal.ldap.starttls",
  attributes: "gal.ldap.attributes",
} as const;

/** Environment variable that supplies the bind password instead of the stored setting. */
export const LDAP_BIND_PASSWORD_ENV = "PUSHBRIDGE_LDAP_BIND_PASSWORD";

/** The default search filter: people with an address. */
export const DEFAULT_LDAP_FILTER = "(&(objectClass=inetOrgPerson)(mail=*))";

/** GAL fields and the LDAP attributes they come from, first present wins (RFC 4519, RFC 2798, AD names). */
export const DEFAULT_LDAP_ATTRIBUTES = {
  displayName: ["displayName", "cn"],
  firstName: ["givenName"],
  lastName: ["sn"],
  email: ["mail"],
  phone: ["telephoneNumber"],
  mobilePhone: ["mobile"],
  homePhone: ["homePhone"],
  title: ["title"],
  company: ["o", "company"],
  office: ["physicalDeliveryOfficeName"],
  alias: ["uid", "sAMAccountName"],
  picture: ["thumbnailPhoto", "jpegPhoto"],
  certificates: ["userCertificate;binary", "userCertificate"],
} as const;

/** A GAL field name of the attribute map. */
export type LdapGalField = keyof typeof DEFAULT_LDAP_ATTRIBUTES;
/** Attribute names per GAL field. */
export type LdapAttributeMap = Record<LdapGalField, readonly string[]>;

/** Binary attributes: asked for as buffers, never decoded as text. */
const BINARY_FIELDS: readonly LdapGalField[] = ["picture", "certificates"];
/** Entries per page of the paged-results control (below slapd's default size limit of 500). */
const PAGE_SIZE = 400;
/** Socket connect and per-operation timeouts. */
const CONNECT_TIMEOUT_MS = 5_000;
const OPERATION_TIMEOUT_MS = 30_000;

/** How to reach and read the directory. */
export interface LdapGalConfig {
  url: string;
  baseDn: string;
  bindDn?: string;
  bindPassword?: string;
  filter?: string;
  startTls?: boolean;
  attributes?: Partial<Record<LdapGalField, string | string[]>>;
  /** PEM CA certificates to trust for ldaps:// and StartTLS (the system roots when absent). */
  caCerts?: string[];
}

/**
 * The LDAP config from settings, or undefined when `gal.ldap.url` is unset;
 * throws a clear error for a bad value.
 */
export function ldapConfigOf(
  get: (key: string) => string | undefined,
  caCerts?: string[],
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): LdapGalConfig | undefined {
  const url = get(LDAP_GAL_SETTINGS.url)?.trim();
  if (!url) return undefined;
  if (!/^ldaps?:\/\/[^/]+\/?$/i.test(url)) {
    throw new Error(
      `Setting "${LDAP_GAL_SETTINGS.url}" must be ldap://host[:port] or ldaps://host[:port], got '${url}'`,
    );
  }
  const baseDn = get(LDAP_GAL_SETTINGS.baseDn)?.trim();
  if (!baseDn) {
    throw new Error(`Setting "${LDAP_GAL_SETTINGS.baseDn}" is required with "${LDAP_GAL_SETTINGS.url}"`);
  }
  const config: LdapGalConfig = { url: url.replace(/\/$/, ""), baseDn };
  const bindDn = get(LDAP_GAL_SETTINGS.bindDn)?.trim();
  if (bindDn) {
    config.bindDn = bindDn;
    config.bindPassword = env(LDAP_BIND_PASSWORD_ENV) || (get(LDAP_GAL_SETTINGS.bindPassword) ?? "");
  }
  const filter = get(LDAP_GAL_SETTINGS.filter)?.trim();
  if (filter) config.filter = filter;
  const startTls = get(LDAP_GAL_SETTINGS.startTls)?.trim().toLowerCase();
  const ldaps = /^ldaps:/i.test(url);
  if (startTls) {
    if (startTls !== "true" && startTls !== "false") {
      throw new Error(`Setting "${LDAP_GAL_SETTINGS.startTls}" must be 'true' or 'false', got '${startTls}'`);
    }
    if (startTls === "true" && ldaps) {
      throw new Error(
        `Setting "${LDAP_GAL_SETTINGS.startTls}" applies to ldap:// URLs; '${url}' is already TLS`,
      );
    }
    config.startTls = startTls === "true";
  } else if (!ldaps && config.bindDn && !isLoopbackHost(hostOf(config.url))) {
    // The password of the service account would otherwise cross the network in clear text.
    config.startTls = true;
  }
  const attributes = get(LDAP_GAL_SETTINGS.attributes)?.trim();
  if (attributes) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(attributes);
    } catch {
      throw new Error(`Setting "${LDAP_GAL_SETTINGS.attributes}" is not valid JSON`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error(`Setting "${LDAP_GAL_SETTINGS.attributes}" must be a JSON object`);
    }
    for (const key of Object.keys(parsed)) {
      if (!(key in DEFAULT_LDAP_ATTRIBUTES)) {
        throw new Error(`Setting "${LDAP_GAL_SETTINGS.attributes}" names unknown field '${key}'`);
      }
    }
    config.attributes = parsed as LdapGalConfig["attributes"] & object;
  }
  if (caCerts) config.caCerts = caCerts;
  return config;
}

/** The host of an ldap(s):// URL, without IPv6 brackets. */
function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, "");
}

/** Whether `host` is this machine (a connection to it never leaves the box). */
export function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === "::1" || host.toLowerCase() === "localhost";
}

function attributeMap(config: LdapGalConfig): LdapAttributeMap {
  const map = { ...DEFAULT_LDAP_ATTRIBUTES } as LdapAttributeMap;
  for (const [field, names] of Object.entries(config.attributes ?? {})) {
    map[field as LdapGalField] = typeof names === "string" ? [names] : [...names];
  }
  return map;
}

/** An LDAP entry as ldapts returns it: attribute name to string(s) or buffer(s). */
type LdapEntry = Record<string, unknown>;

function values(entry: Map<string, unknown>, names: readonly string[]): unknown[] {
  for (const name of names) {
    const value = entry.get(name.toLowerCase());
    if (value === undefined) continue;
    const list = Array.isArray(value) ? value : [value];
    if (list.length) return list;
  }
  return [];
}

function text(entry: Map<string, unknown>, names: readonly string[]): string | undefined {
  const first = values(entry, names)[0];
  if (first === undefined) return undefined;
  const value = typeof first === "string" ? first : new TextDecoder().decode(first as Uint8Array);
  return value.trim() || undefined;
}

function bytes(value: unknown): Uint8Array | undefined {
  if (value instanceof Uint8Array) return value.length ? new Uint8Array(value) : undefined;
  return undefined;
}

/** A GAL entry from one LDAP entry, or undefined without an address. */
export function galEntryOfLdap(
  raw: LdapEntry,
  map: LdapAttributeMap = DEFAULT_LDAP_ATTRIBUTES,
): GalEntry | undefined {
  const entry = new Map(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
  const mails = values(entry, map.email)
    .map((m) => (typeof m === "string" ? m : new TextDecoder().decode(m as Uint8Array)).trim())
    .filter(Boolean);
  if (mails.length === 0) return undefined;
  const firstName = text(entry, map.firstName);
  const lastName = text(entry, map.lastName);
  const out: GalEntry = {
    displayName: text(entry, map.displayName) ??
      ([firstName, lastName].filter(Boolean).join(" ") || mails[0]!),
    email: mails[0]!,
  };
  if (mails.length > 1) out.aliases = mails.slice(1);
  if (firstName) out.firstName = firstName;
  if (lastName) out.lastName = lastName;
  const fields = ["phone", "mobilePhone", "homePhone", "title", "company", "office", "alias"] as const;
  for (const field of fields) {
    const value = text(entry, map[field]);
    if (value) out[field] = value;
  }
  const picture = bytes(values(entry, map.picture)[0]);
  if (picture) out.picture = picture;
  const certificates = values(entry, map.certificates).map(bytes).filter((c): c is Uint8Array => !!c);
  if (certificates.length) out.certificates = certificates;
  return out;
}

/** StartTLS failed: nothing else, and above all no bind, went over the connection. */
export class LdapStartTlsError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LdapStartTlsError";
  }
}

/** LDAP result codes of a server that does not offer StartTLS (RFC 4511 4.1.9, 4.14.2). */
const NO_STARTTLS_CODES: ReadonlySet<number> = new Set([2, 52]);

/**
 * An ldapts client connected to the directory, secured (ldaps:// or StartTLS
 * when configured) and bound as the service account when there is one; the
 * caller unbinds. StartTLS must succeed before the bind request is written,
 * else {@link LdapStartTlsError}.
 */
export async function openLdap(
  config: LdapGalConfig,
  timeouts: { connectMs?: number; operationMs?: number } = {},
): Promise<Client> {
  const host = hostOf(config.url);
  // node:tls checks the certificate against `host` (IP SANs) or `servername` (DNS names, RFC 6125).
  const tlsOptions = {
    ...(config.caCerts ? { ca: config.caCerts } : {}),
    host,
    ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
  };
  // ldapts starts TLS on connect whenever tlsOptions are given, so ldap:// gets none.
  const client = new Client({
    url: config.url,
    connectTimeout: timeouts.connectMs ?? CONNECT_TIMEOUT_MS,
    timeout: timeouts.operationMs ?? OPERATION_TIMEOUT_MS,
    ...(/^ldaps:/i.test(config.url) ? { tlsOptions } : {}),
  });
  try {
    if (config.startTls) {
      try {
        await client.startTLS(tlsOptions);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const why = typeof code === "number" && NO_STARTTLS_CODES.has(code)
          ? `it does not offer StartTLS (${errorText(error)})`
          : errorText(error);
        throw new LdapStartTlsError(
          `StartTLS with '${config.url}' failed: ${why}; the bind password was not sent`,
          { cause: error },
        );
      }
    }
    if (config.bindDn) await client.bind(config.bindDn, config.bindPassword ?? "");
    return client;
  } catch (error) {
    await client.unbind().catch(() => {});
    throw error;
  }
}

function errorText(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s*Code: 0x[0-9a-f]+$/i, "");
}

/** Loads every matching person of the directory (StartTLS if asked, bind, paged search, unbind). */
export function ldapLoader(config: LdapGalConfig): () => Promise<GalEntry[]> {
  const map = attributeMap(config);
  const binary = BINARY_FIELDS.flatMap((field) => [...map[field]]);
  const attributes = [...new Set(Object.values(map).flat())];
  return async () => {
    let client: Client | undefined;
    try {
      client = await openLdap(config);
      const { searchEntries } = await client.search(config.baseDn, {
        scope: "sub",
        filter: config.filter ?? DEFAULT_LDAP_FILTER,
        attributes,
        explicitBufferAttributes: binary,
        paged: { pageSize: PAGE_SIZE },
      });
      return searchEntries.map((e) => galEntryOfLdap(e as LdapEntry, map)).filter((e): e is GalEntry => !!e);
    } catch (error) {
      throw new BackendUnavailableError(
        error instanceof LdapStartTlsError
          ? `LDAP directory: ${error.message}`
          : `LDAP directory '${config.url}' failed: ${errorText(error)}`,
        error,
      );
    } finally {
      await client?.unbind().catch(() => {});
    }
  };
}
