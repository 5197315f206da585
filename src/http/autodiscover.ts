/**
 * Autodiscover for phones and Outlook: the POX protocol (MS-ASCMD 2.2.1.1,
 * MS-OXDSCLI 2.2.4) at /autodiscover/autodiscover.xml and the JSON v2 lookup
 * (GET /autodiscover/autodiscover.json) that current Outlook mobile and
 * Exchange Online clients try first.
 *
 * @module
 */

import type { MiddlewareHandler } from "hono";
import { autodiscoverDomains } from "../store/mail_domains.ts";
import type { MailstoreUrl } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import type { SettingsRepository } from "../store/settings_repository.ts";
import type { Authenticator } from "./auth.ts";

/** Namespaces of the POX protocol (MS-ASCMD 2.2.1.1, MS-OXDSCLI 2.2.4). */
export const AUTODISCOVER_NS = {
  /** Outer element of every response. */
  response: "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
  /** The schema phones ask for (MS-ASCMD 2.2.3.1 AcceptableResponseSchema). */
  mobileSync: "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006",
  /** The schema Outlook asks for (MS-OXDSCLI 2.2.4.1). */
  outlook: "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a",
} as const;

/**
 * POX error codes (MS-ASCMD 2.2.3.64 ErrorCode; MS-OXDSCLI 2.2.4.1.1.3.2):
 * 600 an invalid request, 601 no provider for the requested schema,
 * 603 an internal error of the server.
 */
export const AUTODISCOVER_ERROR_CODE = {
  InvalidRequest: 600,
  SchemaNotSupported: 601,
  BadAddressConfiguration: 602,
  InternalError: 603,
} as const;

/** Status of an Action/Error in the mobilesync schema (MS-ASCMD 2.2.3.177.1: 2 is "Protocol error"). */
export const AUTODISCOVER_STATUS = { ProtocolError: 2 } as const;

/** Largest POX request read; a real one is a few hundred bytes. */
const MAX_REQUEST_BYTES = 64 * 1024;
const EAS_PATH = "/Microsoft-Server-ActiveSync";
const REALM = 'Basic realm="Pushbridge Autodiscover"';

/** What Autodiscover needs from the composition root. */
export interface AutodiscoverDeps {
  auth: Authenticator;
  /** Stored settings (the served mail domains, store/mail_domains.ts). */
  settings: SettingsRepository;
  /** The box's public host name (PUSHBRIDGE_HOSTNAME); the request's Host header otherwise. */
  publicHostName?: string;
  /** The office mailstore, announced to Outlook in the Outlook schema. */
  imapUrl?: MailstoreUrl;
  smtpUrl?: MailstoreUrl;
  log: Logger;
}

/** A parsed POX request (MS-ASCMD 2.2.1.1.1). */
export interface PoxRequest {
  email: string;
  schema: string;
}

/** A POX request body that cannot be used; answered with ErrorCode 600. */
export class AutodiscoverRequestError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = "AutodiscoverRequestError";
  }
}

/** One DNS record the administrator creates so phones find the box. */
export interface DnsRecord {
  name: string;
  type: "CNAME" | "SRV";
  value: string;
  why: string;
}

/**
 * The DNS records for the setup page: phones try https://DOMAIN/ and
 * https://autodiscover.DOMAIN/ first, then the SRV record
 * _autodiscover._tcp.DOMAIN (MS-OXDSCLI 3.1.5.1 steps 1-2 and 4).
 */
export function autodiscoverDnsRecords(domains: string[], publicHostName: string, port = 443): DnsRecord[] {
  return domains.flatMap((domain) => [
    {
      name: `autodiscover.${domain}`,
      type: "CNAME" as const,
      value: publicHostName,
      why: "Phones post to https://autodiscover.DOMAIN/autodiscover/autodiscover.xml",
    },
    {
      name: `_autodiscover._tcp.${domain}`,
      type: "SRV" as const,
      value: `0 0 ${port} ${publicHostName}`,
      why: "Clients that find no Autodiscover host by name look up this SRV record",
    },
  ]);
}

