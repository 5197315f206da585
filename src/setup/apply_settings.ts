/**
 * Applying saved settings without a restart: the mailstore settings (IMAP,
 * SMTP, CalDAV/CardDAV, the mailstore CA) are re-read from the store and the
 * environment and the box recomposes its bridges in process; the settings
 * that shape the listeners or the certificate keep their running values
 * until the service restarts, and the caller is told which ones changed.
 *
 * @module
 */
import { resolveSettings, SETTING_ENV, type Settings, type StoredSettingKey } from "../config/settings.ts";

/** Settings only a restart applies: listeners, the served certificate and its names, the data dir, heartbeat bounds. */
export const RESTART_ONLY_SETTINGS = [
  "dataDir",
  "listen",
  "setupListen",
  "tls",
  "publicHostName",
  "heartbeatMaxSeconds",
] as const;

/** How the page names the restart-only settings. */
export const RESTART_ONLY_LABELS: Record<typeof RESTART_ONLY_SETTINGS[number], string> = {
  dataDir: "data directory",
  listen: "EAS listen address",
  setupListen: "setup page address",
  tls: "certificate",
  publicHostName: "public host name (in the certificate)",
  heartbeatMaxSeconds: "heartbeat limit",
};

/** What an apply did: the settings now in use and the saved ones still waiting for a restart. */
export interface AppliedSettings {
  settings: Settings;
  /** Names from {@link RESTART_ONLY_SETTINGS} whose stored value differs from the running one. */
  restartNeeded: string[];
}

/** Re-reads settings and recomposes the mailstore bridges (given by the composition root). */
export type ApplySettings = () => Promise<AppliedSettings>;

/**
 * The settings to run with after an apply: the running settings, with every
 * stored setting that changed since the box started (`storedAtStart`) taken
 * from the store (the environment still wins), except the
 * {@link RESTART_ONLY_SETTINGS}, which are only reported. Settings the box
 * got elsewhere and nobody changed stay as they are. Throws ConfigError for a
 * bad stored value (the running bridges stay).
 */
export function settingsToApply(
  running: Settings,
  env: Record<string, string | undefined>,
  stored: Record<string, string>,
  storedAtStart: Record<string, string>,
): AppliedSettings {
  const saved = resolveSettings(
    { ...env, PUSHBRIDGE_DATA: running.dataDir },
    stored as Partial<Record<StoredSettingKey, string>>,
  );
  const next: Settings = { ...running };
  const restartNeeded: string[] = [];
  for (const key of Object.keys(SETTING_ENV) as (keyof typeof SETTING_ENV)[]) {
    if (key === "dataDir" || key === "adminPassword") continue;
    if ((stored[key] ?? "") === (storedAtStart[key] ?? "")) continue;
    if ((RESTART_ONLY_SETTINGS as readonly string[]).includes(key)) {
      if (JSON.stringify(saved[key]) !== JSON.stringify(running[key])) restartNeeded.push(key);
      continue;
    }
    if (saved[key] === undefined) delete next[key];
    else (next as unknown as Record<string, unknown>)[key] = saved[key];
  }
  return { settings: next, restartNeeded };
}
