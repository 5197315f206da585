/**
 * The settings the box runs with and where each comes from, for the
 * wizard's summary and GET /api/settings: the environment wins over what was
 * saved on the page (src/config/settings.ts resolveSettings), and a saved
 * change waits for Finish (mailstore) or a restart (certificate, host name;
 * src/setup/apply_settings.ts).
 *
 * @module
 */
import { resolveSettings, type Settings, type StoredSettingKey } from "../config/settings.ts";
import { lockedBy, type SetupShared } from "./_context.ts";
import { RESTART_ONLY_SETTINGS } from "./apply_settings.ts";

/** The settings the wizard sets, in its order, with their labels. */
export const WIZARD_SETTINGS = [
  ["publicHostName", "Public host name"],
  ["tls", "Certificate"],
  ["imapUrl", "IMAP"],
  ["smtpUrl", "SMTP submission"],
  ["davUrl", "CalDAV/CardDAV"],
  ["mailstoreCaFile", "Mailstore CA certificate"],
] as const satisfies readonly (readonly [StoredSettingKey, string])[];

/**
 * Where a value in use comes from: a PUSHBRIDGE_* environment variable, the
 * setup page, whoever started the service (settings given at start that the
 * page cannot see, e.g. a service manager's environment), the built-in
 * default, or nowhere.
 */
export type EffectiveSource = "environment" | "saved" | "start-up" | "default" | "unset";

/** One setting as the box uses it now. */
export interface EffectiveSetting {
  key: typeof WIZARD_SETTINGS[number][0];
  label: string;
  /** The value in use now ("" when unset). */
  value: string;
  source: EffectiveSource;
  /** The environment variable that fixes it, when source is "environment". */
  variable?: string;
  /** A saved value not in use yet, and what makes it apply. */
  pending?: { value: string; appliesOn: "finish" | "restart" };
}

/** A setting's value as text ("" when unset). */
function display(settings: Settings, key: EffectiveSetting["key"]): string {
  if (key === "tls") {
    const tls = settings.tls;
    return tls.mode === "files" ? `${tls.certFile}:${tls.keyFile}` : tls.mode;
  }
  const value = settings[key];
  if (value === undefined) return "";
  return typeof value === "string" ? value : value.href;
}

/** The wizard's settings as the box uses them now, each with its source and any saved change. */
export function effectiveSettings(shared: SetupShared): EffectiveSetting[] {
  const running = shared.deps.settings;
  const stored = shared.deps.store.settings;
  return WIZARD_SETTINGS.map(([key, label]) => {
    const value = display(running, key);
    const variable = lockedBy(shared, key);
    if (variable) return { key, label, value, source: "environment", variable };
    const saved = stored.get(key);
    if (saved) {
      let savedValue = saved;
      try {
        // Parsed the way start-up parses it, so "imap://host" and its running form compare equal.
        savedValue = display(resolveSettings({ PUSHBRIDGE_DATA: running.dataDir }, { [key]: saved }), key);
      } catch {
        // A bad saved value is shown as typed; applying it reports the problem.
      }
      const restartOnly = (RESTART_ONLY_SETTINGS as readonly string[]).includes(key);
      return {
        key,
        label,
        value,
        source: "saved",
        ...(savedValue !== value
          ? { pending: { value: savedValue, appliesOn: restartOnly ? "restart" : "finish" } as const }
          : {}),
      };
    }
    if (key === "tls" && value === "self-signed") return { key, label, value, source: "default" };
    return { key, label, value, source: value ? "start-up" : "unset" };
  });
}

/** How the summary names a source. */
export function sourceText(setting: EffectiveSetting): string {
  switch (setting.source) {
    case "environment":
      return `environment variable ${setting.variable}`;
    case "saved":
      return "saved on this page";
    case "start-up":
      return "given when the service started";
    case "default":
      return "default";
    case "unset":
      return "";
  }
}
