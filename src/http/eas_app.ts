import { Hono } from "hono";
import type { Context, MiddlewareHandler } from "hono";
import type { CompositeBackend } from "../backend/composite.ts";
import type { MailOperations } from "../backend/mail_operations.ts";
import type { MailSubmitter } from "../backend/submission.ts";
import { BackendUnavailableError, type Credentials } from "../backend/types.ts";
import { LIMITS } from "../config/limits.ts";
import type { CommandContext, EasRequest, EasResponse } from "../eas/commands/context.ts";
import type { ProvisioningHooks } from "../eas/commands/provision.ts";
import { EasHttpError, EasRequestError, EasStatusError } from "../eas/protocol/errors.ts";
import { parseEasQuery } from "../eas/protocol/query.ts";
import { atLeast, isProtocolVersion, PROTOCOL_VERSIONS } from "../eas/protocol/versions.ts";
import { COMMANDS, type CommandSpec } from "../eas/registry.ts";
import type { Logger } from "../log/logger.ts";
import { type ProtocolTracer, readAll, type TrafficMeter } from "../log/trace.ts";
import { type PushContext, syncWaiter } from "../push/push_context.ts";
import type { Store } from "../store/mod.ts";
import type { DeviceRecord } from "../store/devices.ts";
import { isStoreUnavailable } from "../store/database.ts";
import { decode, encode, encodeStream, WbxmlSyntaxError } from "../wbxml/mod.ts";
import type { Authenticator } from "./auth.ts";
import { type BodyTimeouts, checkHeaderSize, InFlightLimiter, readLimitedBody } from "./request_limits.ts";

/** What the EAS front door needs from the composition root. */
export interface EasAppDeps {
  store: Store;
  auth: Authenticator;
  /** The user's composite backend (bridges share per-user connections underneath). */
  backendFor(credentials: Credentials): CompositeBackend;
  log: Logger;
  /**
   * Runs before a command with the device known: provisioning, access rules
   * and wipe enforcement answer here (449 / Status 142..144) when they must.
   */
  gate?: (
    request: EasRequest,
    context: CommandContext,
    spec: CommandSpec,
  ) => Promise<EasResponse | undefined>;
  /** Policies and remote wipe for the Provision command. */
  provisioning?: ProvisioningHooks;
  /** Maximum accepted request body in bytes. */
  maxRequestBytes?: number;
  /** How slowly a body may arrive before 408 (LIMITS.bodyGraceMs and bodyMinBytesPerSecond by default). */
  bodyTimeouts?: BodyTimeouts;
  /**
   * The transport already refused heads above LIMITS.maxHeaderBytes / maxHeaderFields with 431
   * (src/http/http1_server.ts): the app does not count them again, which would make Headers build
   * and keep its sorted cache for every held request.
   */
  headersCheckedByTransport?: boolean;
  /** Requests one device may have in flight before 503 + Retry-After (LIMITS.maxRequestsPerDevice). */
  maxRequestsPerDevice?: number;
  /** SMTP submission for SendMail, SmartReply and SmartForward, when an SMTP server is configured. */
  submitter?: MailSubmitter;
  /** The user's mail operations (move, folder changes, originals, Sent), when IMAP is configured. */
  mailOpsFor?(credentials: Credentials): MailOperations;
  /** Per-user services of the settings and search commands (Out of Office, identity, GAL, mailbox search). */
  servicesFor?(
    credentials: Credentials,
    user: string,
  ): Pick<
    CommandContext,
    "oof" | "identity" | "passwordRecovery" | "gal" | "mailSearch" | "contacts" | "availability"
  >;
  /** Autodiscover (POX and JSON) served on the same listener, under any path capitalisation. */
  autodiscover?: MiddlewareHandler;
  /** Direct Push: Ping and hanging Sync wait in its hub; a new Ping or Sync of a device ends its held one. */
  push?: PushContext;
  /** Per-device protocol trace (setup page): exchanges of traced devices are recorded, redacted. */
  tracer?: ProtocolTracer;
  /** Requests per minute for the setup page's dashboard (memory only). */
  traffic?: TrafficMeter;
}

/** Response header naming the server's EAS version (MS-ASHTTP 2.2.2.1.1). */
const SERVER_VERSION = "15.1";
const WBXML_TYPE = "application/vnd.ms-sync.wbxml";
const REALM = 'Basic realm="Pushbridge ActiveSync"';

/**
 * The EAS front door (MS-ASHTTP): OPTIONS, the browser GET, and POST commands
 * dispatched through the command table. Errors map to HTTP statuses here and
 * nowhere else; no stack trace ever reaches a client.
 */
