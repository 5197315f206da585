/**
 * A Ping target for the push benchmark, run as its own process so its memory
 * is measured alone: `--mode box` serves the real EAS front door (hono app,
 * authenticator, SQLite store, change hub) over TLS on the box's own
 * HTTP/1.1 transport (src/http/http1_server.ts), as src/server.ts does;
 * `--mode bare` is a bare `Deno.serve` TLS server that only holds each
 * request open; `--mode bare-h1` the same on our transport; `--mode box-serve`
 * the box's app on Deno.serve (the listener before issue 11); `--mode hub`
 * holds each request in the change hub behind a bare Deno.serve (the hub's
 * own share of the cost). All answer
 * `GET /stats` with their RSS (after a GC), held requests and SQLite writes.
 *
 * Mailstore logins are replaced by a fixed password check: 10,000 users
 * cannot log in to a test Dovecot, and the memory question is about the box.
 *
 *   deno run -A --v8-flags=--expose-gc tools/load/ping_target.ts --mode box --users 1000 --data DIR
 */
import { parseArgs } from "node:util";
import { CompositeBackend } from "../../src/backend/composite.ts";
import { Authenticator } from "../../src/http/auth.ts";
import { createEasApp } from "../../src/http/eas_app.ts";
import { serveHttp1 } from "../../src/http/http1_server.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { ChangeHub } from "../../src/push/hub.ts";
import type { PushContext } from "../../src/push/push_context.ts";
import { StormGuard } from "../../src/push/storm_guard.ts";
import { Store } from "../../src/store/mod.ts";
import { ensureCertificate } from "../../src/tls/load.ts";
import { LOAD_PASSWORD } from "./ping_load.ts";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "box" },
    users: { type: "string", default: "100" },
    data: { type: "string" },
    "heartbeat-min": { type: "string", default: "60" },
  },
});
const mode = values.mode;
if (!["box", "box-serve", "bare", "bare-h1", "hub"].includes(mode)) {
  throw new Error(`Mode '${mode}' is not 'box', 'box-serve', 'bare', 'bare-h1' or 'hub'`);
}
/** The box's EAS app, on our transport (box) or on Deno.serve (box-serve, the listener before issue 11). */
const boxApp = mode === "box" || mode === "box-serve";
const dataDir = values.data ?? await Deno.makeTempDir({ prefix: "ping-target-" });
const cert = await ensureCertificate(dataDir, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
const dbPath = `${dataDir}/pushbridge.sqlite`;
const store = boxApp ? Store.open(dbPath) : undefined;

let held = 0;
let handler: (request: Request, info: { remoteAddr: Deno.NetAddr }) => Response | Promise<Response>;
let hub: ChangeHub | undefined;
if (store) {
  // Every simulated user owns INBOX as folder "1", as after a first FolderSync.
  const users = Number(values.users);
  store.db.transaction(() => {
    for (let i = 0; i < users; i++) store.folders.serverIdFor(`u${i}`, "imap:INBOX");
  });
  hub = new ChangeHub();
  const push: PushContext = {
    hub,
    storm: new StormGuard(),
    heartbeat: { minSeconds: Number(values["heartbeat-min"]), maxSeconds: 3540 },
  };
  const auth = new Authenticator((c) => Promise.resolve(c.password === LOAD_PASSWORD ? "ok" : "denied"));
  const app = createEasApp({
    store,
    auth,
    backendFor: () => new CompositeBackend([]),
    log: silentLogger,
    push,
    headersCheckedByTransport: mode === "box",
  });
  // No client address: the per-address cap on waiting password checks (LIMITS.maxAuthChecksPerIp)
  // would answer part of 10,000 logins from one generator address with 503.
  handler = (request) => app.fetch(request);
} else if (mode === "hub") {
  // The hub alone behind Deno.serve: what a held Ping costs without hono, auth and the store.
  hub = new ChangeHub();
  const hubRef = hub;
  handler = async (request) => {
    const url = new URL(request.url);
    const user = url.searchParams.get("User") ?? "";
    await request.arrayBuffer();
    await hubRef.wait({
      user,
      device: url.searchParams.get("DeviceId") ?? "",
      keys: ["imap:INBOX"],
      timeoutMs: 3_600_000,
      credentials: { user, password: LOAD_PASSWORD },
      signal: request.signal,
    });
    return new Response(null, { status: 200 });
  };
} else {
  handler = async (request) => {
    held++;
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 3_600_000);
        request.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
      return new Response(null, { status: 200 });
    } finally {
      held--;
    }
  };
}

const route = (request: Request, info: { remoteAddr: Deno.NetAddr }) => {
  // Not async: a held request keeps no suspended frame of this wrapper.
  if (!request.url.includes("/stats")) return handler(request, info);
  return stats();
};
const stats = async () => {
  (globalThis as { gc?: () => void }).gc?.();
  const fileBytes = async (path: string) => (await Deno.stat(path).catch(() => ({ size: 0 }))).size;
  return Response.json({
    rss: Deno.memoryUsage().rss,
    heapUsed: Deno.memoryUsage().heapUsed,
    held: hub ? hub.stats().held : held,
    totalChanges: store?.db.get<{ n: number }>("SELECT total_changes() AS n")?.n ?? 0,
    dbBytes: await fileBytes(dbPath) + await fileBytes(`${dbPath}-wal`),
  });
};
const listen = { hostname: "127.0.0.1", port: 0, cert: cert.certPem, key: cert.keyPem };
// The box and bare-h1 run on the box's own transport; bare and hub on Deno.serve, the baseline.
const server = mode === "box" || mode === "bare-h1"
  ? serveHttp1(listen, route)
  : Deno.serve({ ...listen, onListen: () => {} }, (request, info) =>
    route(request, info as { remoteAddr: Deno.NetAddr }));
console.log(
  JSON.stringify({ port: (server.addr as Deno.NetAddr).port, caCert: cert.caCertPem, pid: Deno.pid }),
);
