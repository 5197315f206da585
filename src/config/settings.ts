/**
 * Typed settings of the box. They live in SQLite (edited on the setup page);
 * for headless installs and tests the PUSHBRIDGE_* environment wins over
 * stored values. Every bad value stops start-up with one clear line.
 */
export interface Settings {
  /** Directory of the SQLite database, certificates and backups. */
  dataDir: string;
  /** Where EAS and Autodiscover listen. */
  listen: HostPort;
  /** "self-signed", "off" (plain HTTP behind a reverse proxy) or a certificate and key file pair. */
  tls: { mode: "self-signed" } | { mode: "off" } | { mode: "files"; certFile: string; keyFile: string };
  /** Where the setup page listens. */
  setupListen: HostPort;
  /** The office mailstore; absent until configured on the setup page. */
  imapUrl?: MailstoreUrl;
  smtpUrl?: MailstoreUrl;
  davUrl?: URL;
  /** Seeds the setup page password on a headless install; never stored in clear. */
  adminPassword?: string;
  /** PEM CA certificates trusted for the mailstore besides the system ones (self-signed office servers). */
  mailstoreCaFile?: string;
  /** Public host name the box answers as (autodiscover, certificate SANs, phone onboarding). */
  publicHostName?: string;
  /** Longest Ping heartbeat in seconds, for sites whose firewall cuts idle connections sooner (60-3540). */
  heartbeatMaxSeconds?: number;
  /** How often Direct Push polls a pinged CalDAV/CardDAV collection, in seconds (5-3600; default 30). */
  davPollSeconds?: number;
}

/** A listen address. */
export interface HostPort {
  hostname: string;
  port: number;
}

/** A parsed imap://, imaps://, smtp:// or smtps:// URL. */
export interface MailstoreUrl {
  /** True for implicit TLS (imaps, smtps); false means STARTTLS when offered. */
  implicitTls: boolean;
  hostname: string;
  port: number;
  /** The URL as given, for display. */
  href: string;
}

/** A setting that could not be used; its message names the setting and what was wrong. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = "ConfigError";
  }
}

/** Environment names of every setting (the configuration contract; none may be renamed). */
export const SETTING_ENV = {
  dataDir: "PUSHBRIDGE_DATA",
  listen: "PUSHBRIDGE_LISTEN",
  tls: "PUSHBRIDGE_TLS",
  setupListen: "PUSHBRIDGE_SETUP_LISTEN",
  imapUrl: "PUSHBRIDGE_IMAP_URL",
  smtpUrl: "PUSHBRIDGE_SMTP_URL",
  davUrl: "PUSHBRIDGE_DAV_URL",
  adminPassword: "PUSHBRIDGE_ADMIN_PASSWORD",
  mailstoreCaFile: "PUSHBRIDGE_MAILSTORE_CA",
  publicHostName: "PUSHBRIDGE_HOSTNAME",
  heartbeatMaxSeconds: "PUSHBRIDGE_HEARTBEAT_MAX",
  davPollSeconds: "PUSHBRIDGE_DAV_POLL",
} as const;

/** Keys that may be stored in SQLite (everything but the data dir, which locates the database). */
export type StoredSettingKey = Exclude<keyof typeof SETTING_ENV, "dataDir" | "adminPassword">;

/** Defaults the box starts with before anything is configured. */
export const DEFAULTS = {
  dataDir: "./data",
  listen: "0.0.0.0:8443",
  tls: "self-signed",
  setupListen: "127.0.0.1:8080",
} as const;

/** Where each value came from, for the setup page ("environment" values cannot be edited there). */
export type SettingSource = "default" | "stored" | "environment";

/**
 * Resolves settings: environment over stored over defaults. `env` is a plain
 * record so tests and the CLI pass what they have.
 */
