/**
 * Setup page fuzz: random forms, JSON and ids POSTed (with a valid session
 * and CSRF token) to the setup page's forms and /api routes of a running box.
 * No answer may be a 500 or carry a stack trace, and the page keeps serving.
 * Routes that restart the box, install updates, change the admin password,
 * end the session or probe arbitrary hosts are left out.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { createLogger } from "../../src/log/logger.ts";
import { startBox } from "../integration/fixture.ts";
import { syncFolders } from "../integration/send_fixture.ts";
import { fuzzParams, NETWORK_RUNS } from "./_runs.ts";

const ROUTES: [string, string][] = [
  ["POST", "/devices/:id/wipe"],
  ["POST", "/devices/:id/delete"],
  ["POST", "/devices/:id/trace/start"],
  ["POST", "/devices/:id/trace/stop"],
  ["POST", "/maintenance/restore"],
  ["POST", "/api/restore"],
  ["POST", "/notifications"],
  ["POST", "/policies"],
  ["POST", "/policies/inherit"],
  ["POST", "/access"],
  ["POST", "/access/:id/remove"],
  ["POST", "/api/policies"],
  ["POST", "/api/policies/inherit"],
  ["POST", "/wizard/host"],
  ["POST", "/wizard/tls"],
  ["GET", "/api/devices/:id"],
  ["GET", "/api/devices/:id/trace"],
  ["GET", "/api/policies"],
  ["DELETE", "/api/access/:id"],
  ["GET", "/devices/:id"],
];

const FIELDS = [
  "scope",
  "action",
  "user",
  "deviceId",
  "deviceType",
  "model",
  "value",
  "minutes",
  "duration",
  "host",
  "mode",
  "cert",
  "key",
  "name",
  "enabled",
  "from",
  "to",
  "smtpUrl",
  "policy",
  "element",
  "inherit",
  "accountOnly",
  "confirm",
  "dryRun",
  "backup",
];
const STACK = /\n\s+at |\.ts:\d+:\d+|file:\/\//;

Deno.test("random forms, JSON and ids to the setup page never get a 500 or a stack trace, and the page keeps serving", async () => {
  const adminPassword = "fuzz-admin-Pw9";
  const lines: string[] = [];
  const box = await startBox({
    env: { PUSHBRIDGE_ADMIN_PASSWORD: adminPassword },
    log: createLogger("warn", (line) => lines.push(line)),
  });
  try {
    await syncFolders(box.client());
    const { cookie, csrf } = await loginToSetup(box.server.setupUrl, adminPassword);

    const failures: string[] = [];
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.oneof(
          fc.constantFrom("1", "0", "-1", "999999", "abc", "1e3", "%00", "1;2", ""),
          fc.string({ maxLength: 12 }),
        ),
        fc.oneof(
          fc.dictionary(
            fc.constantFrom(...FIELDS),
            fc.oneof(
              fc.string({ maxLength: 40 }),
              fc.constantFrom("", "0", "-5", "1e309", "block", "allow", "box", "user:alice"),
            ),
          ).map((d) => ({ form: d })),
          fc.json({ maxDepth: 3 }).map((json) => ({ json })),
          fc.string({ maxLength: 300 }).map((text) => ({ text })),
        ),
        async ([method, route], id, body) => {
          const path = route.replace(":id", encodeURIComponent(id));
          const headers: Record<string, string> = { Cookie: cookie, "X-CSRF-Token": csrf };
          let payload: string | undefined;
          if (method !== "GET") {
            if ("form" in body) {
              headers["Content-Type"] = "application/x-www-form-urlencoded";
              payload = new URLSearchParams({ ...body.form, csrf: csrf }).toString();
            } else if ("json" in body) {
              headers["Content-Type"] = "application/json";
              payload = body.json;
            } else {
              headers["Content-Type"] = "text/plain";
              payload = body.text;
            }
          }
          const response = await fetch(`${box.server.setupUrl}${path}`, {
            method,
            headers,
            redirect: "manual",
            ...(payload !== undefined ? { body: payload } : {}),
            signal: AbortSignal.timeout(15_000),
          });
          const text = await response.text();
          seen.set(response.status, (seen.get(response.status) ?? 0) + 1);
          if (response.status >= 500 || STACK.test(text)) {
            failures.push(
              `${method} ${path} ${JSON.stringify(body).slice(0, 100)} -> ${response.status}: ${
                text.slice(0, 100)
              }`,
            );
          }
        },
      ),
      fuzzParams("network"),
    );
    const crashes = lines.filter((l) => /crash|error/.test(l)).map((l) => l.slice(0, 400));
    const distinct = [
      ...new Set(
        failures.map((f) => f.replace(/ \{.*-> /, " -> ").replace(/\/devices\/[^/]*/, "/devices/:id")),
      ),
    ];
    assert.deepEqual(distinct, [], `log:\n${crashes.slice(0, 5).join("\n")}`);
    const health = await fetch(`${box.server.setupUrl}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    console.log(`${NETWORK_RUNS} requests; answers:`, Object.fromEntries(seen));
  } finally {
    await box.stop();
  }
});

/** Logs in to the setup page: the session cookie and the page's CSRF token. */
async function loginToSetup(setupUrl: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const login = await fetch(`${setupUrl}/login`, {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ password }),
  });
  await login.body?.cancel();
  const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0]!;
  assert.ok(cookie.includes("="), `logged in (${login.status})`);
  const home = await (await fetch(`${setupUrl}/`, { headers: { Cookie: cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(home)?.[1] ?? /data-csrf="([^"]+)"/.exec(home)?.[1];
  assert.ok(csrf, "a CSRF token on the page");
  return { cookie, csrf };
}

Deno.test("a trace start with a missing or out-of-range duration is refused as bad input, not answered 500", async () => {
  const adminPassword = "fuzz-admin-Pw9";
  const box = await startBox({ env: { PUSHBRIDGE_ADMIN_PASSWORD: adminPassword } });
  try {
    await syncFolders(box.client());
    const { cookie, csrf } = await loginToSetup(box.server.setupUrl, adminPassword);
    const device = box.server.store.devices.list()[0]!;
    const statuses: number[] = [];
    for (const minutes of ["0", "abc", "100000", undefined]) {
      const form = new URLSearchParams({ csrf, ...(minutes !== undefined ? { minutes } : {}) });
      const response = await fetch(`${box.server.setupUrl}/devices/${device.id}/trace/start`, {
        method: "POST",
        redirect: "manual",
        headers: { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" },
        body: form,
      });
      await response.body?.cancel();
      statuses.push(response.status);
    }
    assert.ok(statuses.every((s) => s < 500), `answers ${statuses.join(", ")}`);
  } finally {
    await box.stop();
  }
});