/** Parses the POX request body; the elements are unique, so a tolerant scan suffices and no entity is expanded. */
export function parsePoxRequest(xml: string): PoxRequest {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) {
    throw new AutodiscoverRequestError("Document type declarations are not accepted");
  }
  if (!/<(?:\w+:)?Autodiscover[\s>]/.test(xml)) {
    throw new AutodiscoverRequestError("Element 'Autodiscover' is missing");
  }
  const email = elementValue(xml, "EMailAddress");
  if (!email) throw new AutodiscoverRequestError("Element 'EMailAddress' is missing");
  if (!/^[^@\s<>]+@[^@\s<>]+$/.test(email)) {
    throw new AutodiscoverRequestError(`'${email}' is not an email address`);
  }
  const schema = elementValue(xml, "AcceptableResponseSchema");
  if (!schema) throw new AutodiscoverRequestError("Element 'AcceptableResponseSchema' is missing");
  return { email, schema };
}

function elementValue(xml: string, name: string): string | undefined {
  // Attributes never contain '<' (XML 1.0 AttValue): stopping there keeps the scan linear; with
  // [^>]* every unclosed start tag rescanned the rest of the body (quadratic on a 64 KB request).
  const match = new RegExp(`<(?:\\w+:)?${name}(?:\\s[^<>]*)?>([^<]*)</(?:\\w+:)?${name}\\s*>`).exec(xml);
  return match?.[1] === undefined ? undefined : unescapeXml(match[1].trim());
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, entity: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (entity[0] !== "#") return named[entity.toLowerCase()] ?? "";
    const code = entity[1] === "x" || entity[1] === "X"
      ? parseInt(entity.slice(2), 16)
      : parseInt(entity.slice(1), 10);
    return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : "";
  });
}

/** Escapes text for XML content. */
export function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`,
  );
}

/** What an answer for one address says. */
export type PoxAnswer =
  | { kind: "settings"; email: string; easUrl: string; displayName?: string }
  | { kind: "redirect"; email: string; to: string }
  | { kind: "error"; email: string; message: string };

/** The mobilesync response document (MS-ASCMD 2.2.1.1.2) for an answer. */
export function mobileSyncResponse(answer: PoxAnswer): string {
  const user = `<User>${
    "displayName" in answer && answer.displayName
      ? `<DisplayName>${escapeXml(answer.displayName)}</DisplayName>`
      : ""
  }<EMailAddress>${escapeXml(answer.email)}</EMailAddress></User>`;
  let action: string;
  if (answer.kind === "settings") {
    const url = escapeXml(answer.easUrl);
    action =
      `<Settings><Server><Type>MobileSync</Type><Url>${url}</Url><Name>${url}</Name></Server></Settings>`;
  } else if (answer.kind === "redirect") {
    action = `<Redirect>${escapeXml(answer.to)}</Redirect>`;
  } else {
    action = `<Error><Status>${AUTODISCOVER_STATUS.ProtocolError}</Status><Message>${
      escapeXml(answer.message)
    }</Message><DebugData>MailUser</DebugData></Error>`;
  }
  return document(
    `<Response xmlns="${AUTODISCOVER_NS.mobileSync}"><Culture>en:us</Culture>${user}<Action>${action}</Action></Response>`,
  );
}

/**
 * The Outlook schema answer (MS-OXDSCLI 2.2.4.1.1.1): an Account of type
 * "email" with Action "settings" and one Protocol per mailstore service.
 * The Protocol Type values of that schema are EXCH, EXPR, EXHTTP and WEB for
 * Exchange and POP3, SMTP, IMAP for internet mail (learn.microsoft.com "Type
 * (POX)" and "Server (POX)"); none names ActiveSync, and Outlook for Windows
 * adds EAS accounts only for Outlook.com. So Outlook is told the truth it can
 * use: the office's IMAP and SMTP servers. Answering only the mobilesync
 * schema, as Z-Push does, makes Outlook fail the whole lookup.
 */
export function outlookResponse(
  email: string,
  login: string,
  imapUrl: MailstoreUrl | undefined,
  smtpUrl: MailstoreUrl | undefined,
  displayName?: string,
): string {
  const protocols: string[] = [];
  if (imapUrl) {
    protocols.push(outlookProtocol("IMAP", imapUrl, login, imapUrl.implicitTls ? "SSL" : "TLS"));
  }
  if (smtpUrl) {
    protocols.push(outlookProtocol("SMTP", smtpUrl, login, smtpUrl.implicitTls ? "SSL" : "TLS"));
  }
  if (protocols.length === 0) {
    return errorDocument(AUTODISCOVER_ERROR_CODE.BadAddressConfiguration, "No mailstore is configured");
  }
  const user = `<User>${displayName ? `<DisplayName>${escapeXml(displayName)}</DisplayName>` : ""}` +
    `<AutoDiscoverSMTPAddress>${escapeXml(email)}</AutoDiscoverSMTPAddress></User>`;
  return document(
    `<Response xmlns="${AUTODISCOVER_NS.outlook}">${user}<Account><AccountType>email</AccountType>` +
      `<Action>settings</Action>${protocols.join("")}</Account></Response>`,
  );
}

function outlookProtocol(type: string, url: MailstoreUrl, login: string, encryption: string): string {
  return `<Protocol><Type>${type}</Type><Server>${escapeXml(url.hostname)}</Server><Port>${url.port}</Port>` +
    `<LoginName>${escapeXml(login)}</LoginName><DomainRequired>off</DomainRequired><SPA>off</SPA>` +
    `<Encryption>${encryption}</Encryption><AuthRequired>on</AuthRequired></Protocol>`;
}

/** The schema-level error (MS-ASCMD 4.2.2 example; AutodiscoverResponse.xsd's own Response element). */
export function errorDocument(code: number, message: string): string {
  const now = new Date();
  const time = `${now.toISOString().slice(11, 23)}0000`;
  const id = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return document(
    `<Response><Error Time="${time}" Id="${id}"><ErrorCode>${code}</ErrorCode><Message>${
      escapeXml(message)
    }</Message><DebugData /></Error></Response>`,
  );
}

function document(response: string): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="${AUTODISCOVER_NS.response}">${response}</Autodiscover>\n`;
}

