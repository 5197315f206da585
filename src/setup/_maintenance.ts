/**
 * Audit log, settings backup (download) and restore (upload, validated, dry
 * run with a diff), admin password change, software version, update upload
 * and restart; each also under /api/ for scripts.
 *
 * @module
 */
import { VERSION } from "../version.ts";
import {
  applyNotice,
  applySaved,
  formValues,
  restartPage,
  scheduleRestart,
  type SetupHono,
  type SetupShared,
} from "./_context.ts";
import { form, page } from "./_layout.ts";
import { MAX_UPDATE_BYTES, queueUpdate } from "./_update.ts";
import { createBackup, diffSettings, parseBackup, type SettingChange } from "./backup.ts";
import { escapeHtml } from "./html.ts";

function diffTable(changes: readonly SettingChange[]): string {
  if (!changes.length) {
    return `<p class="muted">The backup matches the current settings: nothing would change.</p>`;
  }
  return `<table id="restore-diff"><tr><th>Setting</th><th>Change</th><th>Now</th><th>After restore</th></tr>${
    changes.map((c) =>
      `<tr><td>${escapeHtml(c.key)}</td><td>${c.change}</td><td>${escapeHtml(c.before ?? "")}</td><td>${
        escapeHtml(c.after ?? "")
      }</td></tr>`
    ).join("")
  }</table>`;
}

