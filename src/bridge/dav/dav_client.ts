/**
 * WebDAV/CalDAV/CardDAV over fetch with the user's own credentials (Basic):
 * PROPFIND, REPORT (sync-collection RFC 6578, calendar-multiget RFC 4791
 * 7.9, addressbook-multiget RFC 6352 8.7), GET/PUT/DELETE with ETags
 * (If-Match / If-None-Match, so a concurrent edit is never overwritten),
 * MKCALENDAR, extended MKCOL (RFC 5689), PROPPATCH, and discovery
 * (RFC 6764 well-known URLs, current-user-principal, home sets).
 */
import { BackendUnavailableError, type Credentials } from "../../backend/types.ts";
import { escapeXml, kid, kids, NS, parseXml, type XmlNode } from "./_xml.ts";

/** How the client reaches the server. */
export interface DavClientOptions {
  /** PUSHBRIDGE_DAV_URL: the server root or any URL below it. */
  url: URL;
  credentials: Credentials;
  /** PEM CA certificates for a private mailstore CA. */
  caCerts?: string[];
  /** Per request timeout (ms). */
  timeoutMs?: number;
}

/** One response of a multistatus: its href, status and properties by "ns|name". */
export interface DavResponse {
  href: string;
  status: number;
  props: Map<string, XmlNode>;
  /**
   * Set when every propstat of the response was refused (401/403, RFC 4918 9.1.2): the resource
   * exists but the user may not read it, as SabreDAV answers for another user's calendar home.
   */
  refused?: true;
}

/** A DAV write refused because the resource changed (412) or exists (If-None-Match). */
export class DavPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DavPreconditionError";
  }
}

/** The server refused an operation (403, 405, 409, 415, 507...). */
export class DavRefusedError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "DavRefusedError";
  }
}

/** The sync token is no longer valid (RFC 6578 3.2 valid-sync-token precondition). */
export class DavSyncTokenError extends Error {
  constructor() {
    super("Sync token is no longer valid");
    this.name = "DavSyncTokenError";
  }
}

/**
 * The DAV server refused credentials the IMAP server accepted (the box
 * checks passwords against IMAP before any command runs): a fault of the
 * mailstore, answered as "retry later", never as a 401 that would make the
 * phone ask its user for a password that is right.
 */
export class DavAuthError extends BackendUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = "DavAuthError";
  }
}

/**
 * The server answered 5xx. Still a BackendUnavailableError; the status lets a caller that has a
 * safe fallback use it (Xandikos 0.2 answers 500 to a sync-collection with a token it does not
 * know, where RFC 6578 3.2 asks for 403 valid-sync-token).
 */
export class DavServerError extends BackendUnavailableError {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = "DavServerError";
  }
}

/** Home sets of the user (RFC 4791 6.2.1, RFC 6352 7.1.1). */
export interface DavHomes {
  principal: string;
  calendarHomes: string[];
  addressbookHomes: string[];
  /** RFC 6638 schedule-outbox: the server does the iMIP scheduling itself. */
  scheduleOutbox?: string;
}

const key = (ns: string, name: string) => `${ns}|${name}`;

/** Default timeout of one DAV request. */
export const DAV_TIMEOUT_MS = 30_000;

/** A CalDAV/CardDAV client for one user. */
export class DavClient {
  readonly #options: DavClientOptions;
  readonly #auth: string;
  #httpClient: Deno.HttpClient | undefined;

  constructor(options: DavClientOptions) {
    this.#options = options;
    const bytes = new TextEncoder().encode(`${options.credentials.user}:${options.credentials.password}`);
    this.#auth = `Basic ${btoa(String.fromCharCode(...bytes))}`;
    if (options.caCerts?.length) this.#httpClient = Deno.createHttpClient({ caCerts: options.caCerts });
  }

