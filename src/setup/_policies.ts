/**
 * The policies editor with inheritance (where each value comes from, and
 * buttons that make a scope inherit again) and the access rules, all through
 * the admin module the CLI uses.
 *
 * @module
 */
import type { AccessAction } from "../admin/device_admin.ts";
import { formValues, type SetupContext, type SetupHono, type SetupShared } from "./_context.ts";
import { form, page } from "./_layout.ts";
import { escapeHtml } from "./html.ts";

type Notice = { kind: "ok" | "error"; text: string };

const ACCESS_ACTIONS: readonly AccessAction[] = ["allow", "block", "quarantine"];
const ACCESS_MATCHES = ["default", "user", "device", "device-type", "model"] as const;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Scopes an admin is likely to edit: the box, served domains, users and devices that connected. */
function knownScopes(shared: SetupShared): string[] {
  const devices = shared.deps.store.devices.list();
  return [
    "box",
    ...[...new Set(devices.map((d) => `user:${d.user}`))].sort(),
    ...devices.map((d) => `device:${d.user}/${d.deviceId}`).sort(),
  ];
}

function renderPolicies(shared: SetupShared, csrf: string, scope: string, notice?: Notice): string {
  let table = "";
  let resolvedScope = scope;
  try {
    const shown = shared.admin.showPolicy(scope);
    resolvedScope = shown.scope;
    table = `<p>${
      shown.neutral ? "This policy asks nothing of phones." : "Phones are asked to apply this policy."
    } Values set here override the wider scopes; the others are inherited.</p>
<div class="scroll"><table id="policy"><tr><th>Setting</th><th>Value</th><th>From</th><th class="hide-small">Meaning</th><th></th></tr>${
      shown.rows.map((row) => {
        const own = row.source === shown.scope;
        return `<tr${own ? ' class="own"' : ""}><td><label for="v-${row.key}">${
          escapeHtml(row.key)
        }</label></td>
<td><input type="text" id="v-${row.key}" name="v.${row.key}" value="${escapeHtml(row.value)}"></td>
<td class="${own ? "ok" : "muted"}" data-source="${escapeHtml(row.source)}">${
          own
            ? "set here"
            : row.source === "defaults"
            ? "default"
            : `inherited from ${escapeHtml(row.source)}`
        }</td><td class="hide-small muted">${escapeHtml(row.description)}</td><td>${
          own
            ? `<button type="submit" class="secondary" formaction="/policies/inherit" name="key" value="${
              escapeHtml(row.key)
            }">Inherit</button>`
            : ""
        }</td></tr>`;
      }).join("")
    }</table></div><button type="submit">Save changes</button>`;
  } catch (error) {
    notice = { kind: "error", text: message(error) };
  }
  const chooser = `<section><form method="get" action="/policies"><label for="scope">Scope</label>
<input type="text" id="scope" name="scope" value="${escapeHtml(scope)}" list="scopes"><datalist id="scopes">${
    knownScopes(shared).map((s) => `<option value="${escapeHtml(s)}">`).join("")
  }</datalist><p class="muted">box, domain:DOMAIN, user:USER or device:USER/DEVICEID. Narrower scopes inherit from wider ones.</p>
<button type="submit">Show</button></form></section>`;
  const rules = shared.admin.accessRules();
  const rulesHtml =
    `<section><h2>Access rules</h2><div class="scroll"><table id="access-rules"><tr><th>Match</th><th>Target</th><th>Action</th><th>By</th><th></th></tr>${
      rules.map((r) =>
        `<tr><td>${escapeHtml(r.match)}</td><td>${
          escapeHtml([r.user, r.value].filter(Boolean).join(" / "))
        }</td><td>${escapeHtml(r.action)}</td><td class="muted">${escapeHtml(r.createdBy)}</td><td>${
          form(
            `/access/${r.id}/remove`,
            csrf,
            `<button type="submit" class="secondary" data-confirm="Remove this rule?">Remove</button>`,
            'class="inline"',
          )
        }</td></tr>`
      ).join("") || '<tr><td colspan="5" class="muted">No rules: every device is allowed</td></tr>'
    }</table></div>${
      form(
        "/access",
        csrf,
        `<label for="match">Rule for</label><select id="match" name="match">${
          ACCESS_MATCHES.map((m) => `<option>${m}</option>`).join("")
        }</select><label for="rule-user">User (for user and device rules)</label><input type="text" id="rule-user" name="user">
<label for="rule-value">DeviceId, device type or model</label><input type="text" id="rule-value" name="value">
<label for="action">Action</label><select id="action" name="action">${
          ACCESS_ACTIONS.map((a) => `<option>${a}</option>`).join("")
        }</select><button type="submit">Add rule</button>`,
      )
    }</section>`;
  return page(
    { title: "Policies", path: "/policies", csrf, ...(notice ? { notice } : {}) },
    chooser +
      (table
        ? form(
          "/policies",
          csrf,
          `<input type="hidden" name="scope" value="${escapeHtml(resolvedScope)}">${table}`,
          'class="card"',
        )
        : "") +
      rulesHtml,
  );
}

