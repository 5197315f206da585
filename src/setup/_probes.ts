/**
 * Live "test connection" probes of the setup wizard: each logs in to one
 * mailstore service with a test account and reports step by step what
 * worked and exactly what failed (DNS, TCP, TLS, certificate name, STARTTLS,
 * login, capabilities, DAV discovery).
 *
 * @module
 */
import { ImapAuthError, ImapClient } from "../bridge/imap/imap_client.ts";
import { BackendUnavailableError } from "../backend/types.ts";
import {
  DEFAULT_LDAP_FILTER,
  isLoopbackHost,
  LDAP_GAL_SETTINGS,
  ldapConfigOf,
  type LdapGalConfig,
  ldapLoader,
  LdapStartTlsError,
  openLdap,
} from "../bridge/gal/ldap_source.ts";
import { cardDavLoader } from "../bridge/gal/carddav.ts";
import { authMechanisms, parseExtensions, parseReply, plainAuth } from "../bridge/smtp/smtp_protocol.ts";

/** Outcome of one step; "warn" works but lacks something the admin should know. */
export type ProbeStatus = "ok" | "warn" | "fail";

/** One line of a probe report. */
export interface ProbeStep {
  step: string;
  status: ProbeStatus;
  detail: string;
}

/** A probe report: ok when no step failed. */
export interface ProbeResult {
  service: string;
  ok: boolean;
  steps: ProbeStep[];
}

/** What a probe needs. */
export interface ProbeTarget {
  url: string;
  user: string;
  password: string;
  /** PEM CA certificates trusted besides the system roots. */
  caCerts?: string[];
  timeoutMs?: number;
}

/** A mailstore that has not answered in this time is unreachable for phones too. */
const PROBE_TIMEOUT_MS = 8_000;

/** Capabilities the IMAP bridge uses, and what their absence costs. */
const IMAP_CAPABILITIES = [
  ["IDLE", "push falls back to polling every few minutes"],
  ["CONDSTORE", "flag changes are found by rescanning folders (slower sync)"],
  ["QRESYNC", "expunges are found by rescanning folders (slower sync)"],
  ["NOTIFY", "one IDLE connection watches only one folder; other folders are polled"],
] as const;

