/**
 * The notification sender: the mailbox account that sends quarantine notices
 * and wipe confirmations (src/admin/notifier.ts), with a button that sends a
 * real test message through the mailstore's SMTP submission.
 *
 * @module
 */
import { NOTIFY_PASSWORD_ENV, NOTIFY_SETTINGS, SmtpNotifier, submissionUrlOf } from "../admin/notifier.ts";
import { formValues, type SetupContext, type SetupHono, type SetupShared } from "./_context.ts";
import { form, page } from "./_layout.ts";
import { escapeHtml } from "./html.ts";

/** An address as the notifier sends to it: one mailbox, no display name. */
const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+$/;

/** The notifier with the box's current SMTP settings (re-read, so applied settings count at once). */
async function currentNotifier(shared: SetupShared): Promise<SmtpNotifier> {
  const settings = shared.deps.settings;
  const caCerts = settings.mailstoreCaFile
    ? await Deno.readTextFile(settings.mailstoreCaFile).then((pem) => [pem], () => undefined)
    : undefined;
  return new SmtpNotifier({
    store: shared.deps.store,
    env: shared.env,
    ...(settings.smtpUrl ? { smtpUrl: submissionUrlOf(settings.smtpUrl) } : {}),
    ...(caCerts ? { caCerts } : {}),
    ...(shared.deps.log ? { log: shared.deps.log } : {}),
  });
}

function render(shared: SetupShared, csrf: string, testTo?: string): string {
  const stored = shared.deps.store.settings;
  const value = (key: string) => escapeHtml(stored.get(key) ?? "");
  const fromEnv = Boolean(shared.env[NOTIFY_PASSWORD_ENV]);
  const hasStored = Boolean(stored.get(NOTIFY_SETTINGS.password));
  const password = fromEnv
    ? `<p class="muted">The password comes from the environment variable ${NOTIFY_PASSWORD_ENV}; it is not stored.</p>`
    : `<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="new-password" placeholder="${
      hasStored ? "saved; leave empty to keep it" : ""
    }">
<p class="muted">This account's password is stored in the box's database (unlike phone users' passwords, which never touch disk). Use a mailbox made for this; to keep the password off disk, set the environment variable ${NOTIFY_PASSWORD_ENV} instead and leave this field empty.</p>`;
  const smtp = shared.deps.settings.smtpUrl;
  return `<section><p>When a phone is quarantined or a wipe is confirmed, the box mails the user and the administrator. It sends through the mailstore's SMTP submission (${
    smtp
      ? `<code>${escapeHtml(smtp.href)}</code>`
      : '<span class="warn">not configured yet: <a href="/wizard/mailstore">set it up</a></span>'
  }) with this account.</p>${
    form(
      "/notifications",
      csrf,
      `<label for="sender">Sender address</label><input type="email" id="sender" name="sender" value="${
        value(NOTIFY_SETTINGS.sender)
      }" placeholder="pushbridge@example.com">
<label for="login">Login (empty: the sender address)</label><input type="text" id="login" name="login" value="${
        value(NOTIFY_SETTINGS.login)
      }" autocomplete="off">
${password}
<label for="admin">Administrator's address (gets a copy of every notice)</label><input type="email" id="admin" name="admin" value="${
        value(NOTIFY_SETTINGS.admin)
      }" placeholder="it@example.com">
<button type="submit">Save</button>`,
    )
  }</section><section><h2>Test</h2>${
    form(
      "/notifications/test",
      csrf,
      `<label for="to">Send a test message to</label><input type="email" id="to" name="to" value="${
        escapeHtml(testTo ?? stored.get(NOTIFY_SETTINGS.admin) ?? stored.get(NOTIFY_SETTINGS.sender) ?? "")
      }" required>
<button type="submit" class="secondary">Send test message</button>`,
    )
  }</section>`;
}

/** Checks and saves the form; returns the problem, if any. */
function save(shared: SetupShared, values: Record<string, string>): string | undefined {
  const sender = values.sender?.trim() ?? "";
  const admin = values.admin?.trim() ?? "";
  for (const [label, address] of [["sender", sender], ["administrator's", admin]] as const) {
    if (address && !ADDRESS.test(address)) return `The ${label} address '${address}' is not an email address`;
  }
  const settings = shared.deps.store.settings;
  const put = (key: string, value: string) => value ? settings.set(key, value) : settings.delete(key);
  put(NOTIFY_SETTINGS.sender, sender);
  put(NOTIFY_SETTINGS.login, values.login?.trim() ?? "");
  put(NOTIFY_SETTINGS.admin, admin);
  // Without a sender there is no account: its password goes too. An empty field keeps the saved one.
  if (!sender) settings.delete(NOTIFY_SETTINGS.password);
  else if (values.password && !shared.env[NOTIFY_PASSWORD_ENV]) {
    settings.set(NOTIFY_SETTINGS.password, values.password);
  }
  shared.audit("settings.notifications", { detail: `sender=${sender || "-"} admin=${admin || "-"}` });
  return undefined;
}

/** Sends the test message and audits what happened. */
async function sendTest(shared: SetupShared, to: string): Promise<{ ok: boolean; result: string }> {
  const result = await (await currentNotifier(shared)).sendTest(to);
  const ok = result.startsWith("sent");
  shared.audit("settings.notifications-test", { result: ok ? "ok" : "failed", detail: result });
  return { ok, result };
}

/** Registers the notification sender page and its API. */
export function registerNotifications(app: SetupHono, shared: SetupShared): void {
  const show = (c: SetupContext, notice?: { kind: "ok" | "error"; text: string }, testTo?: string) => {
    const csrf = c.get("session").csrf;
    return c.html(
      page(
        { title: "Notification sender", path: "/notifications", csrf, ...(notice ? { notice } : {}) },
        render(shared, csrf, testTo),
      ),
      notice?.kind === "error" ? 400 : 200,
    );
  };
  app.get("/notifications", (c) => show(c));
  app.post("/notifications", async (c) => {
    const problem = save(shared, await formValues(c));
    return show(
      c,
      problem ? { kind: "error", text: problem } : { kind: "ok", text: "Notification sender saved" },
    );
  });
  app.post("/notifications/test", async (c) => {
    const to = (await formValues(c)).to ?? "";
    const { ok, result } = await sendTest(shared, to);
    return show(c, { kind: ok ? "ok" : "error", text: `Test message ${result}` }, to);
  });
  app.post("/api/notifications/test", async (c) => {
    const body = await c.req.json().catch(() => undefined) as { to?: unknown } | undefined;
    if (!body || typeof body.to !== "string") {
      return c.json({ error: "Body must be a JSON object with 'to'" }, 400);
    }
    return c.json(await sendTest(shared, body.to));
  });
}