/** The assignments of a policy form that differ from what is shown now. */
function changedAssignments(shared: SetupShared, scope: string, values: Record<string, string>): string[] {
  const current = new Map(shared.admin.showPolicy(scope).rows.map((r) => [r.key as string, r.value]));
  const out: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (!name.startsWith("v.")) continue;
    const key = name.slice(2);
    if (current.has(key) && current.get(key) !== value.trim()) out.push(`${key}=${value.trim()}`);
  }
  return out;
}

/** Registers the policies and access pages and their API. */
export function registerPolicies(app: SetupHono, shared: SetupShared): void {
  const show = (c: SetupContext, scope: string, notice?: Notice, status: 200 | 400 = 200) =>
    c.html(renderPolicies(shared, c.get("session").csrf, scope, notice), status);

  app.get("/policies", (c) => show(c, c.req.query("scope") || "box"));
  app.post("/policies", async (c) => {
    const values = await formValues(c);
    const scope = values.scope || "box";
    try {
      const changes = changedAssignments(shared, scope, values);
      if (!changes.length) return show(c, scope, { kind: "ok", text: "Nothing changed" });
      shared.admin.setPolicy(scope, changes);
      return show(c, scope, { kind: "ok", text: `Saved ${changes.join(", ")}` });
    } catch (error) {
      return show(c, scope, { kind: "error", text: message(error) }, 400);
    }
  });
  app.post("/policies/inherit", async (c) => {
    const values = await formValues(c);
    const scope = values.scope || "box";
    try {
      shared.admin.inheritPolicy(scope, values.key ? [values.key] : []);
      return show(c, scope, { kind: "ok", text: `${values.key ?? "All settings"} inherited again` });
    } catch (error) {
      return show(c, scope, { kind: "error", text: message(error) }, 400);
    }
  });
  app.post("/access", async (c) => {
    const v = await formValues(c);
    try {
      shared.admin.setAccess(v.action as AccessAction, accessTarget(v));
      return show(c, "box", { kind: "ok", text: "Access rule saved" });
    } catch (error) {
      return show(c, "box", { kind: "error", text: message(error) }, 400);
    }
  });
  app.post("/access/:id/remove", (c) => {
    try {
      shared.admin.removeAccess(Number(c.req.param("id")));
      return show(c, "box", { kind: "ok", text: "Access rule removed" });
    } catch (error) {
      return show(c, "box", { kind: "error", text: message(error) }, 400);
    }
  });

  const api = async (c: SetupContext, work: (body: Record<string, unknown>) => unknown) => {
    try {
      const body = c.req.method === "GET"
        ? {}
        : await c.req.json().catch(() => ({})) as Record<string, unknown>;
      return c.json(await work(body) ?? { ok: true });
    } catch (error) {
      return c.json({ error: message(error) }, 400);
    }
  };
  app.get("/api/policies", (c) => api(c, () => shared.admin.showPolicy(c.req.query("scope") || "box")));
  app.post("/api/policies", (c) =>
    api(c, (b) =>
      shared.admin.setPolicy(
        String(b.scope ?? "box"),
        Object.entries((b.set ?? {}) as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`),
      )));
  app.post("/api/policies/inherit", (c) =>
    api(c, (b) => ({
      removed: shared.admin.inheritPolicy(
        String(b.scope ?? "box"),
        Array.isArray(b.keys) ? b.keys.map(String) : [],
      ),
    })));
  app.get("/api/access", (c) => api(c, () => shared.admin.accessRules()));
  app.post(
    "/api/access",
    (c) =>
      api(
        c,
        (b) =>
          shared.admin.setAccess(String(b.action) as AccessAction, accessTarget(b as Record<string, string>)),
      ),
  );
  app.delete("/api/access/:id", (c) => api(c, () => shared.admin.removeAccess(Number(c.req.param("id")))));
}

/** The admin module's target of an access rule from form or JSON fields. */
function accessTarget(v: Record<string, string | undefined>) {
  const user = v.user?.trim() || undefined;
  const value = v.value?.trim() ?? "";
  switch (v.match) {
    case "device":
      return { ...(user ? { user } : {}), deviceId: value };
    case "user":
      return user ? { user } : { user: "" };
    case "device-type":
      return { deviceType: value };
    case "model":
      return { model: value };
    default:
      return {};
  }
}
