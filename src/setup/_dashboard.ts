/**
 * The status dashboard: service health, mailstore reachability, devices,
 * held Pings, push latency and traffic of the last hour (inline SVG), memory,
 * disk, flash write rate and certificate expiry. The panel refreshes itself.
 *
 * @module
 */
import { statfs } from "node:fs/promises";
import { LDAP_GAL_SETTINGS, ldapConfigOf } from "../bridge/gal/ldap_source.ts";
import type { MailstoreUrl, Settings } from "../config/settings.ts";
import { greetMailstore } from "../doctor/doctor.ts";
import type { TrafficMinute } from "../log/trace.ts";
import type { PushLatencyHour } from "../push/push_latency.ts";
import { checkExpiry, readCertificateInfo } from "../tls/cert_info.ts";
import { TLS_FILES } from "../tls/load.ts";
import { VERSION } from "../version.ts";
import { applyNotice, type SetupHono, type SetupShared } from "./_context.ts";
import { RESTART_ONLY_SETTINGS } from "./apply_settings.ts";
import { page } from "./_layout.ts";
import { SETUP_COMPLETED_SETTING } from "./_wizard.ts";
import { escapeHtml } from "./html.ts";
import { probeLdap } from "./_probes.ts";
import { pushLatencyChart, pushLatencySummary } from "./_push_chart.ts";

/** Mailstore reachability is probed at most this often (a greeting per refresh would be noise in its logs). */
const REACH_CACHE_MS = 30_000;
/** Devices seen within this time count as active. */
const ACTIVE_MS = 24 * 60 * 60 * 1000;
/** A shorter window between two samples of written bytes repeats the previous rate. */
const MIN_WRITE_WINDOW_MS = 500;
/** Unreachable watchers listed by name on the dashboard (the count says how many in all). */
const MAX_PROBLEMS = 5;
/** Certificates closer than this to expiry are flagged. */
const CERT_WARN_DAYS = 30;

/** One reachability line. */
export interface Reachability {
  service: string;
  url: string;
  ok: boolean;
  detail: string;
}

/** Everything the dashboard shows; also served as JSON at /api/status. */
export interface BoxStatus {
  version: string;
  uptimeSeconds: number;
  easUrl?: string;
  setupCompleted: boolean;
  mailstore: Reachability[];
  devices: {
    total: number;
    active: number;
    recent: {
      id: number;
      user: string;
      deviceId: string;
      deviceType: string;
      protocolVersion: string;
      lastSeen: number;
    }[];
  };
  push: {
    held: number;
    users: number;
    watchers: number;
    unreachable: number;
    /** Why watchers cannot reach the mailstore (a few, by user). */
    problems: { user: string; detail: string }[];
  } | undefined;
  /** Pushes of the last hour per minute: watcher notice to answer of the held request (memory only). */
  pushLatency?: PushLatencyHour;
  traffic: TrafficMinute[];
  memory: { rss: number; heapUsed: number };
  disk?: { freeBytes: number; totalBytes: number };
  /** Bytes written by this process per second since the previous sample (Linux /proc/self/io). */
  flashWriteBytesPerSecond?: number;
  /** Length of that sample window in seconds. */
  flashWriteWindowSeconds?: number;
  certificate?: { subject: string; notAfter: string; daysLeft: number; status: string };
}

const started = Date.now();

/** Collects the box's status for the dashboard and the API. */
export class StatusCollector {
  #reach: { at: number; settings: Settings; value: Reachability[] } | undefined;
  #io: { at: number; bytes: number } | undefined;
  #rate: { bytesPerSecond: number; seconds: number } | undefined;

  constructor(private readonly shared: SetupShared) {}

  async collect(): Promise<BoxStatus> {
    const { deps, now } = this.shared;
    const devices = deps.store.devices.list();
    const t = now();
    const stats = deps.push?.hub.stats();
    const memory = Deno.memoryUsage();
    const status: BoxStatus = {
      version: VERSION,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      setupCompleted: deps.store.settings.get(SETUP_COMPLETED_SETTING) !== undefined,
      mailstore: await this.#reachability(),
      devices: {
        total: devices.length,
        active: devices.filter((d) => t - d.lastSeen < ACTIVE_MS).length,
        recent: devices.slice(0, 10).map((d) => ({
          id: d.id,
          user: d.user,
          deviceId: d.deviceId,
          deviceType: d.deviceType,
          protocolVersion: d.protocolVersion,
          lastSeen: d.lastSeen,
        })),
      },
      push: stats && {
        held: stats.held,
        users: stats.users,
        watchers: stats.watchers,
        unreachable: stats.unreachable,
        problems: (deps.push?.hub.status() ?? []).flatMap((u) =>
          u.watchers.filter((w) => w.state === "unreachable").map((w) => ({
            user: u.user,
            detail: w.detail ?? "",
          }))
        ).slice(0, MAX_PROBLEMS),
      },
      traffic: deps.traffic?.lastHour() ?? [],
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
    };
    if (deps.push) status.pushLatency = deps.push.hub.latency.lastHour();
    if (deps.easUrl) status.easUrl = deps.easUrl;
    try {
      const s = await statfs(deps.settings.dataDir);
      status.disk = {
        freeBytes: Number(s.bavail) * Number(s.bsize),
        totalBytes: Number(s.blocks) * Number(s.bsize),
      };
    } catch { /* not measurable here */ }
    const rate = await this.sampleWrites();
    if (rate !== undefined) {
      status.flashWriteBytesPerSecond = rate.bytesPerSecond;
      status.flashWriteWindowSeconds = rate.seconds;
    }
    const cert = await this.#certificate();
    if (cert) status.certificate = cert;
    return status;
  }