class Report {
  readonly steps: ProbeStep[] = [];
  constructor(readonly service: string) {}
  add(step: string, status: ProbeStatus, detail: string): void {
    this.steps.push({ step, status, detail });
  }
  result(): ProbeResult {
    return { service: this.service, ok: this.steps.every((s) => s.status !== "fail"), steps: this.steps };
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

/** Explains a TLS failure in the admin's terms. */
export function describeTlsError(error: unknown, hostname: string): { step: string; detail: string } {
  const text = message(error);
  if (/NotValidForName|not valid for name|CertNotValidForName/i.test(text)) {
    return {
      step: "Certificate name",
      detail:
        `The server's certificate is not valid for the name '${hostname}': use the name the certificate was issued for (${text})`,
    };
  }
  if (/UnknownIssuer|self.signed|unknown ca|invalid peer certificate/i.test(text)) {
    return {
      step: "Certificate",
      detail:
        `The server's certificate is not trusted (unknown issuer): add the mailstore's CA certificate (${text})`,
    };
  }
  if (/Expired|not valid yet|NotValidYet/i.test(text)) {
    return { step: "Certificate", detail: `The server's certificate is expired or not yet valid (${text})` };
  }
  return { step: "TLS", detail: `The TLS handshake with '${hostname}' failed: ${text}` };
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  const timer = new Promise<never>((_, reject) => {
    id = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  work.catch(() => {});
  return Promise.race([work, timer]).finally(() => clearTimeout(id));
}

/** DNS then TCP: the two steps every probe starts with. Returns false when either failed. */
async function reach(report: Report, hostname: string, port: number, timeoutMs: number): Promise<boolean> {
  if (!isIpLiteral(hostname) && hostname !== "localhost") {
    try {
      const a = await withTimeout(
        Promise.allSettled([Deno.resolveDns(hostname, "A"), Deno.resolveDns(hostname, "AAAA")]),
        timeoutMs,
        "DNS",
      );
      const addresses = a.flatMap((r) => r.status === "fulfilled" ? r.value : []);
      if (addresses.length === 0) {
        report.add(
          "DNS",
          "fail",
          `The host name '${hostname}' does not resolve: check the spelling or the DNS server`,
        );
        return false;
      }
      report.add("DNS", "ok", `'${hostname}' is ${addresses.slice(0, 3).join(", ")}`);
    } catch (error) {
      report.add("DNS", "fail", `The host name '${hostname}' cannot be looked up: ${message(error)}`);
      return false;
    }
  }
  try {
    const conn = await withTimeout(Deno.connect({ hostname, port }), timeoutMs, `'${hostname}:${port}'`);
    conn.close();
    report.add("TCP", "ok", `Port ${port} on '${hostname}' accepts connections`);
    return true;
  } catch (error) {
    const refused = error instanceof Deno.errors.ConnectionRefused;
    report.add(
      "TCP",
      "fail",
      refused
        ? `Connection to '${hostname}:${port}' refused: nothing listens on port ${port} (wrong port, or the service is stopped)`
        : `Cannot connect to '${hostname}:${port}': ${message(error)} (a firewall, or the wrong address)`,
    );
    return false;
  }
}

function parseUrl(report: Report, url: string, schemes: Record<string, number>): URL | undefined {
  try {
    const parsed = new URL(url);
    const scheme = parsed.protocol.replace(/:$/, "");
    if (!(scheme in schemes)) {
      report.add("Address", "fail", `Scheme '${scheme}' is not one of ${Object.keys(schemes).join(", ")}`);
      return undefined;
    }
    if (!parsed.hostname) {
      report.add("Address", "fail", `'${url}' has no host name`);
      return undefined;
    }
    return parsed;
  } catch {
    report.add("Address", "fail", `'${url}' is not a URL (for example imap://mail.example.com)`);
    return undefined;
  }
}

/** Address, DNS and TCP steps of an http(s):// URL; undefined when one failed. */
async function reachHttp(
  report: Report,
  raw: string,
  timeoutMs: number,
): Promise<{ url: URL; hostname: string } | undefined> {
  const url = parseUrl(report, raw, { http: 80, https: 443 });
  if (!url) return undefined;
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return await reach(report, hostname, port, timeoutMs) ? { url, hostname } : undefined;
}

/** Reads the plain-text IMAP greeting and CAPABILITY to learn whether STARTTLS is offered. */
async function imapPlainCapabilities(hostname: string, port: number, timeoutMs: number): Promise<string> {
  const conn = await Deno.connect({ hostname, port });
  try {
    const buffer = new Uint8Array(4096);
    let text = "";
    const readUntil = async (done: (t: string) => boolean) => {
      while (!done(text)) {
        const n = await withTimeout(conn.read(buffer), timeoutMs, "The IMAP server");
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
    };
    await readUntil((t) => t.includes("\n"));
    await conn.write(new TextEncoder().encode("p1 CAPABILITY\r\n"));
    await readUntil((t) => /\r?\np1 /.test(t));
    await conn.write(new TextEncoder().encode("p2 LOGOUT\r\n")).catch(() => 0);
    return text.toUpperCase();
  } finally {
    conn.close();
  }
}

/** Tests IMAP: DNS, TCP, TLS or STARTTLS, certificate, login, capabilities. */
export async function probeImap(target: ProbeTarget): Promise<ProbeResult> {
  const report = new Report("IMAP");
  const timeoutMs = target.timeoutMs ?? PROBE_TIMEOUT_MS;
  const url = parseUrl(report, target.url, { imap: 143, imaps: 993 });
  if (!url) return report.result();
  const implicitTls = url.protocol === "imaps:";
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port ? Number(url.port) : implicitTls ? 993 : 143;
  if (!await reach(report, hostname, port, timeoutMs)) return report.result();
  if (!implicitTls) {
    try {
      const caps = await imapPlainCapabilities(hostname, port, timeoutMs);
      if (!caps.includes("STARTTLS")) {
        report.add(
          "STARTTLS",
          "fail",
          `The server on port ${port} does not offer STARTTLS: passwords would cross the network in clear; use imaps:// (port 993) or enable TLS on the mailstore`,
        );
        return report.result();
      }
      report.add("STARTTLS", "ok", "Offered");
    } catch (error) {
      report.add("Greeting", "fail", `The server did not greet as an IMAP server: ${message(error)}`);
      return report.result();
    }
  }
  let client: ImapClient;
  try {
    client = await ImapClient.connect({
      url: `${url.protocol}//${url.host}`,
      tls: target.caCerts ? { caCerts: target.caCerts } : {},
      timeoutMs,
    });
    report.add("TLS", "ok", implicitTls ? "Implicit TLS handshake done" : "STARTTLS handshake done");
  } catch (error) {
    const { step, detail } = describeTlsError(error, hostname);
    report.add(step, "fail", detail);
    return report.result();
  }
  try {
    await client.login(target.user, target.password);
    report.add("Login", "ok", `Logged in as '${target.user}'`);
    const caps = await client.capability();
    if (!caps.has("IMAP4REV1") && !caps.has("IMAP4REV2")) {
      report.add("Capabilities", "fail", "The server does not announce IMAP4rev1");
    }
    for (const [cap, cost] of IMAP_CAPABILITIES) {
      report.add(
        `Capability ${cap}`,
        caps.has(cap) ? "ok" : "warn",
        caps.has(cap) ? "Supported" : `Missing: ${cost}`,
      );
    }
  } catch (error) {
    if (error instanceof ImapAuthError) {
      report.add("Login", "fail", `Login refused for '${target.user}': ${message(error)}`);
    } else {
      report.add("Login", "fail", `Login failed: ${message(error)}`);
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return report.result();
}

/** A line-oriented SMTP conversation for the probe. */
class SmtpLines {
  #buffer = "";
  constructor(public conn: Deno.Conn, readonly timeoutMs: number) {}
  async reply(): Promise<{ code: number; text: string; lines: string[] }> {
    const lines: string[] = [];
    const chunk = new Uint8Array(4096);
    while (true) {
      const end = this.#buffer.indexOf("\n");
      if (end >= 0) {
        const line = this.#buffer.slice(0, end).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(end + 1);
        lines.push(line);
        if (/^\d{3}( |$)/.test(line)) break;
        continue;
      }
      const n = await withTimeout(this.conn.read(chunk), this.timeoutMs, "The SMTP server");
      if (n === null) throw new Error("The SMTP server closed the connection");
      this.#buffer += new TextDecoder().decode(chunk.subarray(0, n));
    }
    const parsed = parseReply(lines);
    if (!parsed) throw new Error(`Unreadable SMTP reply '${lines.join(" ")}'`);
    return { code: parsed.code, text: lines.map((l) => l.slice(4)).join(" "), lines };
  }
  async send(line: string): Promise<{ code: number; text: string; lines: string[] }> {
    await this.conn.write(new TextEncoder().encode(`${line}\r\n`));
    return await this.reply();
  }
}

/** Tests SMTP submission: DNS, TCP, greeting, STARTTLS or implicit TLS, certificate, AUTH. */
export async function probeSmtp(target: ProbeTarget): Promise<ProbeResult> {
  const report = new Report("SMTP submission");
  const timeoutMs = target.timeoutMs ?? PROBE_TIMEOUT_MS;
  const url = parseUrl(report, target.url, { smtp: 587, smtps: 465 });
  if (!url) return report.result();
  const implicitTls = url.protocol === "smtps:";
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const port = url.port ? Number(url.port) : implicitTls ? 465 : 587;
  if (!await reach(report, hostname, port, timeoutMs)) return report.result();
  const tlsOptions = { hostname, ...(target.caCerts ? { caCerts: target.caCerts } : {}) };
  let conn: Deno.Conn | undefined;
  try {
    if (implicitTls) {
      const tls = await Deno.connectTls({ port, ...tlsOptions });
      try {
        await withTimeout(tls.handshake(), timeoutMs, "The TLS handshake");
      } catch (error) {
        tls.close();
        const { step, detail } = describeTlsError(error, hostname);
        report.add(step, "fail", detail);
        return report.result();
      }
      conn = tls;
      report.add("TLS", "ok", "Implicit TLS handshake done");
    } else {
      conn = await Deno.connect({ hostname, port });
    }
    const session = new SmtpLines(conn, timeoutMs);
    const greeting = await session.reply();
    if (greeting.code !== 220) {
      report.add("Greeting", "fail", `The server greeted with '${greeting.code} ${greeting.text}'`);
      return report.result();
    }
    let ehlo = await session.send("EHLO pushbridge.setup");
    if (ehlo.code !== 250) {
      report.add("EHLO", "fail", `EHLO refused: '${ehlo.code} ${ehlo.text}'`);
      return report.result();
    }
    let extensions = parseExtensions(parseReply(ehlo.lines)!);
    if (!implicitTls) {
      if (!extensions.has("STARTTLS")) {
        report.add(
          "STARTTLS",
          "fail",
          `The server on port ${port} does not offer STARTTLS: passwords would cross the network in clear; use smtps:// (port 465) or enable TLS`,
        );
        return report.result();
      }
      const go = await session.send("STARTTLS");
      if (go.code !== 220) {
        report.add("STARTTLS", "fail", `STARTTLS refused: '${go.code} ${go.text}'`);
        return report.result();
      }
      try {
        const tls = await Deno.startTls(conn as Deno.TcpConn, tlsOptions);
        await withTimeout(tls.handshake(), timeoutMs, "The TLS handshake");
        conn = tls;
        session.conn = tls;
      } catch (error) {
        const { step, detail } = describeTlsError(error, hostname);
        report.add(step, "fail", detail);
        return report.result();
      }
      report.add("STARTTLS", "ok", "STARTTLS handshake done");
      ehlo = await session.send("EHLO pushbridge.setup");
      extensions = parseExtensions(parseReply(ehlo.lines)!);
    }
    const mechanisms = authMechanisms(extensions);
    if (!mechanisms.has("PLAIN") && !mechanisms.has("LOGIN")) {
      report.add(
        "AUTH",
        "fail",
        `The server offers no password login (AUTH ${[...mechanisms].join(" ") || "missing"})`,
      );
      return report.result();
    }
    const auth = await session.send(`AUTH PLAIN ${plainAuth(target.user, target.password)}`);
    if (auth.code === 235) report.add("Login", "ok", `Logged in as '${target.user}'`);
    else report.add("Login", "fail", `Login refused for '${target.user}': '${auth.code} ${auth.text}'`);
    await session.send("QUIT").catch(() => undefined);
  } catch (error) {
    report.add("Conversation", "fail", message(error));
  } finally {
    try {
      conn?.close();
    } catch { /* closed already */ }
  }
  return report.result();
}

const PROPFIND_PRINCIPAL = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:current-user-principal/></d:prop></d:propfind>`;
const PROPFIND_HOMES = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:a="urn:ietf:params:xml:ns:carddav">
<d:prop><c:calendar-home-set/><a:addressbook-home-set/></d:prop></d:propfind>`;

function hrefIn(xml: string, element: string): string | undefined {
  const match = new RegExp(`<(?:\\w+:)?${element}[^>]*>\\s*<(?:\\w+:)?href[^>]*>([^<]+)<`, "i").exec(xml);
  return match?.[1]?.trim();
}

/** Tests CalDAV/CardDAV: DNS, TCP, TLS, login, principal and calendar/address book home discovery. */
export async function probeDav(target: ProbeTarget): Promise<ProbeResult> {
  const report = new Report("CalDAV/CardDAV");
  const timeoutMs = target.timeoutMs ?? PROBE_TIMEOUT_MS;
  const reached = await reachHttp(report, target.url, timeoutMs);
  if (!reached) return report.result();
  const { url, hostname } = reached;
  const client = target.caCerts ? Deno.createHttpClient({ caCerts: target.caCerts }) : undefined;
  const authorization = `Basic ${btoa(unescape(encodeURIComponent(`${target.user}:${target.password}`)))}`;
  const propfind = async (at: URL, body: string) => {
    const response = await withTimeout(
      fetch(at, {
        method: "PROPFIND",
        headers: {
          Authorization: authorization,
          Depth: "0",
          "Content-Type": "application/xml; charset=utf-8",
        },
        body,
        ...(client ? { client } : {}),
        signal: AbortSignal.timeout(timeoutMs),
      }),
      timeoutMs,
      "The DAV server",
    );
    return { status: response.status, text: await response.text() };
  };
  try {
    let first;
    try {
      first = await propfind(url, PROPFIND_PRINCIPAL);
    } catch (error) {
      if (url.protocol === "https:") {
        const { step, detail } = describeTlsError(error, hostname);
        report.add(step, "fail", detail);
      } else report.add("HTTP", "fail", `The request failed: ${message(error)}`);
      return report.result();
    }
    if (url.protocol === "https:") report.add("TLS", "ok", "HTTPS handshake done");
    if (first.status === 401 || first.status === 403) {
      report.add("Login", "fail", `Login refused for '${target.user}' (HTTP ${first.status})`);
      return report.result();
    }
    if (first.status !== 207) {
      report.add(
        "DAV discovery",
        "fail",
        `PROPFIND on '${url.pathname}' answered HTTP ${first.status}, not 207 Multi-Status: this URL is not a DAV server root`,
      );
      return report.result();
    }
    report.add("Login", "ok", `Logged in as '${target.user}'`);
    const principal = hrefIn(first.text, "current-user-principal");
    if (!principal) {
      report.add("DAV discovery", "fail", "The server names no current-user-principal (RFC 5397)");
      return report.result();
    }
    report.add("Principal", "ok", principal);
    const homes = await propfind(new URL(principal, url), PROPFIND_HOMES);
    const calendars = hrefIn(homes.text, "calendar-home-set");
    const books = hrefIn(homes.text, "addressbook-home-set");
    report.add(
      "Calendar home",
      calendars ? "ok" : "fail",
      calendars ?? "No calendar-home-set (RFC 4791 6.2.1): calendars cannot be found",
    );
    report.add(
      "Address book home",
      books ? "ok" : "fail",
      books ?? "No addressbook-home-set (RFC 6352 7.1.1): contacts cannot be found",
    );
  } finally {
    client?.close();
  }
  return report.result();
}

/** What the directory test needs: the GAL source's settings (see src/bridge/gal/ldap_source.ts). */
export interface LdapProbeTarget {
  url: string;
  /** Search base; the test fails without one, as the GAL would. */
  baseDn?: string;
  /** Service account; none means an anonymous search. */
  bindDn?: string;
  bindPassword?: string;
  /** RFC 4515 filter; the GAL's default when absent. */
  filter?: string;
  /** StartTLS on ldap:// ("gal.ldap.starttls"); the GAL's default when absent. */
  startTls?: boolean;
  caCerts?: string[];
  timeoutMs?: number;
}

/** LDAP result codes the directory test explains (RFC 4511 4.1.9). */
const LDAP_RESULT = {
  confidentialityRequired: 13,
  noSuchObject: 32,
  invalidDnSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
} as const;

function ldapCode(error: unknown): number | undefined {
  const cause = error instanceof BackendUnavailableError ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === "number" ? code : undefined;
}

/**
 * Tests the directory the way the GAL reads it: reachability, TLS for
 * ldaps://, the service account's bind, then the GAL's own search
 * (src/bridge/gal/ldap_source.ts) with the number of people found.
 */
export async function probeLdap(target: LdapProbeTarget): Promise<ProbeResult> {
  const report = new Report("GAL/LDAP");
  const timeoutMs = target.timeoutMs ?? PROBE_TIMEOUT_MS;
  const url = parseUrl(report, target.url, { ldap: 389, ldaps: 636 });
  if (!url) return report.result();
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const ldaps = url.protocol === "ldaps:";
  const port = url.port ? Number(url.port) : ldaps ? 636 : 389;
  if (!await reach(report, hostname, port, timeoutMs)) return report.result();
  if (ldaps) {
    try {
      const tls = await Deno.connectTls({
        hostname,
        port,
        ...(target.caCerts ? { caCerts: target.caCerts } : {}),
      });
      try {
        await withTimeout(tls.handshake(), timeoutMs, "The TLS handshake");
        report.add("TLS", "ok", "LDAPS handshake done");
      } finally {
        tls.close();
      }
    } catch (error) {
      const { step, detail } = describeTlsError(error, hostname);
      report.add(step, "fail", detail);
      return report.result();
    }
  }
  const settings: Record<string, string | undefined> = {
    [LDAP_GAL_SETTINGS.url]: `${url.protocol}//${url.host}`,
    [LDAP_GAL_SETTINGS.baseDn]: target.baseDn,
    [LDAP_GAL_SETTINGS.bindDn]: target.bindDn,
    [LDAP_GAL_SETTINGS.bindPassword]: target.bindPassword,
    [LDAP_GAL_SETTINGS.filter]: target.filter,
    [LDAP_GAL_SETTINGS.startTls]: target.startTls === undefined ? undefined : String(target.startTls),
  };
  let config: LdapGalConfig;
  try {
    // The probe is given the password to test; the environment's is folded in by the caller.
    config = ldapConfigOf((key) => settings[key], target.caCerts, () => undefined)!;
  } catch (error) {
    report.add("Settings", "fail", message(error).replace(/^Setting "gal\.ldap\.base_dn"/, "The base DN"));
    return report.result();
  }
  if (config.startTls || config.bindDn) {
    // The GAL's own connection: StartTLS first when configured, then the bind (RFC 4513 3).
    let client;
    try {
      client = await openLdap(config, { connectMs: timeoutMs, operationMs: timeoutMs });
      if (config.startTls) report.add("StartTLS", "ok", "TLS started on the LDAP connection");
      if (config.bindDn) report.add("Bind", "ok", `Bound as '${config.bindDn}'`);
    } catch (error) {
      if (error instanceof LdapStartTlsError) {
        report.add("StartTLS", "fail", error.message);
        return report.result();
      }
      if (config.startTls) report.add("StartTLS", "ok", "TLS started on the LDAP connection");
      const code = ldapCode(error);
      report.add(
        "Bind",
        "fail",
        code === LDAP_RESULT.invalidCredentials
          ? `The directory refused '${config.bindDn}' with this password`
          : code === LDAP_RESULT.invalidDnSyntax
          ? `'${config.bindDn}' is not a valid DN`
          : code === LDAP_RESULT.confidentialityRequired
          ? `The directory wants TLS before a bind: use ldaps:// or StartTLS`
          : `Bind as '${config.bindDn}' failed: ${message(error)}`,
      );
      return report.result();
    } finally {
      await client?.unbind().catch(() => {});
    }
  }
  if (!config.bindDn) report.add("Bind", "warn", "No bind DN: the directory is searched anonymously");
  else if (!ldaps && !config.startTls && !isLoopbackHost(hostname)) {
    report.add(
      "Bind",
      "warn",
      "The bind password crosses the network in clear text: use ldaps:// or StartTLS",
    );
  }
  const filter = config.filter ?? DEFAULT_LDAP_FILTER;
  try {
    const people = await withTimeout(ldapLoader(config)(), timeoutMs * 4, "The search");
    const first = people[0];
    report.add(
      "Search",
      people.length ? "ok" : "warn",
      first
        ? `${people.length} ${
          people.length === 1 ? "person" : "people"
        } with an address under '${config.baseDn}', e.g. '${first.displayName} <${first.email}>'`
        : `No entry with an address matches '${filter}' under '${config.baseDn}': the address list would be empty`,
    );
  } catch (error) {
    const code = ldapCode(error);
    const cause = error instanceof BackendUnavailableError ? error.cause : error;
    report.add(
      "Search",
      "fail",
      code === LDAP_RESULT.noSuchObject
        ? `The base DN '${config.baseDn}' does not exist in the directory`
        : code === LDAP_RESULT.invalidDnSyntax
        ? `'${config.baseDn}' is not a valid DN`
        : code === LDAP_RESULT.insufficientAccessRights
        ? `'${config.bindDn ?? "anonymous"}' may not search '${config.baseDn}'`
        : `Search with '${filter}' failed: ${message(cause)}`,
    );
  }
  return report.result();
}

/** What the CardDAV GAL test needs: the shared book and the login that reads it. */
export interface CardDavGalProbeTarget {
  url: string;
  /** The service account, or a test user's login when the GAL reads with each user's own. */
  user: string;
  password: string;
  /** Whether `user` is the service account (else it stands for every user's own login). */
  serviceAccount: boolean;
  caCerts?: string[];
  timeoutMs?: number;
}

/**
 * Tests the CardDAV GAL the way it loads: reachability, then the GAL's own
 * addressbook-query (src/bridge/gal/carddav.ts) with the service account,
 * or with a test user when each user reads the book with their own login.
 */
export async function probeCardDavGal(target: CardDavGalProbeTarget): Promise<ProbeResult> {
  const report = new Report("GAL/CardDAV");
  const timeoutMs = target.timeoutMs ?? PROBE_TIMEOUT_MS;
  const reached = await reachHttp(report, target.url, timeoutMs);
  if (!reached) return report.result();
  const { url, hostname } = reached;
  if (!target.user) {
    report.add("Account", "fail", "Enter a service account, or a test user and password above");
    return report.result();
  }
  report.add(
    "Account",
    target.serviceAccount ? "ok" : "warn",
    target.serviceAccount
      ? `The book is read as '${target.user}' for every user`
      : `No service account: each user reads the book with their own login (tested as '${target.user}'), and a user who may not read it gets no address list`,
  );
  try {
    const people = await withTimeout(
      cardDavLoader(url, () => ({ user: target.user, password: target.password }), {
        ...(target.caCerts ? { caCerts: target.caCerts } : {}),
      })(),
      timeoutMs * 4,
      "The address book",
    );
    const first = people[0];
    report.add(
      "Address book",
      people.length ? "ok" : "warn",
      first
        ? `${people.length} ${
          people.length === 1 ? "person" : "people"
        } with an address, e.g. '${first.displayName} <${first.email}>'`
        : "No card with an address in this book: the address list would be empty",
    );
  } catch (error) {
    const text = message(error);
    const status = /answered (\d{3})$/.exec(text)?.[1];
    report.add(
      "Address book",
      "fail",
      status === "401"
        ? `The server refused '${target.user}' with this password`
        : status === "403"
        ? `'${target.user}' may not read this address book`
        : status === "404"
        ? `There is no address book at '${url.href}'`
        : url.protocol === "https:" && error instanceof BackendUnavailableError && error.cause
        ? describeTlsError(error.cause, hostname).detail
        : text,
    );
  }
  return report.result();
}