/** Registers the audit and maintenance pages and their API. */
export function registerMaintenance(app: SetupHono, shared: SetupShared): void {
  const { store } = shared.deps;

  app.get("/audit", (c) => {
    const rows = store.audit.list(300).map((e) =>
      `<tr><td>${new Date(e.at).toISOString().replace("T", " ").slice(0, 19)}</td><td>${
        escapeHtml(e.actor)
      }</td><td>${escapeHtml(e.action)}</td><td>${
        escapeHtml([e.user, e.deviceId].filter(Boolean).join("/"))
      }</td><td class="${e.result === "ok" ? "ok" : "fail"}">${escapeHtml(e.result)}</td><td>${
        escapeHtml(e.detail)
      }</td></tr>`
    ).join("");
    return c.html(page(
      { title: "Audit log", path: "/audit", csrf: c.get("session").csrf },
      `<div class="scroll"><table id="audit"><tr><th>Time (UTC)</th><th>Actor</th><th>Action</th><th>Target</th><th>Result</th><th>Detail</th></tr>${
        rows || '<tr><td colspan="6" class="muted">Nothing yet</td></tr>'
      }</table></div>`,
    ));
  });
  app.get(
    "/api/audit",
    (c) => c.json(store.audit.list(Math.min(1000, Number(c.req.query("limit") ?? 200) || 200))),
  );

  const maintenancePage = (csrf: string, extra = "", notice?: { kind: "ok" | "error"; text: string }) =>
    page(
      { title: "Maintenance", path: "/maintenance", csrf, ...(notice ? { notice } : {}) },
      `${extra}<div class="grid"><section><h2>Software</h2><p>Version <strong>${
        escapeHtml(VERSION)
      }</strong></p>
${
        form(
          "/maintenance/update",
          csrf,
          `<label for="update">Signed update file (.pbu)</label><input type="file" id="update" name="update" accept=".pbu" required>
<button type="submit" data-confirm="Install this update? The service restarts and rolls back by itself if the new version is not healthy.">Upload and install</button>`,
          'enctype="multipart/form-data"',
        )
      }${
        shared.deps.restart
          ? form(
            "/maintenance/restart",
            csrf,
            `<button type="submit" class="secondary" data-confirm="Restart the service? Phones reconnect on their own.">Restart the service</button>`,
          )
          : `<p class="muted">Restart with <code>systemctl restart pushbridge</code>.</p>`
      }</section>
<section><h2>Backup</h2><p>All settings made on this page, as one file.</p><p><a class="button" href="/maintenance/backup" download>Download settings backup</a></p></section>
<section><h2>Restore</h2>${
        form(
          "/maintenance/restore",
          csrf,
          `<label for="backup">Backup file</label><input type="file" id="backup" name="backup" accept=".json,application/json" required>
<button type="submit" name="mode" value="dry-run" class="secondary">Check (dry run)</button><button type="submit" name="mode" value="apply" data-confirm="Replace the settings with the backup's?">Restore</button>`,
          'enctype="multipart/form-data"',
        )
      }</section>
<section><h2>Admin password</h2>${
        form(
          "/password",
          csrf,
          `<label for="current">Current password</label><input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="new-password">New password</label><input type="password" id="new-password" name="password" autocomplete="new-password" required>
<label for="confirm">Repeat it</label><input type="password" id="confirm" name="confirm" autocomplete="new-password" required><button type="submit">Change password</button>`,
        )
      }</section></div>`,
    );

  app.get("/maintenance", (c) => c.html(maintenancePage(c.get("session").csrf)));
  const backupBody = () =>
    JSON.stringify(createBackup(store.settings.all(), VERSION, new Date(shared.now())), null, 2);
  app.get("/maintenance/backup", (c) => {
    shared.audit("settings.backup");
    const day = new Date(shared.now()).toISOString().slice(0, 10);
    return c.body(backupBody(), 200, {
      "Content-Type": "application/json",
      "Content-Disposition": `attachment; filename="pushbridge-settings-${day}.json"`,
    });
  });
  app.get("/api/backup", (c) => {
    shared.audit("settings.backup");
    return c.body(backupBody(), 200, { "Content-Type": "application/json" });
  });

  /** Restores (or with dryRun only diffs) a backup; the page and the API share it. */
  const restore = (text: string, dryRun: boolean): SettingChange[] => {
    const backup = parseBackup(text);
    const changes = diffSettings(store.settings.all(), backup.settings);
    if (!dryRun) {
      store.db.transaction(() => {
        for (const c of changes) {
          if (c.change === "removed") store.settings.delete(c.key);
          else store.settings.set(c.key, c.after!);
        }
      });
      shared.audit("settings.restore", {
        detail: `${changes.length} settings changed from a backup of ${backup.createdAt}`,
      });
    }
    return changes;
  };

  app.post("/maintenance/restore", async (c) => {
    const csrf = c.get("session").csrf;
    const body = await c.req.parseBody();
    const file = body.backup;
    const dryRun = body.mode !== "apply";
    if (!(file instanceof File) || file.size === 0) {
      return c.html(maintenancePage(csrf, "", { kind: "error", text: "Choose a backup file first" }), 400);
    }
    try {
      const changes = restore(await file.text(), dryRun);
      const title = dryRun ? "<h2>Dry run: the restore would change</h2>" : "<h2>Restored</h2>";
      // Restored mailstore settings apply at once, like the wizard's.
      const applied = dryRun ? undefined : applyNotice(await applySaved(shared));
      return c.html(maintenancePage(
        csrf,
        `<section id="restore-result">${title}${diffTable(changes)}</section>`,
        applied ? { kind: applied.kind, text: `Settings restored. ${applied.text}` } : {
          kind: "ok",
          text: "Backup checked: nothing was changed",
        },
      ));
    } catch (error) {
      shared.audit("settings.restore", { result: "refused", detail: (error as Error).message });
      return c.html(maintenancePage(csrf, "", { kind: "error", text: (error as Error).message }), 400);
    }
  });
  app.post("/api/restore", async (c) => {
    try {
      const dryRun = c.req.query("dryRun") !== "false";
      const changes = restore(await c.req.text(), dryRun);
      return c.json({ dryRun, changes, ...(dryRun ? {} : { applied: await applySaved(shared) }) });
    } catch (error) {
      return c.json({ error: (error as Error).message }, 400);
    }
  });

  app.post("/maintenance/update", async (c) => {
    const csrf = c.get("session").csrf;
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > MAX_UPDATE_BYTES + 64 * 1024) {
      return c.html(
        maintenancePage(csrf, "", {
          kind: "error",
          text: `Update of ${declared} bytes exceeds ${MAX_UPDATE_BYTES}`,
        }),
        413,
      );
    }
    const file = (await c.req.parseBody()).update;
    try {
      const manifest = await installUpdate(file);
      return c.html(maintenancePage(csrf, "", {
        kind: "ok",
        text:
          `Update to version ${manifest.version} verified and queued: the box installs it and restarts within a minute`,
      }));
    } catch (error) {
      return c.html(maintenancePage(csrf, "", { kind: "error", text: (error as Error).message }), 400);
    }
  });
  // The same for scripts: the .pbu file is the request body.
  app.post("/api/update", async (c) => {
    const declared = Number(c.req.header("Content-Length") ?? "0");
    if (declared > MAX_UPDATE_BYTES) {
      return c.json({ error: `Update of ${declared} bytes exceeds ${MAX_UPDATE_BYTES}` }, 413);
    }
    try {
      const manifest = await installUpdate(new File([await c.req.arrayBuffer()], "update.pbu"));
      return c.json({ ok: true, version: manifest.version, kind: manifest.kind, arch: manifest.arch });
    } catch (error) {
      return c.json({ error: (error as Error).message }, 400);
    }
  });

  /** Verifies and queues an uploaded update, and audits either outcome. */
  async function installUpdate(file: unknown) {
    try {
      if (!(file instanceof File)) throw new RangeError("Choose an update file first");
      const manifest = await queueUpdate(shared, file);
      shared.audit("software.update", {
        detail: `version ${manifest.version} (${manifest.kind}, ${manifest.arch}) queued`,
      });
      return manifest;
    } catch (error) {
      shared.audit("software.update", { result: "refused", detail: (error as Error).message });
      throw error;
    }
  }

  app.post("/maintenance/restart", async (c) => {
    await formValues(c);
    if (!shared.deps.restart) return c.text("This box cannot restart itself", 501);
    return restartPage(shared, c, (title, body) => page({ title, csrf: c.get("session").csrf }, body));
  });
  app.post("/api/restart", (c) => {
    if (!shared.deps.restart) return c.json({ error: "This box cannot restart itself" }, 501);
    scheduleRestart(shared);
    return c.json({ ok: true, message: "The service restarts; the page is back in a few seconds" });
  });
}