  async #reachability(): Promise<Reachability[]> {
    const t = this.shared.now();
    const settings = this.shared.deps.settings;
    // Applied settings replace the settings object, so the new mailstore is probed at once.
    if (this.#reach && this.#reach.settings === settings && t - this.#reach.at < REACH_CACHE_MS) {
      return this.#reach.value;
    }
    const caCerts = settings.mailstoreCaFile
      ? await Deno.readTextFile(settings.mailstoreCaFile).then((pem) => [pem], () => undefined)
      : undefined;
    const greet = async (
      service: string,
      url: MailstoreUrl | undefined,
    ): Promise<Reachability | undefined> => {
      if (!url) return undefined;
      try {
        const line = await greetMailstore(url, caCerts, 5_000);
        // The capability list in a greeting is noise on a dashboard; the server's own words stay.
        const greeting = line.replace(/\[CAPABILITY [^\]]*\]\s*/i, "").slice(0, 100);
        return { service, url: url.href, ok: true, detail: greeting };
      } catch (error) {
        return { service, url: url.href, ok: false, detail: (error as Error).message };
      }
    };
    const value = (await Promise.all([greet("IMAP", settings.imapUrl), greet("SMTP", settings.smtpUrl)]))
      .filter((
        r,
      ): r is Reachability => r !== undefined);
    if (settings.davUrl) {
      const client = caCerts ? Deno.createHttpClient({ caCerts }) : undefined;
      try {
        const response = await fetch(settings.davUrl, {
          method: "OPTIONS",
          signal: AbortSignal.timeout(5_000),
          ...(client ? { client } : {}),
        });
        await response.body?.cancel();
        value.push({
          service: "CalDAV/CardDAV",
          url: settings.davUrl.href,
          ok: response.status < 500,
          detail: `HTTP ${response.status}`,
        });
      } catch (error) {
        value.push({
          service: "CalDAV/CardDAV",
          url: settings.davUrl.href,
          ok: false,
          detail: (error as Error).message,
        });
      } finally {
        client?.close();
      }
    }
    const directory = await this.#directory(caCerts);
    if (directory) value.push(directory);
    this.#reach = { at: t, settings, value };
    return value;
  }

  /**
   * Samples the process's written bytes; the rate since the previous sample
   * (the first call, made when the page is registered, only sets the start,
   * so the first dashboard already has a rate).
   */
  async sampleWrites(): Promise<{ bytesPerSecond: number; seconds: number } | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile("/proc/self/io");
    } catch {
      return undefined;
    }
    const bytes = Number(/^write_bytes:\s*(\d+)/m.exec(text)?.[1] ?? NaN);
    if (!Number.isFinite(bytes)) return undefined;
    const at = Date.now();
    const previous = this.#io;
    if (!previous) {
      this.#io = { at, bytes };
      return undefined;
    }
    // Two looks in quick succession (two tabs) repeat the last rate: a window of a few ms says nothing.
    if (at - previous.at < MIN_WRITE_WINDOW_MS && this.#rate) return this.#rate;
    if (at <= previous.at) return undefined;
    this.#io = { at, bytes };
    const seconds = (at - previous.at) / 1000;
    this.#rate = {
      bytesPerSecond: Math.max(0, (bytes - previous.bytes) / seconds),
      seconds: Math.round(seconds * 10) / 10,
    };
    return this.#rate;
  }

  /** The GAL's LDAP directory, tested the way the GAL reads it (bind and search), when one is set. */
  async #directory(caCerts: string[] | undefined): Promise<Reachability | undefined> {
    const { store } = this.shared.deps;
    const url = store.settings.get(LDAP_GAL_SETTINGS.url)?.trim();
    if (!url) return undefined;
    const service = "GAL/LDAP";
    try {
      const config = ldapConfigOf((key) => store.settings.get(key), caCerts, (name) => this.shared.env[name]);
      if (!config) return undefined;
      const result = await probeLdap({
        url: config.url,
        baseDn: config.baseDn,
        ...(config.bindDn ? { bindDn: config.bindDn, bindPassword: config.bindPassword ?? "" } : {}),
        ...(config.filter ? { filter: config.filter } : {}),
        ...(config.startTls !== undefined ? { startTls: config.startTls } : {}),
        ...(caCerts ? { caCerts } : {}),
        timeoutMs: 5_000,
      });
      const failed = result.steps.find((step) => step.status === "fail");
      // The search step lists people found; the first words say enough on a dashboard.
      const detail = (failed ? `${failed.step}: ${failed.detail}` : result.steps.at(-1)?.detail ?? "").slice(
        0,
        120,
      );
      return { service, url: config.url, ok: result.ok, detail };
    } catch (error) {
      return { service, url, ok: false, detail: (error as Error).message };
    }
  }

  async #certificate(): Promise<BoxStatus["certificate"]> {
    const settings = this.shared.deps.settings;
    const path = settings.tls.mode === "files"
      ? settings.tls.certFile
      : settings.tls.mode === "self-signed"
      ? `${settings.dataDir}/tls/${TLS_FILES.cert}`
      : undefined;
    if (!path) return undefined;
    try {
      const info = await readCertificateInfo(await Deno.readTextFile(path));
      const now = new Date(this.shared.now());
      return {
        subject: info.subjectCommonName ?? "",
        notAfter: info.notAfter.toISOString(),
        daysLeft: Math.floor((info.notAfter.getTime() - now.getTime()) / 86_400_000),
        status: checkExpiry(info, now, CERT_WARN_DAYS),
      };
    } catch {
      return undefined;
    }
  }
}

