/**
 * Devices: the list with filters, a device's detail (information it
 * reported, last requests, protocol trace), wipe / account-only wipe /
 * cancel, and deleting the partnership, each behind a confirmation.
 *
 * @module
 */
import { RECENT_PER_DEVICE, type RecentRequest } from "../log/recent_requests.ts";
import { MAX_TRACE_MS } from "../log/trace.ts";
import type { DeviceRecord } from "../store/mod.ts";
import { formValues, type SetupContext, type SetupHono, type SetupShared } from "./_context.ts";
import { form, page } from "./_layout.ts";
import { escapeHtml } from "./html.ts";

/** Trace durations offered on the device page. */
const TRACE_DURATIONS = [
  [15, "15 minutes"],
  [60, "1 hour"],
  [240, "4 hours"],
  [1440, "24 hours"],
] as const;

function when(at: number): string {
  return new Date(at).toISOString().replace("T", " ").slice(0, 19);
}

/** Devices matching a filter: text in user, DeviceId, type or user agent; exact type. */
export function filterDevices(devices: readonly DeviceRecord[], text: string, type: string): DeviceRecord[] {
  const needle = text.trim().toLowerCase();
  return devices.filter((d) =>
    (!type || d.deviceType === type) &&
    (!needle || [d.user, d.deviceId, d.deviceType, d.userAgent].some((v) => v.toLowerCase().includes(needle)))
  );
}

function deviceJson(d: DeviceRecord) {
  return {
    ...d,
    firstSeen: new Date(d.firstSeen).toISOString(),
    lastSeen: new Date(d.lastSeen).toISOString(),
  };
}

/** The device page's "Last requests" table, newest first. */
function lastRequestsHtml(requests: readonly RecentRequest[]): string {
  if (!requests.length) {
    return `<p class="muted">No requests since the service started.</p>`;
  }
  return `<table id="last-requests"><tr><th>Time (UTC)</th><th>Command</th><th>HTTP</th><th>ms</th></tr>${
    requests.map((e) =>
      `<tr><td>${when(e.at)}</td><td>${escapeHtml(e.command)}</td><td>${e.status}</td><td>${e.ms}</td></tr>`
    ).join("")
  }</table><p class="muted">Kept in memory since the service started (the last ${RECENT_PER_DEVICE}); a protocol trace shows the requests themselves.</p>`;
}

