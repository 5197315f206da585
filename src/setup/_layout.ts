/**
 * The page shell of the setup page: head, navigation, the stylesheet and the
 * small progressive script, all embedded (no CDN, no external fonts).
 *
 * @module
 */
import { VERSION } from "../version.ts";
import { escapeHtml } from "./html.ts";

/** Navigation entries of the admin console. */
const NAV = [
  ["/", "Dashboard"],
  ["/devices", "Devices"],
  ["/policies", "Policies"],
  ["/onboarding", "Phones"],
  ["/notifications", "Notices"],
  ["/audit", "Audit log"],
  ["/maintenance", "Maintenance"],
  ["/wizard", "Setup"],
] as const;

/** What a page shell needs. */
export interface PageOptions {
  title: string;
  /** Current path, to mark the navigation entry. */
  path?: string;
  /** CSRF token of the session; absent on the login pages (no navigation then). */
  csrf?: string;
  /** A message shown above the content. */
  notice?: { kind: "ok" | "error"; text: string };
}

/** Renders a full page around already-escaped `body` HTML. */
export function page(options: PageOptions, body: string): string {
  const nav = options.csrf
    ? `<nav>${
      NAV.map(([href, label]) =>
        `<a href="${href}"${
          href === options.path || (href !== "/" && options.path?.startsWith(href))
            ? ' aria-current="page"'
            : ""
        }>${label}</a>`
      ).join("")
    }<form method="post" action="/logout" class="inline">${
      csrfField(options.csrf)
    }<button class="link">Log out</button></form></nav>`
    : "";
  const notice = options.notice
    ? `<p class="notice ${options.notice.kind}" role="status">${escapeHtml(options.notice.text)}</p>`
    : "";
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
${options.csrf ? `<meta name="csrf" content="${escapeHtml(options.csrf)}">` : ""}
<title>${escapeHtml(options.title)} - Pushbridge</title>
<link rel="stylesheet" href="/assets/app.css"><script src="/assets/app.js" defer></script>
</head><body><header><a href="/" class="brand">Pushbridge</a><span class="version">${
    escapeHtml(VERSION)
  }</span>${nav}</header>
<main><h1>${escapeHtml(options.title)}</h1>${notice}${body}</main></body></html>`;
}

/** The hidden CSRF field every form carries. */
export function csrfField(token: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(token)}">`;
}

/** A form posting to `action` with the CSRF field. */
export function form(action: string, csrf: string, inner: string, attributes = ""): string {
  return `<form method="post" action="${escapeHtml(action)}" ${attributes}>${csrfField(csrf)}${inner}</form>`;
}