/**
 * Decides the answer for an authenticated request: settings when the address
 * belongs to a served domain (or no domains are configured), a Redirect to
 * the user's address in the primary domain otherwise (MS-ASCMD 2.2.3.144:
 * the client retries with the address it is given).
 */
export function decideAnswer(
  email: string,
  login: string,
  domains: string[],
  easUrl: string,
): PoxAnswer {
  const domain = email.slice(email.lastIndexOf("@") + 1).toLowerCase();
  if (domains.length === 0 || domains.includes(domain)) return { kind: "settings", email, easUrl };
  const loginDomain = login.includes("@") ? login.slice(login.lastIndexOf("@") + 1) : "";
  const local = login.includes("@") ? login.slice(0, login.lastIndexOf("@")) : login;
  const target = domains.includes(loginDomain) ? login : `${local}@${domains[0]}`;
  if (target.toLowerCase() === email.toLowerCase()) {
    return { kind: "error", email, message: `Domain '${domain}' is not served here` };
  }
  return { kind: "redirect", email, to: target };
}

/** The EAS URL announced to clients: the configured public host, else the host the client reached. */
export function easUrlFor(request: Request, publicHostName: string | undefined): string {
  const url = new URL(request.url);
  const forwardedProto = request.headers.get("X-Forwarded-Proto");
  const host = publicHostName ?? request.headers.get("Host") ?? url.host;
  // Phones only speak EAS over TLS; plain http appears only behind a TLS-terminating proxy.
  const scheme = forwardedProto === "http" || forwardedProto === "https" ? forwardedProto : "https";
  return `${scheme}://${host}${EAS_PATH}`;
}

/**
 * The hono middleware answering Autodiscover under every capitalisation
 * phones use (/Autodiscover/Autodiscover.xml, /autodiscover/autodiscover.xml,
 * /AutoDiscover/AutoDiscover.xml, ...); other paths pass through.
 */
export function createAutodiscover(deps: AutodiscoverDeps): MiddlewareHandler {
  return async (c, next) => {
    const path = c.req.path.toLowerCase().replace(/\/+$/, "");
    if (path === "/autodiscover/autodiscover.xml") {
      // The client address feeds the per-address lockout, as on the EAS endpoint: without it
      // Autodiscover was a password-guessing door limited only per user name.
      const remote = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname ??
        "";
      return await handlePox(c.req.raw, deps, remote);
    }
    if (path === "/autodiscover/autodiscover.json" || path.startsWith("/autodiscover/autodiscover.json/")) {
      return handleJson(c.req.raw, deps);
    }
    await next();
  };
}