/** Registers the device pages and their API. */
export function registerDevices(app: SetupHono, shared: SetupShared): void {
  const { store } = shared.deps;
  // Always on, in memory only (src/log/recent_requests.ts), filled by the EAS app's traffic meter.
  const recentOf = (device: number): RecentRequest[] => shared.deps.traffic?.recent.of(device) ?? [];
  const deviceOf = (c: SetupContext): DeviceRecord | undefined => {
    const id = Number(c.req.param("id"));
    return Number.isSafeInteger(id) ? store.devices.byId(id) : undefined;
  };

  app.get("/devices", (c) => {
    const csrf = c.get("session").csrf;
    const q = c.req.query("q") ?? "";
    const type = c.req.query("type") ?? "";
    const all = store.devices.list();
    const types = [...new Set(all.map((d) => d.deviceType))].sort();
    const rows = filterDevices(all, q, type).map((d) =>
      `<tr><td>${escapeHtml(d.user)}</td><td><a href="/devices/${d.id}">${
        escapeHtml(d.deviceId)
      }</a></td><td>${escapeHtml(d.deviceType)}</td><td class="hide-small">${
        escapeHtml(d.userAgent)
      }</td><td>${escapeHtml(d.protocolVersion)}</td><td>${when(d.lastSeen)}</td></tr>`
    ).join("");
    return c.html(page(
      { title: "Devices", path: "/devices", csrf },
      `<section><form method="get" action="/devices" class="filters"><label for="q">Search</label><input type="text" id="q" name="q" value="${
        escapeHtml(q)
      }" placeholder="user, device id, model"><label for="type">Type</label><select id="type" name="type"><option value="">all</option>${
        types.map((t) => `<option${t === type ? " selected" : ""}>${escapeHtml(t)}</option>`).join("")
      }</select><button type="submit">Filter</button></form></section>
<div class="scroll"><table id="devices"><tr><th>User</th><th>Device</th><th>Type</th><th class="hide-small">User agent</th><th>Protocol</th><th>Last seen</th></tr>${
        rows || '<tr><td colspan="6" class="muted">No device matches</td></tr>'
      }</table></div>`,
    ));
  });

  app.get("/devices/:id", (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    const csrf = c.get("session").csrf;
    const done = c.req.query("done");
    const failed = c.req.query("error");
    const notice = failed
      ? { kind: "error" as const, text: failed }
      : done
      ? { kind: "ok" as const, text: done }
      : undefined;
    const info = store.deviceInformation.get(device.id);
    const infoRows = info
      ? Object.entries(info).filter(([k, v]) => typeof v === "string" && v && k !== "imei").map(([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`
      ).join("")
      : "";
    const view = shared.admin.devices(device.user).find((v) => v.deviceId === device.deviceId);
    const wipeState = view?.wipe
      ? `${view.wipe.kind === "account" ? "account-only wipe" : "wipe"} ${view.wipe.state} (requested ${
        when(view.wipe.requested)
      } by ${view.wipe.requestedBy})${view.wipe.notice ? `; ${view.wipe.notice}` : ""}`
      : "none";
    const adminRows = view
      ? `<tr><th>Policy</th><td id="policy-status">${escapeHtml(view.policy)} <a href="/policies?scope=${
        encodeURIComponent(`device:${device.user}/${device.deviceId}`)
      }">edit</a></td></tr>
<tr><th>Access</th><td>${escapeHtml(view.access.state)}${
        view.access.reason ? ` <span class="muted">(${escapeHtml(view.access.reason)})</span>` : ""
      }</td></tr><tr><th>Wipe</th><td id="wipe-state">${escapeHtml(wipeState)}</td></tr>`
      : "";
    const label = `${device.user}/${device.deviceId}`;
    const tracer = shared.deps.tracer;
    const until = tracer?.tracingUntil(device.id);
    const traceHtml = !tracer
      ? "<p class='muted'>Tracing is not available</p>"
      : `${
        until
          ? `<p class="warn">Tracing until ${when(until)} UTC</p>${
            form(
              `/devices/${device.id}/trace/stop`,
              csrf,
              `<button type="submit" class="secondary">Stop tracing</button>`,
            )
          }`
          : form(
            `/devices/${device.id}/trace/start`,
            csrf,
            `<label for="minutes">Trace this device's requests for</label><select id="minutes" name="minutes">${
              TRACE_DURATIONS.map(([m, t]) => `<option value="${m}">${t}</option>`).join("")
            }</select><button type="submit">Start tracing</button>`,
          )
      }<p><a href="/devices/${device.id}/trace">View the trace</a> · <a href="/devices/${device.id}/trace.txt">Download for support</a></p>`;
    const lastRequests = lastRequestsHtml(recentOf(device.id));
    const accountOnly = device.protocolVersion === "16.1"
      ? `<button type="submit" class="danger" name="kind" value="account" data-confirm="Remove the account ${
        escapeHtml(device.user)
      } and its data from ${escapeHtml(label)}?">Wipe only this account</button>`
      : `<p class="muted">Account-only wipe needs protocol 16.1; this device uses ${
        escapeHtml(device.protocolVersion)
      }.</p>`;
    const wipeButtons = form(
      `/devices/${device.id}/wipe`,
      csrf,
      `<button type="submit" class="danger" name="kind" value="device" data-confirm="Erase ALL data on ${
        escapeHtml(label)
      }? The phone resets to factory settings.">Wipe the whole device</button>${accountOnly}${
        view?.wipe
          ? `<button type="submit" class="secondary" name="kind" value="cancel" data-confirm="Cancel the wipe of ${
            escapeHtml(label)
          }?">Cancel the wipe</button>`
          : ""
      }`,
    );
    const body = `<div class="grid"><section><h2>Partnership</h2><table>
<tr><th>User</th><td>${escapeHtml(device.user)}</td></tr><tr><th>DeviceId</th><td>${
      escapeHtml(device.deviceId)
    }</td></tr>
<tr><th>Type</th><td>${escapeHtml(device.deviceType)}</td></tr><tr><th>User agent</th><td>${
      escapeHtml(device.userAgent)
    }</td></tr>
<tr><th>Protocol</th><td>${escapeHtml(device.protocolVersion)}</td></tr><tr><th>First seen</th><td>${
      when(device.firstSeen)
    }</td></tr>
<tr><th>Last seen</th><td>${when(device.lastSeen)}</td></tr>${adminRows}${infoRows}</table></section>
<section><h2>Protocol trace</h2>${traceHtml}</section></div>
<section><h2>Last requests</h2>${lastRequests}</section>
<section><h2>Wipe</h2>${wipeButtons}</section>
<section><h2>Partnership</h2>${
      form(
        `/devices/${device.id}/delete`,
        csrf,
        `<p>Deleting forgets the device's sync state; the phone starts over with a full sync on its next request.</p><button type="submit" class="danger" data-confirm="Delete the partnership of ${
          escapeHtml(label)
        }?">Delete partnership</button>`,
      )
    }</section>`;
    return c.html(page(
      {
        title: `Device ${label}`,
        path: "/devices",
        csrf,
        ...(notice ? { notice } : {}),
      },
      body,
    ));
  });

  // The admin module audits these and ends the device's held Ping (onEvent).
  const wipe = (device: DeviceRecord, kind: string): string => {
    if (kind === "cancel") {
      shared.admin.cancelWipe(device.user, device.deviceId);
      return "Wipe cancelled";
    }
    if (kind !== "device" && kind !== "account") {
      throw new RangeError(`Wipe kind '${kind}' is not device, account or cancel`);
    }
    shared.admin.wipe(device.user, device.deviceId, { accountOnly: kind === "account" });
    return "Wipe requested: it runs on the device's next request";
  };
  const remove = (device: DeviceRecord): string => {
    shared.admin.deleteDevice(device.user, device.deviceId);
    shared.deps.traffic?.recent.forget(device.id);
    return "Partnership deleted";
  };
  const trace = (device: DeviceRecord, minutes: number | undefined): string => {
    const tracer = shared.deps.tracer;
    if (!tracer) throw new Error("Tracing is not available");
    if (minutes === undefined) {
      tracer.stop(device.id);
      shared.audit("device.trace-stop", { user: device.user, deviceId: device.deviceId });
      return "Tracing stopped";
    }
    if (!(minutes > 0) || minutes * 60_000 > MAX_TRACE_MS) {
      throw new RangeError(`Duration '${minutes}' minutes is out of range 1-1440`);
    }
    const until = tracer.start(device.id, minutes * 60_000);
    shared.audit("device.trace-start", {
      user: device.user,
      deviceId: device.deviceId,
      detail: `until ${when(until)}`,
    });
    return `Tracing until ${when(until)} UTC`;
  };

  app.post("/devices/:id/wipe", async (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    try {
      const done = wipe(device, (await formValues(c)).kind ?? "");
      return c.redirect(`/devices/${device.id}?done=${encodeURIComponent(done)}`, 303);
    } catch (error) {
      return c.redirect(`/devices/${device.id}?error=${encodeURIComponent((error as Error).message)}`, 303);
    }
  });
  app.post("/devices/:id/delete", (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    remove(device);
    return c.redirect(`/devices?deleted=1`, 303);
  });
  app.post("/devices/:id/trace/start", async (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    try {
      const done = trace(device, Number((await formValues(c)).minutes));
      return c.redirect(`/devices/${device.id}?done=${encodeURIComponent(done)}`, 303);
    } catch (error) {
      // A missing or out-of-range duration is the admin's input: shown on the page, never a 500.
      return c.redirect(`/devices/${device.id}?error=${encodeURIComponent((error as Error).message)}`, 303);
    }
  });
  app.post("/devices/:id/trace/stop", (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    const done = trace(device, undefined);
    return c.redirect(`/devices/${device.id}?done=${encodeURIComponent(done)}`, 303);
  });
  app.get("/devices/:id/trace", (c) => {
    const device = deviceOf(c);
    if (!device) return c.notFound();
    const entries = shared.deps.tracer?.entries(device.id) ?? [];
    const body = entries.length
      ? entries.map((e) =>
        `<section><h2>${when(e.at)} ${
          escapeHtml(e.command)
        } <span class="muted">HTTP ${e.status}, ${e.ms} ms</span></h2>
<p class="muted">${escapeHtml(e.query)}</p><h3>Request</h3><pre>${
          escapeHtml(e.request)
        }</pre><h3>Response</h3><pre>${escapeHtml(e.response)}</pre></section>`
      ).join("")
      : `<p class="muted">Nothing recorded yet. Start tracing on the <a href="/devices/${device.id}">device page</a>, then let the phone sync.</p>`;
    return c.html(page(
      { title: `Trace of ${device.user}/${device.deviceId}`, path: "/devices", csrf: c.get("session").csrf },
      `<p><a href="/devices/${device.id}/trace.txt">Download for support</a> · Passwords, bodies and attachments are redacted.</p>${body}`,
    ));
  });
  app.get("/devices/:id/trace.txt", (c) => {
    const device = deviceOf(c);
    if (!device || !shared.deps.tracer) return c.notFound();
    shared.audit("device.trace-download", { user: device.user, deviceId: device.deviceId });
    return c.body(shared.deps.tracer.export(device.id, `${device.user}/${device.deviceId}`), 200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Disposition": `attachment; filename="trace-${device.id}.txt"`,
    });
  });

  // JSON API: the same operations for scripts and the admin CLI.
  const apiDevice = (c: SetupContext) => deviceOf(c);
  app.get(
    "/api/devices",
    (c) =>
      c.json(
        filterDevices(
          store.devices.list(c.req.query("user")),
          c.req.query("q") ?? "",
          c.req.query("type") ?? "",
        ).map(deviceJson),
      ),
  );
  app.get("/api/devices/:id", (c) => {
    const device = apiDevice(c);
    if (!device) return c.json({ error: `No device with id '${c.req.param("id")}'` }, 404);
    return c.json({
      ...deviceJson(device),
      admin: shared.admin.devices(device.user).find((v) => v.deviceId === device.deviceId) ?? null,
      tracingUntil: shared.deps.tracer?.tracingUntil(device.id) ?? null,
      lastRequests: recentOf(device.id).map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
    });
  });
  const apiAction = (
    path: string,
    run: (device: DeviceRecord, body: Record<string, unknown>) => string | Promise<string>,
  ) =>
    app.post(path, async (c) => {
      const device = apiDevice(c);
      if (!device) return c.json({ error: `No device with id '${c.req.param("id")}'` }, 404);
      const body = await c.req.json().catch(() => ({})) as Record<string, unknown>;
      try {
        return c.json({ ok: true, message: await run(device, body) });
      } catch (error) {
        return c.json({ error: (error as Error).message }, 400);
      }
    });
  apiAction("/api/devices/:id/wipe", (d, b) => wipe(d, String(b.kind ?? "device")));
  apiAction("/api/devices/:id/delete", (d) => remove(d));
  apiAction(
    "/api/devices/:id/trace",
    (d, b) => trace(d, b.minutes === null || b.minutes === undefined ? undefined : Number(b.minutes)),
  );
  app.get("/api/devices/:id/trace", (c) => {
    const device = apiDevice(c);
    if (!device) return c.json({ error: `No device with id '${c.req.param("id")}'` }, 404);
    return c.json(shared.deps.tracer?.entries(device.id) ?? []);
  });
}