export function createEasApp(deps: EasAppDeps): Hono {
  const app = new Hono();
  const maxBytes = deps.maxRequestBytes ?? LIMITS.maxRequestBytes;
  const perDevice = new InFlightLimiter(deps.maxRequestsPerDevice ?? LIMITS.maxRequestsPerDevice, "device");
  if (deps.autodiscover) app.use("*", deps.autodiscover);

  app.on(["OPTIONS"], "/Microsoft-Server-ActiveSync", async (c) => {
    const auth = await deps.auth.authenticate(c.req.header("Authorization") ?? null, remoteIp(c));
    if (auth.kind !== "ok") return authFailure(auth.kind);
    return new Response(null, { status: 200, headers: optionsHeaders() });
  });

  app.get("/Microsoft-Server-ActiveSync", async (c) => {
    // A browser check of the URL: Exchange asks for credentials, then says the
    // endpoint exists but does not serve GET.
    const auth = await deps.auth.authenticate(c.req.header("Authorization") ?? null, remoteIp(c));
    if (auth.kind !== "ok") return authFailure(auth.kind);
    return new Response(
      "<!DOCTYPE html><title>Exchange ActiveSync</title><p>This is an Exchange ActiveSync endpoint. Add it as an Exchange account on a phone.</p>",
      {
        status: 501,
        headers: { "Content-Type": "text/html; charset=utf-8", "MS-Server-ActiveSync": SERVER_VERSION },
      },
    );
  });

  app.post("/Microsoft-Server-ActiveSync", (c) => {
    const started = performance.now();
    const seen: TraceSeen = {};
    // A callback, not an async arrow: a held Ping keeps one suspended frame less.
    return handlePost(c, deps, maxBytes, seen, perDevice).then((response) =>
      observe(deps, c, seen, response, started)
    );
  });

  return app;
}