  /** Absolute URL of an href (path) on the server. */
  url(href: string): URL {
    return new URL(href, this.#options.url);
  }

  /** Sends a request; maps 401 to DavAuthError and network failures to BackendUnavailableError. */
  async request(
    method: string,
    href: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: this.#auth, ...init.headers };
    if (init.body !== undefined && !headers["content-type"]) {
      headers["content-type"] = "application/xml; charset=utf-8";
    }
    let response: Response;
    try {
      response = await fetch(this.url(href), {
        method,
        headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? DAV_TIMEOUT_MS),
        ...(this.#httpClient ? { client: this.#httpClient } : {}),
      } as RequestInit);
    } catch (error) {
      throw new BackendUnavailableError(`DAV ${method} '${href}' failed: ${(error as Error).message}`, error);
    }
    if (response.status === 401) {
      await response.body?.cancel();
      throw new DavAuthError(`DAV server refused the credentials of '${this.#options.credentials.user}'`);
    }
    if (response.status >= 500) {
      await response.body?.cancel();
      throw new DavServerError(`DAV ${method} '${href}' answered ${response.status}`, response.status);
    }
    return response;
  }

  /** PROPFIND with the given properties ([ns, name]); `depth` 0 or 1. */
  async propfind(href: string, properties: [string, string][], depth: 0 | 1): Promise<DavResponse[]> {
    const body = `<?xml version="1.0" encoding="utf-8"?><d:propfind xmlns:d="DAV:"><d:prop>${
      properties.map(([ns, name], i) => `<x${i}:${name} xmlns:x${i}="${escapeXml(ns)}"/>`).join("")
    }</d:prop></d:propfind>`;
    const response = await this.request("PROPFIND", href, { body, headers: { depth: String(depth) } });
    return await this.#multistatus(response, `PROPFIND '${href}'`);
  }

  async #multistatus(response: Response, what: string): Promise<DavResponse[]> {
    const text = await bodyText(response, what);
    if (response.status === 404) throw new DavRefusedError(`${what}: not found`, 404);
    if (response.status === 403 && /valid-sync-token/.test(text)) throw new DavSyncTokenError();
    if (response.status !== 207) {
      throw new DavRefusedError(`${what} answered ${response.status}`, response.status);
    }
    const root = parseXml(text);
    return kids(root, NS.DAV, "response").map((r) => {
      const props = new Map<string, XmlNode>();
      let status = statusOf(kid(r, NS.DAV, "status")?.text) ?? 200;
      const propstats = kids(r, NS.DAV, "propstat");
      let refused = propstats.length > 0;
      for (const ps of propstats) {
        const s = statusOf(kid(ps, NS.DAV, "status")?.text) ?? 200;
        if (s !== 401 && s !== 403) refused = false;
        if (s >= 300) continue;
        status = 200;
        for (const p of kid(ps, NS.DAV, "prop")?.children ?? []) props.set(key(p.ns, p.name), p);
      }
      const href = decodeURIComponent(kid(r, NS.DAV, "href")?.text.trim() ?? "");
      return refused ? { href, status, props, refused } : { href, status, props };
    });
  }

  /** REPORT with an XML body; answers the multistatus responses. */
  async report(href: string, body: string, depth: 0 | 1 = 1): Promise<DavResponse[]> {
    const response = await this.request("REPORT", href, { body, headers: { depth: String(depth) } });
    return await this.#multistatus(response, `REPORT '${href}'`);
  }

  /** Finds the principal and home sets (RFC 6764 section 6, RFC 5397, RFC 4791 6.2.1, RFC 6352 7.1.1). */
  async discover(): Promise<DavHomes> {
    const start = this.#options.url.pathname;
    let principal: string | undefined;
    for (const candidate of [start, "/.well-known/caldav", "/.well-known/carddav", "/"]) {
      try {
        const href = await this.#followRedirects(candidate);
        const [r] = await this.propfind(href, [[NS.DAV, "current-user-principal"]], 0);
        const p = kid(r?.props.get(key(NS.DAV, "current-user-principal")), NS.DAV, "href")?.text.trim();
        if (p) {
          principal = p;
          break;
        }
      } catch (error) {
        if (error instanceof BackendUnavailableError) throw error;
      }
    }
    if (!principal) throw new BackendUnavailableError("DAV server names no current-user-principal");
    const [r] = await this.propfind(principal, [
      [NS.CALDAV, "calendar-home-set"],
      [NS.CARDDAV, "addressbook-home-set"],
      [NS.CALDAV, "schedule-outbox-URL"],
    ], 0);
    const hrefs = (name: string, ns: string) =>
      kids(r?.props.get(key(ns, name)), NS.DAV, "href").map((h) => decodeURIComponent(h.text.trim()));
    const homes: DavHomes = {
      principal,
      calendarHomes: hrefs("calendar-home-set", NS.CALDAV),
      addressbookHomes: hrefs("addressbook-home-set", NS.CARDDAV),
    };
    const outbox = hrefs("schedule-outbox-URL", NS.CALDAV)[0];
    if (outbox) homes.scheduleOutbox = outbox;
    return homes;
  }

