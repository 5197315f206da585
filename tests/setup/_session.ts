/**
 * A logged-in admin of the setup page over plain HTTP, for tests: the
 * session cookie and CSRF token handled the way a browser would.
 *
 * @module
 */
import { resolveSettings } from "../../src/config/settings.ts";
import { silentLogger } from "../../src/log/logger.ts";
import { type RunningServer, startPushbridge } from "../../src/server.ts";

/** An admin session on a running setup page. */
export interface AdminSession {
  cookie: string;
  csrf: string;
  /** GET of a page as text. */
  text(path: string): Promise<string>;
  /** GET of an /api path as JSON (throws on a non-200 answer). */
  // deno-lint-ignore no-explicit-any -- test code reads whatever the API answers
  json(path: string): Promise<any>;
  /** POST of a form (CSRF token added); redirects are not followed. */
  post(path: string, fields: Record<string, string>): Promise<Response>;
  /** POST of JSON to an /api path with the CSRF header. */
  // deno-lint-ignore no-explicit-any -- test code reads whatever the API answers
  postJson(path: string, body: unknown): Promise<{ status: number; body: any }>;
}

/** Logs in with the admin password and reads the CSRF token. */
export async function adminSession(url: string, password: string): Promise<AdminSession> {
  const login = await fetch(`${url}/login`, {
    method: "POST",
    body: new URLSearchParams({ password }),
    redirect: "manual",
  });
  await login.body?.cancel();
  if (login.status !== 303) throw new Error(`Login failed with HTTP ${login.status}`);
  const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0]!;
  const maintenance = await (await fetch(`${url}/maintenance`, { headers: { Cookie: cookie } })).text();
  const csrf = /<meta name="csrf" content="([^"]+)"/.exec(maintenance)?.[1];
  if (!csrf) throw new Error("No CSRF token on the maintenance page");
  return {
    cookie,
    csrf,
    async text(path) {
      return await (await fetch(`${url}${path}`, { headers: { Cookie: cookie } })).text();
    },
    async json(path) {
      const response = await fetch(`${url}${path}`, { headers: { Cookie: cookie } });
      if (response.status !== 200) {
        throw new Error(`GET ${path}: HTTP ${response.status}: ${await response.text()}`);
      }
      return await response.json();
    },
    async post(path, fields) {
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { Cookie: cookie },
        body: new URLSearchParams({ ...fields, csrf }),
        redirect: "manual",
      });
      return response;
    },
    async postJson(path, body) {
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { Cookie: cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    },
  };
}

/** The admin password the test boxes are installed with. */
export const SEEDED_ADMIN_PASSWORD = "seeded-admin-pw";

/** A box started the way `pushbridge serve` starts it, on loopback ports, with a fresh data dir. */
export interface SetupBox {
  server: RunningServer;
  dataDir: string;
  /** The environment the box runs with (it re-reads it when it applies settings). */
  env: Record<string, string>;
  /** Logs in on the setup page with the seeded password. */
  admin(): Promise<AdminSession>;
  /** Stops the box and removes its data dir. */
  close(): Promise<void>;
}

/**
 * Starts a box with no mailstore unless `extraEnv` names one: EAS and setup
 * page on free loopback ports, the seeded admin password, and the same
 * environment passed for applying saved settings.
 */
export async function startSetupBox(
  prefix: string,
  extraEnv: Record<string, string> = {},
): Promise<SetupBox> {
  const dataDir = await Deno.makeTempDir({ prefix });
  const env = {
    PUSHBRIDGE_DATA: dataDir,
    PUSHBRIDGE_LISTEN: "127.0.0.1:0",
    PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
    PUSHBRIDGE_ADMIN_PASSWORD: SEEDED_ADMIN_PASSWORD,
    ...extraEnv,
  };
  let server: RunningServer;
  try {
    server = await startPushbridge(resolveSettings(env), silentLogger, { env });
  } catch (error) {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  return {
    server,
    dataDir,
    env,
    admin: () => adminSession(server.setupUrl, SEEDED_ADMIN_PASSWORD),
    async close() {
      await server.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