async function handlePost(
  c: Context,
  deps: EasAppDeps,
  maxBytes: number,
  seen: TraceSeen = {},
  perDevice?: InFlightLimiter,
): Promise<Response> {
  const started = performance.now();
  const url = new URL(c.req.url);
  let command = "?";
  let deviceId = "";
  let user = "";
  let release: (() => void) | undefined;
  try {
    if (!deps.headersCheckedByTransport) checkHeaderSize(c.req.raw.headers);
    const query = parseEasQuery(url.search);
    command = query.command;
    deviceId = query.deviceId;
    const version = query.protocolVersion ?? c.req.header("MS-ASProtocolVersion") ?? "";
    if (!isProtocolVersion(version)) {
      throw new EasRequestError(
        version
          ? `Protocol version '${version}' is not supported`
          : "Header 'MS-ASProtocolVersion' is missing",
        { "MS-ASProtocolVersions": PROTOCOL_VERSIONS.join(",") },
      );
    }
    const spec = COMMANDS[query.command];
    if (
      !spec || !atLeast(version, spec.minVersion) || (spec.maxVersion && !atLeast(spec.maxVersion, version))
    ) {
      throw new EasHttpError(501, `Command '${query.command}' is not available in protocol ${version}`);
    }

    const auth = await deps.auth.authenticate(c.req.header("Authorization") ?? null, remoteIp(c));
    if (auth.kind !== "ok") return authFailure(auth.kind);
    user = auth.user;
    // Counted after authentication, so nobody can fill another user's device slots.
    release = perDevice?.acquire(`${user}\0${query.deviceId}`);

    let raw = await readLimitedBody(c.req.raw, maxBytes, deps.bodyTimeouts);
    const contentType = (c.req.header("Content-Type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
    seen.command = command;
    seen.contentType = contentType;
    const body = decodeBody(raw, contentType, spec);
    // The request's own headers, copied only when the policy key came in the base64 query (MS-ASHTTP 2.2.1.1.1.1).
    let headers = c.req.raw.headers;
    if (query.policyKey !== undefined && !headers.has("X-MS-PolicyKey")) {
      headers = new Headers(headers);
      headers.set("X-MS-PolicyKey", query.policyKey);
    }

    const device: DeviceRecord = deps.store.devices.sighted({
      user,
      deviceId: query.deviceId,
      deviceType: query.deviceType,
      userAgent: c.req.header("User-Agent") ?? "",
      protocolVersion: version,
    });
    seen.device = device.id;
    // Handlers read the raw bytes only of bodies that are not WBXML (SendMail MIME): a held Ping keeps no copy.
    if (deps.tracer?.isTracing(device.id)) seen.raw = raw;
    else if (body !== undefined) raw = EMPTY_BODY;
    const request: EasRequest = { body, raw, contentType, query, headers };
    const context = new RequestContext(deps, {
      user,
      credentials: auth.credentials,
      device,
      protocolVersion: version,
      store: deps.store,
      signal: c.req.raw.signal,
      log: deps.log,
      ...(deps.submitter ? { submitter: deps.submitter } : {}),
      ...(deps.push ? { push: deps.push } : {}),
      ...(deps.provisioning ? { provisioning: deps.provisioning } : {}),
      ...(deps.push && query.command === "Sync"
        ? {
          waitForChanges: syncWaiter(deps.push, {
            user,
            deviceId: query.deviceId,
            credentials: auth.credentials,
          }),
        }
        : {}),
    });
    // A new Ping or Sync supersedes the device's held request at once (its resources are freed).
    if (deps.push && (query.command === "Ping" || query.command === "Sync")) {
      deps.push.hub.supersede(user, query.deviceId);
    }
    const gated = deps.gate ? await deps.gate(request, context, spec) : undefined;
    const response = gated ?? await spec.handler(request, context);
    deps.log.info("eas.request", {
      command,
      user,
      deviceId,
      version,
      ms: Math.round(performance.now() - started),
    });
    return toHttpResponse(response);
  } catch (error) {
    return errorResponse(error, deps.log, { command, user, deviceId });
  } finally {
    release?.();
  }
}

const EMPTY_BODY = new Uint8Array(0);

type UserServices = ReturnType<NonNullable<EasAppDeps["servicesFor"]>>;

/** The fields of a command context that are not built on first use. */
type PlainContext = Omit<CommandContext, "backend" | "mailOps" | keyof UserServices>;

/** The plain fields, assigned in the constructor, and the service getters defined below. */
interface RequestContext extends PlainContext, UserServices {
  readonly mailOps?: MailOperations;
}

/**
 * The command context of one request. The user's backend, mail operations
 * and per-user services are getters on the prototype that build them on first
 * use: a held Ping uses none of them, and whatever a request builds (a
 * closure per request included) stays alive for as long as it waits.
 */
class RequestContext implements CommandContext {
  readonly #deps: EasAppDeps;
  #backend: CompositeBackend | undefined;
  #mailOps: MailOperations | undefined;
  #services: UserServices | undefined;

  constructor(deps: EasAppDeps, fields: PlainContext) {
    this.#deps = deps;
    Object.assign(this, fields);
  }

  get backend(): CompositeBackend {
    return this.#backend ??= this.#deps.backendFor(this.credentials);
  }

  /** The user's mail operations (the `mailOps` getter), made once per request. */
  operations(): MailOperations | undefined {
    return this.#mailOps ??= this.#deps.mailOpsFor?.(this.credentials);
  }

  /** The per-user services (Out of Office, identity, GAL, contacts, availability, mailbox search), made once per request. */
  services(): UserServices {
    return this.#services ??= this.#deps.servicesFor?.(this.credentials, this.user) ?? {};
  }
}

Object.defineProperty(RequestContext.prototype, "mailOps", {
  get(this: RequestContext) {
    return this.operations();
  },
});
/** Every per-user service, as a getter of RequestContext (a missing one is a type error here). */
const USER_SERVICES: Record<keyof UserServices, true> = {
  oof: true,
  identity: true,
  passwordRecovery: true,
  gal: true,
  contacts: true,
  availability: true,
  mailSearch: true,
};
for (const name of Object.keys(USER_SERVICES) as (keyof UserServices)[]) {
  Object.defineProperty(RequestContext.prototype, name, {
    get(this: RequestContext) {
      return this.services()[name];
    },
  });
}

/** What handlePost learned about a request, for the trace and the traffic meter. */
interface TraceSeen {
  command?: string;
  device?: number;
  raw?: Uint8Array;
  contentType?: string;
}

/**
 * Counts the request for the dashboard and, for a traced device, records the
 * exchange: the response body is teed, so the client streams as before and
 * the trace copy is written once the body is complete.
 */
function observe(
  deps: EasAppDeps,
  c: Context,
  seen: TraceSeen,
  response: Response,
  started: number,
): Response {
  const ms = Math.round(performance.now() - started);
  const command = seen.command ?? new URL(c.req.url).searchParams.get("Cmd") ?? "?";
  deps.traffic?.count(command, response.status, ms, seen.device);
  const tracer = deps.tracer;
  if (!tracer || seen.device === undefined || !tracer.isTracing(seen.device)) return response;
  const device = seen.device;
  const [forClient, forTrace] = response.body ? response.body.tee() : [null, null];
  readAll(forTrace).then((body) =>
    tracer.record(device, {
      command,
      query: new URL(c.req.url).search,
      status: response.status,
      ms,
      requestType: seen.contentType ?? "",
      request: seen.raw ?? new Uint8Array(0),
      responseType: response.headers.get("Content-Type") ?? "",
      response: body,
    })
  ).catch((error) => deps.log.warn("trace.failed", { error }));
  return new Response(forClient, { status: response.status, headers: response.headers });
}

function decodeBody(raw: Uint8Array, contentType: string, spec: CommandSpec) {
  if (raw.length === 0) {
    if (spec.body === "wbxml") throw new EasRequestError("Request body is empty");
    return undefined;
  }
  if (spec.body === "none") throw new EasRequestError("This command takes no request body");
  if (contentType === "message/rfc822" && spec.body === "mime-or-wbxml") return undefined;
  if (contentType !== WBXML_TYPE && contentType !== "application/vnd.ms-sync") {
    throw new EasRequestError(`Content-Type '${contentType}' is not ${WBXML_TYPE}`);
  }
  return decode(raw);
}

function toHttpResponse(response: EasResponse): Response {
  const headers = new Headers({ "MS-Server-ActiveSync": SERVER_VERSION, "Cache-Control": "private" });
  for (const [name, value] of Object.entries(response.headers ?? {})) headers.set(name, value);
  if (response.raw) {
    headers.set("Content-Type", response.raw.contentType);
    return new Response(response.raw.body as BodyInit, { status: 200, headers });
  }
  if (response.stream) {
    headers.set("Content-Type", WBXML_TYPE);
    return new Response(encodeStream(response.stream), { status: 200, headers });
  }
  if (response.body) {
    headers.set("Content-Type", WBXML_TYPE);
    return new Response(encode(response.body) as BodyInit, { status: 200, headers });
  }
  return new Response(null, { status: 200, headers });
}

function optionsHeaders(): Headers {
  return new Headers({
    "Allow": "OPTIONS,POST",
    "MS-Server-ActiveSync": SERVER_VERSION,
    "MS-ASProtocolVersions": PROTOCOL_VERSIONS.join(","),
    "MS-ASProtocolCommands": Object.keys(COMMANDS).join(","),
    "Public": "OPTIONS,POST",
    "Cache-Control": "private",
  });
}

function authFailure(kind: "missing" | "denied" | "unavailable"): Response {
  if (kind === "unavailable") {
    // The mailstore cannot check the password now; a 503 with Retry-After makes
    // phones wait instead of asking the user for a new password.
    return new Response("Mailstore unavailable", { status: 503, headers: { "Retry-After": "30" } });
  }
  return new Response("Unauthorized", { status: 401, headers: { "WWW-Authenticate": REALM } });
}

function errorResponse(error: unknown, log: Logger, where: Record<string, string>): Response {
  if (error instanceof WbxmlSyntaxError) {
    log.warn("eas.bad_wbxml", { ...where, error: error.message });
    return plain(400, `Malformed WBXML: ${error.message}`);
  }
  if (error instanceof EasHttpError) {
    log.warn("eas.http_error", { ...where, status: error.httpStatus, error: error.message });
    return plain(error.httpStatus, error.message, error.headers);
  }
  if (error instanceof BackendUnavailableError) {
    log.warn("eas.backend_unavailable", { ...where, error: error.message });
    return plain(503, "Mailstore unavailable, retry later", { "Retry-After": "30" });
  }
  if (isStoreUnavailable(error)) {
    // Nothing was committed (the transaction rolled back); the phone retries the same request.
    log.error("eas.store_unavailable", {
      ...where,
      error: error instanceof Error ? error.message : String(error),
    });
    return plain(503, "Storage busy, retry later", { "Retry-After": "30" });
  }
  if (error instanceof EasStatusError) {
    // A handler that let its in-band status escape: still no stack trace.
    log.error("eas.unhandled_status", { ...where, status: error.status });
    return plain(500, "Internal server error");
  }
  log.error("eas.crash", {
    ...where,
    error: error instanceof Error ? error.stack ?? error.message : String(error),
  });
  return plain(500, "Internal server error");
}

function plain(status: number, message: string, headers: Record<string, string> = {}): Response {
  return new Response(message, {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "MS-Server-ActiveSync": SERVER_VERSION,
      ...headers,
    },
  });
}

/** The client's address as Deno.serve reports it (hono passes the serve info as env). */
function remoteIp(c: Context): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "";
}