  async #followRedirects(href: string): Promise<string> {
    let current = href;
    for (let i = 0; i < 3; i++) {
      const response = await this.request("PROPFIND", current, {
        body:
          '<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/></d:prop></d:propfind>',
        headers: { depth: "0" },
      });
      await response.body?.cancel();
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location) {
        current = new URL(location, this.url(current)).pathname;
        continue;
      }
      return current;
    }
    return current;
  }

  /** GET of one resource: its text and ETag, or undefined when it is gone. */
  async get(href: string): Promise<{ data: string; etag: string } | undefined> {
    const response = await this.request("GET", href);
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new DavRefusedError(`GET '${href}' answered ${response.status}`, response.status);
    }
    return { data: await bodyText(response, `GET '${href}'`), etag: response.headers.get("etag") ?? "" };
  }

  /**
   * PUT with a precondition: `etag` "" means create only (If-None-Match: *),
   * otherwise replace only that version (If-Match). Answers the new ETag
   * ("" when the server sent none).
   */
  async put(href: string, data: string, contentType: string, etag: string): Promise<string> {
    const response = await this.request("PUT", href, {
      body: data,
      headers: {
        "content-type": `${contentType}; charset=utf-8`,
        ...(etag ? { "if-match": etag } : { "if-none-match": "*" }),
      },
    });
    await response.body?.cancel();
    if (response.status === 412) throw new DavPreconditionError(`'${href}' changed on the server`);
    if (!response.ok) throw new DavRefusedError(`PUT '${href}' answered ${response.status}`, response.status);
    return response.headers.get("etag") ?? "";
  }

  /** DELETE (If-Match when an ETag is given); false when it was already gone. */
  async delete(href: string, etag = ""): Promise<boolean> {
    const response = await this.request("DELETE", href, { headers: etag ? { "if-match": etag } : {} });
    await response.body?.cancel();
    if (response.status === 404) return false;
    if (response.status === 412) throw new DavPreconditionError(`'${href}' changed on the server`);
    if (!response.ok) {
      throw new DavRefusedError(`DELETE '${href}' answered ${response.status}`, response.status);
    }
    return true;
  }

  /** Sends a raw method with an XML body (MKCALENDAR, MKCOL, PROPPATCH); throws DavRefusedError on failure. */
  async mutate(method: string, href: string, body: string): Promise<void> {
    const response = await this.request(method, href, { body });
    const text = await bodyText(response, `${method} '${href}'`);
    if (!response.ok) {
      throw new DavRefusedError(`${method} '${href}' answered ${response.status}`, response.status);
    }
    if (response.status === 207 && /<[^>]*status>[^<]*\s[45]\d\d\s/i.test(text)) {
      throw new DavRefusedError(`${method} '${href}' was refused`, 403);
    }
  }
}

/** Reads a body; a connection cut mid-body is the server's fault, retryable (BackendUnavailableError). */
async function bodyText(response: Response, what: string): Promise<string> {
  try {
    return await response.text();
  } catch (error) {
    throw new BackendUnavailableError(`${what}: the answer was cut: ${(error as Error).message}`, error);
  }
}

function statusOf(text: string | undefined): number | undefined {
  const m = /\s(\d{3})\s?/.exec(text ?? "");
  return m ? Number(m[1]) : undefined;
}

/** "ns|name" key of a property in DavResponse.props. */
export const propKey = key;