function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${Math.round(n)} B`;
}

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

/**
 * The last hour as an inline SVG bar chart: requests per minute (bars) and
 * the mean answer time of non-Ping commands (line).
 */
export function trafficChart(minutes: readonly TrafficMinute[]): string {
  const w = 600, h = 140, pad = 24;
  const maxRequests = Math.max(1, ...minutes.map((m) => m.requests));
  const means = minutes.map((m) => (m.requests - m.pings > 0 ? m.totalMs / (m.requests - m.pings) : 0));
  const maxMs = Math.max(1, ...means);
  const bw = (w - pad) / Math.max(1, minutes.length);
  const bars = minutes.map((m, i) => {
    const bh = (m.requests / maxRequests) * (h - pad);
    return `<rect x="${(pad + i * bw).toFixed(1)}" y="${(h - pad - bh).toFixed(1)}" width="${
      (bw * 0.8).toFixed(1)
    }" height="${bh.toFixed(1)}" fill="#8fb3e8"><title>${
      new Date(m.at).toISOString().slice(11, 16)
    }: ${m.requests} requests (${m.pings} Ping, ${m.errors} errors)</title></rect>`;
  }).join("");
  const line = means.map((v, i) =>
    `${(pad + i * bw + bw * 0.4).toFixed(1)},${(h - pad - (v / maxMs) * (h - pad)).toFixed(1)}`
  )
    .join(" ");
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="Requests per minute over the last hour">
<line x1="${pad}" y1="${h - pad}" x2="${w}" y2="${h - pad}" stroke="#999"/>
<text x="0" y="12" font-size="10" fill="#555">${maxRequests}/min</text><text x="${
    w - 90
  }" y="12" font-size="10" fill="#c0392b">mean ${Math.round(maxMs)} ms</text>
<text x="${pad}" y="${h - 6}" font-size="10" fill="#555">-60 min</text><text x="${w - 30}" y="${
    h - 6
  }" font-size="10" fill="#555">now</text>
${bars}<polyline points="${line}" fill="none" stroke="#c0392b" stroke-width="1.5"/></svg>`;
}

