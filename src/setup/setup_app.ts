/**
 * The local setup page and admin console (hono on the setup listener):
 * first-boot password, login, the wizard, dashboard, devices, policies,
 * traces, phone onboarding, audit log and maintenance, plus a JSON API under
 * /api/ behind the same session. Server-rendered HTML with a small script;
 * every asset is embedded.
 *
 * @module
 */
import { Hono } from "hono";
import { DeviceAdmin } from "../admin/device_admin.ts";
import { VERSION } from "../version.ts";
import {
  hashPassword,
  LoginLimiter,
  SessionStore,
  SETUP_SECURITY,
  timingSafeEqual,
  verifyPassword,
} from "./_auth.ts";
import {
  formValues,
  type SetupAppDeps,
  type SetupContext,
  type SetupEnv,
  type SetupShared,
} from "./_context.ts";
import { registerDashboard } from "./_dashboard.ts";
import { registerDevices } from "./_devices.ts";
import { APP_CSS, APP_JS, page } from "./_layout.ts";
import { registerMaintenance } from "./_maintenance.ts";
import { registerNotifications } from "./_notifications.ts";
import { registerOnboarding } from "./_onboarding.ts";
import { registerPolicies } from "./_policies.ts";
import { registerWizard, runProbe } from "./_wizard.ts";
import { escapeHtml } from "./html.ts";

export type { SetupAppDeps } from "./_context.ts";

/** Name of the session cookie. */
export const SESSION_COOKIE = "pushbridge_session";

/** Paths served without a session. */
const PUBLIC_PATHS = new Set([
  "/login",
  "/welcome",
  "/healthz",
  "/assets/app.css",
  "/assets/app.js",
  "/ca.crt",
]);

/** Security headers of every answer: no framing, scripts and styles only from the box itself. */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "same-origin",
  "Cache-Control": "no-store",
} as const;