export function resolveSettings(
  env: Record<string, string | undefined>,
  stored: Partial<Record<StoredSettingKey, string>> = {},
): Settings {
  const pick = (key: keyof typeof SETTING_ENV): string | undefined => {
    const fromEnv = env[SETTING_ENV[key]];
    if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
    if (key === "dataDir" || key === "adminPassword") return undefined;
    const fromStore = stored[key];
    return fromStore === undefined || fromStore === "" ? undefined : fromStore;
  };
  const settings: Settings = {
    dataDir: pick("dataDir") ?? DEFAULTS.dataDir,
    listen: parseHostPort(SETTING_ENV.listen, pick("listen") ?? DEFAULTS.listen),
    tls: parseTls(pick("tls") ?? DEFAULTS.tls),
    setupListen: parseHostPort(SETTING_ENV.setupListen, pick("setupListen") ?? DEFAULTS.setupListen),
  };
  const imap = pick("imapUrl");
  if (imap) settings.imapUrl = parseMailstoreUrl(SETTING_ENV.imapUrl, imap, { imap: 143, imaps: 993 });
  const smtp = pick("smtpUrl");
  if (smtp) settings.smtpUrl = parseMailstoreUrl(SETTING_ENV.smtpUrl, smtp, { smtp: 587, smtps: 465 });
  const dav = pick("davUrl");
  if (dav) settings.davUrl = parseHttpUrl(SETTING_ENV.davUrl, dav);
  const admin = pick("adminPassword");
  if (admin) {
    if (admin.length < 8) {
      throw new ConfigError(SETTING_ENV.adminPassword, "must be at least 8 characters long");
    }
    settings.adminPassword = admin;
  }
  const ca = pick("mailstoreCaFile");
  if (ca) settings.mailstoreCaFile = ca;
  const host = pick("publicHostName");
  if (host) {
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) {
      throw new ConfigError(SETTING_ENV.publicHostName, `'${host}' is not a host name`);
    }
    settings.publicHostName = host.toLowerCase();
  }
  const heartbeat = pick("heartbeatMaxSeconds");
  if (heartbeat) {
    // MS-ASCMD 2.2.3.79.1: heartbeats run from 60 to 3540 seconds.
    const seconds = Number(heartbeat);
    if (!/^\d+$/.test(heartbeat) || seconds < 60 || seconds > 3540) {
      throw new ConfigError(
        SETTING_ENV.heartbeatMaxSeconds,
        `'${heartbeat}' is not a number of seconds from 60 to 3540`,
      );
    }
    settings.heartbeatMaxSeconds = seconds;
  }
  const davPoll = pick("davPollSeconds");
  if (davPoll) {
    // DAV servers have no push: each pinged collection costs one PROPFIND per interval, so not too often.
    const seconds = Number(davPoll);
    if (!/^\d+$/.test(davPoll) || seconds < 5 || seconds > 3600) {
      throw new ConfigError(
        SETTING_ENV.davPollSeconds,
        `'${davPoll}' is not a number of seconds from 5 to 3600`,
      );
    }
    settings.davPollSeconds = seconds;
  }
  return settings;
}

/** Parses "host:port", "[v6]:port" or ":port". */
export function parseHostPort(setting: string, value: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) throw new ConfigError(setting, `'${value}' is not of the form host:port`);
  const port = Number(match[3]);
  // Port 0 asks the system for a free port (tests, and a box behind a port mapper).
  if (port > 65535) throw new ConfigError(setting, `port ${port} is out of range 0-65535`);
  const hostname = match[1] ?? (match[2] || "0.0.0.0");
  return { hostname, port };
}

function parseTls(value: string): Settings["tls"] {
  if (value === "self-signed" || value === "off") return { mode: value };
  const parts = value.split(":");
  if (parts.length === 2 && parts[0] && parts[1]) {
    return { mode: "files", certFile: parts[0], keyFile: parts[1] };
  }
  throw new ConfigError(SETTING_ENV.tls, `'${value}' is not 'self-signed', 'off' or CERT.pem:KEY.pem`);
}

function parseMailstoreUrl(setting: string, value: string, ports: Record<string, number>): MailstoreUrl {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, `'${value}' is not a URL`);
  }
  const scheme = url.protocol.replace(/:$/, "");
  const defaultPort = ports[scheme];
  if (defaultPort === undefined) {
    throw new ConfigError(setting, `scheme '${scheme}' is not one of ${Object.keys(ports).join(", ")}`);
  }
  if (!url.hostname) throw new ConfigError(setting, `'${value}' has no host`);
  return {
    implicitTls: scheme.endsWith("s"),
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port ? Number(url.port) : defaultPort,
    href: value,
  };
}

function parseHttpUrl(setting: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, `'${value}' is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(setting, `scheme '${url.protocol.replace(/:$/, "")}' is not http or https`);
  }
  return url;
}
