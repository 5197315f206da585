/**
 * What every part of the setup page shares: its dependencies, the session
 * variable, and the audit helper.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { Settings, StoredSettingKey } from "../config/settings.ts";
import { SETTING_ENV } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import type { ProtocolTracer, TrafficMeter } from "../log/trace.ts";
import type { PushContext } from "../push/push_context.ts";
import type { DeviceAdmin } from "../admin/device_admin.ts";
import type { Store } from "../store/mod.ts";
import type { AdminSession } from "./_auth.ts";
import { type ApplySettings, RESTART_ONLY_LABELS } from "./apply_settings.ts";

/** What the setup page needs from the composition root. */
export interface SetupAppDeps {
  store: Store;
  settings: Settings;
  /** The environment (PUSHBRIDGE_* values set there cannot be edited on the page); Deno.env by default. */
  env?: Record<string, string | undefined>;
  /** Per-device protocol traces. */
  tracer?: ProtocolTracer;
  /** EAS requests per minute for the dashboard chart. */
  traffic?: TrafficMeter;
  /** Direct Push hub (held Pings, watcher health; wipes kick the device). */
  push?: PushContext;
  /** The box's CA certificate in self-signed mode, for phones to trust. */
  caCertPem?: string;
  /** Where phones reach the box (for onboarding), e.g. "https://box.local:8443". */
  easUrl?: string;
  log?: Logger;
  /** Device, policy, wipe and access operations (src/admin); made here with actor "setup:admin" when absent. */
  admin?: DeviceAdmin;
  /** Restarts the service so saved settings apply; absent when the box cannot restart itself. */
  restart?: () => void;
  /** Applies saved mailstore settings without a restart (the composition root recomposes its bridges). */
  applySettings?: ApplySettings;
  /** Clock (tests). */
  now?: () => number;
}

/** Hono environment of the setup app: the logged-in session. */
export type SetupEnv = { Variables: { session: AdminSession } };

/** The setup app type. */
export type SetupHono = Hono<SetupEnv>;

/** A request context of the setup app. */
export type SetupContext = Context<SetupEnv>;

/** Shared state of one setup app. */
export interface SetupShared {
  deps: SetupAppDeps;
  env: Record<string, string | undefined>;
  now: () => number;
  /** The admin operations the CLI uses too; they write their own audit entries. */
  admin: DeviceAdmin;
  /** Writes an audit entry for an admin action. */
  audit(
    action: string,
    fields?: { user?: string; deviceId?: string; result?: string; detail?: string },
  ): void;
}

/** The environment variable that fixes a setting, when it is set. */
export function lockedBy(shared: SetupShared, key: StoredSettingKey): string | undefined {
  const name = SETTING_ENV[key];
  const value = shared.env[name];
  return value !== undefined && value !== "" ? name : undefined;
}

/** The current value of a setting as the page shows it: environment, then stored. */
export function currentSetting(shared: SetupShared, key: StoredSettingKey): string {
  const name = lockedBy(shared, key);
  if (name) return shared.env[name] ?? "";
  return shared.deps.store.settings.get(key) ?? "";
}

/** Form values of a request as strings (files are read by the handlers that take them). */
export async function formValues(c: SetupContext): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

/**
 * Audits a restart and has the service restart shortly after, so the answer
 * that says so still reaches the browser (the page and /api/restart).
 */
export function scheduleRestart(shared: SetupShared): void {
  shared.audit("service.restart");
  setTimeout(() => shared.deps.restart?.(), 200);
}

/** Audits and schedules a restart (after the answer is sent), and renders the waiting page. */
export function restartPage(
  shared: SetupShared,
  c: SetupContext,
  render: (title: string, body: string) => string,
): Response {
  scheduleRestart(shared);
  return c.html(render("Restarting", "<p>The service restarts; this page is back in a few seconds.</p>"));
}

/** What applying saved settings came to, for the page. */
export interface ApplyOutcome {
  /** "applied" in process, "saved" when the box can only apply them on restart, "failed" with a reason. */
  state: "applied" | "saved" | "failed";
  /** Saved settings that still need a restart (listeners, certificate). */
  restartNeeded: string[];
  /** Why applying failed. */
  error?: string;
}

/**
 * Applies saved settings now when the box can (its bridges are recomposed,
 * the dashboard probes the new mailstore), and audits it.
 */
export async function applySaved(shared: SetupShared): Promise<ApplyOutcome> {
  const apply = shared.deps.applySettings;
  if (!apply) return { state: "saved", restartNeeded: [] };
  try {
    const applied = await apply();
    shared.deps.settings = applied.settings;
    shared.audit("settings.applied", {
      detail: applied.restartNeeded.length ? `restart needed for ${applied.restartNeeded.join(", ")}` : "",
    });
    return { state: "applied", restartNeeded: applied.restartNeeded };
  } catch (error) {
    const message = (error as Error).message;
    shared.audit("settings.applied", { result: "failed", detail: message });
    return { state: "failed", restartNeeded: [], error: message };
  }
}

/** The page's sentence about an apply outcome. */
export function applyNotice(outcome: ApplyOutcome): { kind: "ok" | "error"; text: string } {
  if (outcome.state === "failed") {
    return { kind: "error", text: `Settings saved but not applied: ${outcome.error}` };
  }
  if (outcome.state === "saved") {
    return { kind: "ok", text: "Settings saved; they apply after a restart of the service" };
  }
  return {
    kind: "ok",
    text: outcome.restartNeeded.length
      ? `Settings applied; the ${
        outcome.restartNeeded.map((name) =>
          RESTART_ONLY_LABELS[name as keyof typeof RESTART_ONLY_LABELS] ?? name
        )
          .join(", ")
      } ${outcome.restartNeeded.length > 1 ? "apply" : "applies"} after a restart of the service`
      : "Settings applied: the box uses them now",
  };
}