/** The stylesheet: readable on a laptop and on a phone. */
export const APP_CSS = `
:root{--fg:#1d2433;--muted:#5b6475;--line:#d8dce3;--bg:#f6f7f9;--accent:#1f5fbf;--ok:#1e7a3c;--warn:#a15c00;--bad:#b3261e}
*{box-sizing:border-box}body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;padding:.6rem 1rem;background:#fff;border-bottom:1px solid var(--line)}
.brand{font-weight:700;color:var(--fg);text-decoration:none}.version{color:var(--muted);font-size:.85em}
nav{display:flex;flex-wrap:wrap;gap:.2rem .8rem;align-items:center}nav a{color:var(--accent);text-decoration:none}
nav a[aria-current]{font-weight:700;text-decoration:underline}
main{max-width:64rem;margin:0 auto;padding:1rem}h1{font-size:1.5rem;margin:.3rem 0 1rem}h2{font-size:1.15rem;margin:1.4rem 0 .5rem}
section,.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:1rem;margin:0 0 1rem}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.35rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.scroll{overflow-x:auto}label{display:block;margin:.6rem 0 .2rem;font-weight:600}
input[type=text],input[type=password],input[type=url],input[type=number],select,textarea{width:100%;max-width:36rem;padding:.45rem;border:1px solid var(--line);border-radius:6px;font:inherit}
textarea{min-height:7rem;font-family:ui-monospace,monospace;font-size:.85em}
button,.button{display:inline-block;margin:.6rem .4rem 0 0;padding:.45rem .9rem;border:1px solid var(--accent);border-radius:6px;background:var(--accent);color:#fff;font:inherit;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}button.danger{background:var(--bad);border-color:var(--bad)}
button.link{background:none;border:0;color:var(--accent);padding:0;margin:0}form.inline{display:inline}
.notice{padding:.6rem .8rem;border-radius:6px}.notice.ok{background:#e5f4ea;color:var(--ok)}.notice.error{background:#fbe9e7;color:var(--bad)}
.ok{color:var(--ok)}.warn{color:var(--warn)}.fail,.bad{color:var(--bad)}.muted{color:var(--muted)}
.steps{list-style:none;padding:0;margin:.5rem 0}.steps li{padding:.15rem 0}.steps b{display:inline-block;min-width:3.2rem}
.big{font-size:1.8rem;font-weight:700}pre{white-space:pre-wrap;word-break:break-word;background:#f0f2f5;padding:.6rem;border-radius:6px;font-size:.82em;max-height:28rem;overflow:auto}
.wizard-steps{display:flex;flex-wrap:wrap;gap:.4rem;list-style:none;padding:0}.wizard-steps li{padding:.2rem .6rem;border-radius:99px;background:#e8ebf0}
.wizard-steps li.current{background:var(--accent);color:#fff}svg.chart{width:100%;height:auto;background:#fff}svg.push-chart{max-width:36rem;display:block}
.qr{width:100%;max-width:16rem;height:auto;image-rendering:pixelated}
@media (max-width:40rem){main{padding:.6rem}td,th{padding:.3rem}.hide-small{display:none}}
`;

/**
 * Progressive behaviour: connection tests run in place through /api/probe,
 * confirmations before destructive actions, and the dashboard refreshes its
 * panel. Every form also works without it.
 */
export const APP_JS = `
(() => {
  const csrf = document.querySelector('meta[name="csrf"]')?.content;
  const esc = (t) => String(t).replace(/[&<>"']/g, (c) => "&#" + c.charCodeAt(0) + ";");
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-probe]");
    if (!button) return;
    event.preventDefault();
    const service = button.dataset.probe;
    const out = document.getElementById("probe-" + service);
    const form = button.form;
    const data = Object.fromEntries(new FormData(form));
    out.innerHTML = '<p class="muted">Testing...</p>';
    button.disabled = true;
    try {
      const response = await fetch("/api/probe/" + service, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(data),
      });
      const result = await response.json();
      if (!response.ok) throw new Error(result.error || response.statusText);
      out.innerHTML = '<p class="' + (result.ok ? "ok" : "fail") + '"><strong>' + esc(result.service) + ": " +
        (result.ok ? "connection works" : "connection failed") + '</strong></p><ul class="steps">' +
        result.steps.map((s) => '<li class="' + s.status + '"><b>' + s.status + "</b> " + esc(s.step) + ": " + esc(s.detail) + "</li>").join("") + "</ul>";
    } catch (error) {
      out.innerHTML = '<p class="fail">' + esc(error.message) + "</p>";
    } finally {
      button.disabled = false;
    }
  });
  document.addEventListener("submit", (event) => {
    const message = event.submitter?.dataset.confirm ?? event.target.dataset.confirm;
    if (message && !confirm(message)) event.preventDefault();
  });
  const panel = document.querySelector("[data-refresh]");
  if (panel) {
    setInterval(async () => {
      try {
        const response = await fetch(panel.dataset.refresh, { headers: { Accept: "text/html" } });
        if (response.ok) panel.innerHTML = await response.text();
      } catch { /* the next tick retries */ }
    }, Number(panel.dataset.every || 5000));
  }
})();
`;