async function handlePox(request: Request, deps: AutodiscoverDeps, remoteIp: string): Promise<Response> {
  if (request.method !== "POST" && request.method !== "GET") {
    return new Response("Method not allowed", { status: 405, headers: { Allow: "GET, POST" } });
  }
  const auth = await deps.auth.authenticate(request.headers.get("Authorization"), remoteIp);
  if (auth.kind === "unavailable") {
    return new Response("Mailstore unavailable", { status: 503, headers: { "Retry-After": "30" } });
  }
  if (auth.kind !== "ok") {
    return new Response("Unauthorized", { status: 401, headers: { "WWW-Authenticate": REALM } });
  }
  let parsed: PoxRequest;
  try {
    if (request.method === "GET") throw new AutodiscoverRequestError("Autodiscover expects a POST request");
    parsed = parsePoxRequest(await readText(request));
  } catch (error) {
    if (!(error instanceof AutodiscoverRequestError)) throw error;
    deps.log.info("autodiscover.bad_request", { user: auth.user, error: error.message });
    return xml(errorDocument(AUTODISCOVER_ERROR_CODE.InvalidRequest, "Invalid Request"));
  }
  const domains = autodiscoverDomains(deps.settings);
  deps.log.info("autodiscover.pox", { user: auth.user, schema: parsed.schema });
  if (parsed.schema === AUTODISCOVER_NS.mobileSync) {
    return xml(mobileSyncResponse(
      decideAnswer(parsed.email, auth.user, domains, easUrlFor(request, deps.publicHostName)),
    ));
  }
  if (parsed.schema === AUTODISCOVER_NS.outlook) {
    const answer = decideAnswer(parsed.email, auth.user, domains, "");
    if (answer.kind === "redirect") {
      // MS-OXDSCLI 2.2.4.1.1.2.2: Action "redirectAddr" with RedirectAddr.
      return xml(document(
        `<Response xmlns="${AUTODISCOVER_NS.outlook}"><Account><Action>redirectAddr</Action>` +
          `<RedirectAddr>${escapeXml(answer.to)}</RedirectAddr></Account></Response>`,
      ));
    }
    if (answer.kind === "error") {
      return xml(errorDocument(AUTODISCOVER_ERROR_CODE.BadAddressConfiguration, answer.message));
    }
    return xml(outlookResponse(parsed.email, auth.credentials.user, deps.imapUrl, deps.smtpUrl));
  }
  return xml(errorDocument(AUTODISCOVER_ERROR_CODE.SchemaNotSupported, "Provider is not available"));
}

/**
 * Autodiscover v2 (JSON), as Exchange Online answers it: GET
 * /autodiscover/autodiscover.json?Email=a@b&Protocol=ActiveSync (or
 * /autodiscover/autodiscover.json/v1.0/a@b?Protocol=...) gives
 * {"Protocol","Url"}; it needs no authentication, only the URL is revealed.
 */
function handleJson(request: Request, deps: AutodiscoverDeps): Response {
  if (request.method !== "GET") {
    return new Response("Method not allowed", { status: 405, headers: { Allow: "GET" } });
  }
  const url = new URL(request.url);
  const params = new Map([...url.searchParams].map(([k, v]) => [k.toLowerCase(), v]));
  const fromPath = /\/autodiscover\.json\/v1\.0\/([^/?]+)$/i.exec(url.pathname)?.[1];
  const email = params.get("email") ?? (fromPath ? decodeURIComponent(fromPath) : undefined);
  const protocol = params.get("protocol") ?? "";
  if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) {
    return json(400, { ErrorCode: "InvalidUser", ErrorMessage: `'${email ?? ""}' is not an email address` });
  }
  const base = easUrlFor(request, deps.publicHostName).slice(0, -EAS_PATH.length);
  switch (protocol.toLowerCase()) {
    case "activesync":
      return json(200, { Protocol: "ActiveSync", Url: `${base}${EAS_PATH}` });
    case "autodiscoverv1":
      return json(200, { Protocol: "AutodiscoverV1", Url: `${base}/autodiscover/autodiscover.xml` });
    default:
      return json(400, {
        ErrorCode: "InvalidProtocol",
        ErrorMessage:
          `The given protocol value '${protocol}' is invalid. Supported values are 'ActiveSync,AutodiscoverV1'`,
      });
  }
}

async function readText(request: Request): Promise<string> {
  const declared = Number(request.headers.get("Content-Length") ?? "0");
  if (declared > MAX_REQUEST_BYTES) {
    throw new AutodiscoverRequestError(`Request of ${declared} bytes is too large`);
  }
  if (!request.body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of request.body) {
    total += chunk.length;
    if (total > MAX_REQUEST_BYTES) throw new AutodiscoverRequestError("Request is too large");
    chunks.push(chunk);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(bytes);
}

function xml(body: string): Response {
  return new Response(body, {
    status: 200,
    headers: { "Content-Type": "text/xml; charset=utf-8", "Cache-Control": "private" },
  });
}

function json(status: number, body: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "private" },
  });
}