/** The value of a request cookie. */
function getCookie(c: SetupContext, name: string): string | undefined {
  for (const part of (c.req.header("Cookie") ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

/** Sets the session cookie: HttpOnly, SameSite=Strict, Secure on TLS; maxAge 0 deletes it. */
function setCookie(
  c: SetupContext,
  name: string,
  value: string,
  options: { secure?: boolean; maxAge?: number } = {},
): void {
  const parts = [`${name}=${value}`, "Path=/", "HttpOnly", "SameSite=Strict"];
  if (options.secure) parts.push("Secure");
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`);
  c.header("Set-Cookie", parts.join("; "), { append: true });
}

function remoteAddress(c: SetupContext): string {
  const info = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

/** Creates the setup app. */
export function createSetupApp(deps: SetupAppDeps): Hono<SetupEnv> {
  const now = deps.now ?? Date.now;
  const shared: SetupShared = {
    deps,
    env: deps.env ?? Deno.env.toObject(),
    now,
    admin: deps.admin ?? new DeviceAdmin({
      store: deps.store,
      actor: "setup:admin",
      // A held Ping of the device ends at once, so a wipe or policy change reaches it now.
      onEvent: (event) => {
        if (event.user) deps.push?.hub.kick(event.user, event.deviceId || undefined);
      },
      now,
    }),
    audit(action, fields = {}) {
      deps.store.audit.add({
        actor: "admin",
        user: fields.user ?? "",
        deviceId: fields.deviceId ?? "",
        action,
        result: fields.result ?? "ok",
        detail: fields.detail ?? "",
      });
    },
  };
  const sessions = new SessionStore(now);
  const limiter = new LoginLimiter(now);
  const app = new Hono<SetupEnv>();

  app.use("*", async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  });
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
  app.get("/assets/app.css", (c) => c.body(APP_CSS, 200, { "Content-Type": "text/css; charset=utf-8" }));
  app.get("/assets/app.js", (c) => c.body(APP_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }));
  // The CA certificate is public by nature; phones fetch it before anyone logs in on them.
  app.get("/ca.crt", (c) =>
    deps.caCertPem
      ? c.body(deps.caCertPem, 200, {
        "Content-Type": "application/x-x509-ca-cert",
        "Content-Disposition": 'attachment; filename="pushbridge-ca.crt"',
      })
      : c.text("This box does not use a self-signed certificate", 404));

  const needsFirstPassword = () => !deps.store.adminCredentials.get() && !deps.settings.adminPassword;
  const secure = (c: SetupContext) => new URL(c.req.url).protocol === "https:";
  const startSession = (c: SetupContext) => {
    const session = sessions.create(remoteAddress(c));
    setCookie(c, SESSION_COOKIE, session.id, { secure: secure(c) });
    return session;
  };

  // Session and CSRF gate for everything else.
  app.use("*", async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path)) return await next();
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.path.startsWith("/api/")) return c.json({ error: "Login required" }, 401);
      return c.redirect(needsFirstPassword() ? "/welcome" : "/login", 303);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const header = c.req.header("X-CSRF-Token");
      const token = header ?? (await formValues(c).catch(() => ({} as Record<string, string>))).csrf;
      const enc = new TextEncoder();
      if (!token || !timingSafeEqual(enc.encode(token), enc.encode(session.csrf))) {
        return c.req.path.startsWith("/api/")
          ? c.json({ error: "CSRF token missing or wrong: reload the page" }, 403)
          : c.html(
            page(
              { title: "Form expired" },
              `<p>This form has expired. <a href="/">Reload the page</a> and try again.</p>`,
            ),
            403,
          );
      }
    }
    c.set("session", session);
    await next();
  });

  const loginPage = (notice?: string, status: 200 | 401 | 429 = 200) =>
    new Response(
      page(
        { title: "Log in", ...(notice ? { notice: { kind: "error", text: notice } } : {}) },
        `<section><form method="post" action="/login"><label for="password">Admin password</label>
<input type="password" id="password" name="password" autocomplete="current-password" autofocus required>
${
          deps.settings.adminPassword && !deps.store.adminCredentials.get()
            ? '<p class="muted">Use the password this box was installed with (PUSHBRIDGE_ADMIN_PASSWORD).</p>'
            : ""
        }
<button type="submit">Log in</button></form></section>`,
      ),
      { status, headers: { "Content-Type": "text/html; charset=utf-8" } },
    );

  app.get("/login", (c) => needsFirstPassword() ? c.redirect("/welcome", 303) : loginPage());
  app.post("/login", async (c) => {
    const address = remoteAddress(c);
    const verdict = limiter.check(address);
    if (!verdict.allowed) {
      const seconds = Math.ceil(verdict.retryAfterMs / 1000);
      const response = loginPage(`Too many wrong passwords: wait ${seconds} s and try again`, 429);
      response.headers.set("Retry-After", String(seconds));
      return response;
    }
    const password = (await formValues(c)).password ?? "";
    const stored = deps.store.adminCredentials.get();
    let ok = false;
    if (stored) ok = await verifyPassword(password, stored);
    else if (deps.settings.adminPassword) {
      const enc = new TextEncoder();
      ok = timingSafeEqual(enc.encode(password), enc.encode(deps.settings.adminPassword));
      // The seeded password becomes a stored hash on first use; the environment value is no longer needed.
      if (ok) deps.store.adminCredentials.set(await hashPassword(password));
    }
    if (!ok) {
      limiter.failed(address);
      shared.audit("admin.login", { result: "refused", detail: `from ${address}` });
      return loginPage("Wrong password", 401);
    }
    limiter.succeeded(address);
    startSession(c);
    shared.audit("admin.login", { detail: `from ${address}` });
    return c.redirect("/", 303);
  });

  app.get("/welcome", (c) => {
    if (!needsFirstPassword()) return c.redirect("/login", 303);
    return c.html(page(
      { title: "Welcome to Pushbridge" },
      `<section><p>This box lets the office's phones sync mail, calendars and contacts with Exchange ActiveSync. First choose the password that protects this page.</p>
<form method="post" action="/welcome"><label for="password">New admin password (at least ${SETUP_SECURITY.minPasswordLength} characters)</label>
<input type="password" id="password" name="password" autocomplete="new-password" minlength="${SETUP_SECURITY.minPasswordLength}" required>
<label for="confirm">Repeat it</label><input type="password" id="confirm" name="confirm" autocomplete="new-password" required>
<button type="submit">Set password and start</button></form></section>`,
    ));
  });
  app.post("/welcome", async (c) => {
    if (!needsFirstPassword()) return c.redirect("/login", 303);
    const values = await formValues(c);
    const problem = (values.password ?? "").length < SETUP_SECURITY.minPasswordLength
      ? `The password must be at least ${SETUP_SECURITY.minPasswordLength} characters long`
      : values.password !== values.confirm
      ? "The two passwords differ"
      : undefined;
    if (problem) {
      return c.html(
        page(
          { title: "Welcome to Pushbridge", notice: { kind: "error", text: problem } },
          `<p><a href="/welcome">Try again</a></p>`,
        ),
        400,
      );
    }
    deps.store.adminCredentials.set(await hashPassword(values.password!));
    startSession(c);
    shared.audit("admin.password-set", { detail: "first boot" });
    return c.redirect("/wizard/host", 303);
  });

  app.post("/logout", (c) => {
    // Behind the session gate, so only a logged-in admin (with the CSRF token) gets here.
    sessions.delete(c.get("session").id);
    shared.audit("admin.logout", { detail: `from ${remoteAddress(c)}` });
    setCookie(c, SESSION_COOKIE, "", { maxAge: 0 });
    return c.redirect("/login", 303);
  });

  app.post("/password", async (c) => {
    const values = await formValues(c);
    const stored = deps.store.adminCredentials.get();
    const csrf = c.get("session").csrf;
    const fail = (text: string) =>
      c.html(
        page(
          { title: "Maintenance", path: "/maintenance", csrf, notice: { kind: "error", text } },
          `<p><a href="/maintenance">Back</a></p>`,
        ),
        400,
      );
    if (stored && !(await verifyPassword(values.current ?? "", stored))) {
      return fail("The current password is wrong");
    }
    if ((values.password ?? "").length < SETUP_SECURITY.minPasswordLength) {
      return fail(`The password must be at least ${SETUP_SECURITY.minPasswordLength} characters long`);
    }
    if (values.password !== values.confirm) return fail("The two passwords differ");
    deps.store.adminCredentials.set(await hashPassword(values.password!));
    sessions.clear();
    shared.audit("admin.password-changed");
    return c.redirect("/login", 303);
  });

  app.post("/api/probe/:service", async (c) => {
    const values = await c.req.json().catch(() => undefined) as Record<string, string> | undefined;
    if (!values || typeof values !== "object") return c.json({ error: "Body must be a JSON object" }, 400);
    try {
      return c.json(await runProbe(shared, c.req.param("service"), values));
    } catch (error) {
      return c.json({ error: (error as Error).message }, 400);
    }
  });

  registerWizard(app, shared);
  registerDashboard(app, shared);
  registerDevices(app, shared);
  registerOnboarding(app, shared);
  registerPolicies(app, shared);
  registerMaintenance(app, shared);
  registerNotifications(app, shared);

  app.notFound((c) =>
    c.req.path.startsWith("/api/") ? c.json({ error: `No API at '${c.req.path}'` }, 404) : c.html(
      page(
        { title: "Not found" },
        `<p>Nothing at ${escapeHtml(c.req.path)}. <a href="/">Dashboard</a></p>`,
      ),
      404,
    )
  );
  app.onError((error, c) => {
    deps.log?.error("setup.crash", { path: c.req.path, error });
    return c.req.path.startsWith("/api/")
      ? c.json({ error: "Internal error" }, 500)
      : c.html(page({ title: "Something went wrong" }, `<p>${escapeHtml(error.message)}</p>`), 500);
  });
  return app;
}
