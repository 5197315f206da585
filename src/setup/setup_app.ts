import { Hono } from "hono";
import type { Settings } from "../config/settings.ts";
import type { Store } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { escapeHtml } from "./html.ts";

/** What the setup page needs. */
export interface SetupAppDeps {
  store: Store;
  settings: Settings;
}

/**
 * The local setup page. This first version shows the box's state (version,
 * mailstore settings, connected devices); the wizard, login and admin screens
 * arrive with the setup-page issue.
 */
export function createSetupApp(deps: SetupAppDeps): Hono {
  const app = new Hono();
  app.get("/", (c) => {
    const s = deps.settings;
    const devices = deps.store.devices.list();
    const rows = devices.map((d) =>
      `<tr><td>${escapeHtml(d.user)}</td><td>${escapeHtml(d.deviceId)}</td><td>${
        escapeHtml(d.deviceType)
      }</td>` +
      `<td>${escapeHtml(d.protocolVersion)}</td><td>${new Date(d.lastSeen).toISOString()}</td></tr>`
    ).join("");
    return c.html(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pushbridge</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:60rem}table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>Pushbridge ${escapeHtml(VERSION)}</h1>
<h2>Mailstore</h2>
<table>
<tr><th>IMAP</th><td>${escapeHtml(s.imapUrl?.href ?? "not configured")}</td></tr>
<tr><th>SMTP submission</th><td>${escapeHtml(s.smtpUrl?.href ?? "not configured")}</td></tr>
<tr><th>CalDAV/CardDAV</th><td>${escapeHtml(s.davUrl?.href ?? "not configured")}</td></tr>
</table>
<h2>Devices (${devices.length})</h2>
<table><tr><th>User</th><th>DeviceId</th><th>Type</th><th>Protocol</th><th>Last seen</th></tr>${rows}</table>
</body></html>`);
  });
  app.get("/healthz", (c) => c.json({ ok: true, version: VERSION }));
  return app;
}