/** The refreshable panel of the dashboard. */
export function dashboardPanel(status: BoxStatus, now: number): string {
  const reach = status.mailstore.length
    ? `<ul class="steps">${
      status.mailstore.map((r) =>
        `<li class="${r.ok ? "ok" : "fail"}"><b>${r.ok ? "ok" : "down"}</b> ${
          escapeHtml(r.service)
        } <span class="muted">${escapeHtml(r.url)}</span>: ${escapeHtml(r.detail)}</li>`
      ).join("")
    }</ul>`
    : `<p class="warn">No mailstore configured yet: <a href="/wizard/mailstore">set it up</a>.</p>`;
  const cert = status.certificate
    ? `<p class="${status.certificate.status === "ok" ? "ok" : "fail"}">${
      escapeHtml(status.certificate.subject)
    }: ${
      status.certificate.status === "ok"
        ? `valid for ${status.certificate.daysLeft} more days`
        : `${escapeHtml(status.certificate.status)} (${status.certificate.daysLeft} days left, until ${
          escapeHtml(status.certificate.notAfter.slice(0, 10))
        })`
    }</p>`
    : `<p class="muted">No certificate (TLS off)</p>`;
  const devices = status.devices.recent.map((d) =>
    `<tr><td>${escapeHtml(d.user)}</td><td><a href="/devices/${d.id}">${
      escapeHtml(d.deviceId)
    }</a></td><td class="hide-small">${escapeHtml(d.deviceType)}</td><td>${
      escapeHtml(d.protocolVersion)
    }</td><td>${ago(now - d.lastSeen)}</td></tr>`
  ).join("");
  return `<div class="grid">
<section><h2>Service</h2><p class="ok">Running ${escapeHtml(status.version)} for ${
    Math.round(status.uptimeSeconds / 60)
  } min</p>${status.easUrl ? `<p class="muted">${escapeHtml(status.easUrl)}</p>` : ""}</section>
<section><h2>Mailstore</h2>${reach}</section>
<section><h2>Devices</h2><p class="big" id="device-count">${status.devices.total}</p><p>${status.devices.active} active in the last day</p></section>
<section><h2>Direct Push</h2><p class="big" id="held-pings">${status.push?.held ?? 0}</p><p>held Pings, ${
    status.push?.watchers ?? 0
  } mailbox watchers${
    status.push?.unreachable ? `, <span class="fail">${status.push.unreachable} unreachable</span>` : ""
  }</p>${
    status.push?.problems.length
      ? `<ul class="steps" id="watcher-problems">${
        status.push.problems.map((p) =>
          `<li class="fail">${escapeHtml(p.user)}: ${escapeHtml(p.detail || "mailstore unreachable")}</li>`
        ).join("")
      }</ul>`
      : ""
  }</section>
<section><h2>Memory and storage</h2><p>Memory ${bytes(status.memory.rss)} (heap ${
    bytes(status.memory.heapUsed)
  })</p>${
    status.disk ? `<p>Disk ${bytes(status.disk.freeBytes)} free of ${bytes(status.disk.totalBytes)}</p>` : ""
  }${
    status.flashWriteBytesPerSecond !== undefined
      ? `<p>Writes ${bytes(status.flashWriteBytesPerSecond)}/s <span class="muted">(last ${
        status.flashWriteWindowSeconds ?? 0
      } s)</span></p>`
      : ""
  }</section>
<section><h2>Certificate</h2>${cert}</section>
</div>
${
    status.pushLatency
      ? `<section id="push-latency"><h2>Push latency, last hour</h2>${pushLatencyChart(status.pushLatency)}${
        pushLatencySummary(status.pushLatency)
      }</section>`
      : ""
  }
<section><h2>Traffic, last hour</h2>${
    trafficChart(status.traffic)
  }<p class="muted">Bars: requests per minute (Pings are held, so they are counted but not timed). Line: mean answer time of other commands.</p></section>
<section><h2>Recently seen devices</h2><div class="scroll"><table id="recent-devices"><tr><th>User</th><th>Device</th><th class="hide-small">Type</th><th>Protocol</th><th>Last seen</th></tr>${
    devices || '<tr><td colspan="5" class="muted">No phone has connected yet</td></tr>'
  }</table></div></section>`;
}

/** Registers the dashboard, its panel and /api/status. */
export function registerDashboard(app: SetupHono, shared: SetupShared): void {
  const collector = new StatusCollector(shared);
  // The first sample of written bytes, so the first dashboard already shows a write rate.
  void collector.sampleWrites();
  app.get("/", async (c) => {
    if (!shared.deps.store.settings.get(SETUP_COMPLETED_SETTING) && !c.req.query("finished")) {
      return c.redirect("/wizard/host", 303);
    }
    const status = await collector.collect();
    const finished = c.req.query("finished");
    const notice = finished
      ? {
        kind: "ok" as const,
        text: `Setup finished. ${
          applyNotice({
            state: finished === "applied" ? "applied" : "saved",
            // Only known setting names are echoed back from the query string.
            restartNeeded: (c.req.query("restart") ?? "").split(",")
              .filter((name) => (RESTART_ONLY_SETTINGS as readonly string[]).includes(name)),
          }).text
        }`,
      }
      : undefined;
    return c.html(page(
      { title: "Dashboard", path: "/", csrf: c.get("session").csrf, ...(notice ? { notice } : {}) },
      `<div data-refresh="/dashboard/panel" data-every="5000">${dashboardPanel(status, shared.now())}</div>`,
    ));
  });
  app.get("/dashboard/panel", async (c) => c.html(dashboardPanel(await collector.collect(), shared.now())));
  app.get("/api/status", async (c) => c.json(await collector.collect()));
}
