/**
 * Phone onboarding: per user, the server name, user name, a QR code, the iOS
 * profile, and step-by-step text for Android, Outlook and Windows Mail.
 *
 * @module
 */
import { autodiscoverDomains } from "../store/mail_domains.ts";
import type { SetupHono, SetupShared } from "./_context.ts";
import { page } from "./_layout.ts";
import { escapeHtml } from "./html.ts";
import { buildMobileConfig } from "./mobileconfig.ts";
import { encodeQr, qrSvg } from "./qr_code.ts";

/** User names as mail servers accept them (an e-mail address or a login). */
const USER_PATTERN = /^[A-Za-z0-9._%+@-]{1,128}$/;

/** Where phones reach the box: the public host name (with the EAS port when not 443), else the EAS URL's host. */
export function phoneHost(shared: SetupShared): string {
  const easUrl = shared.deps.easUrl ? new URL(shared.deps.easUrl) : undefined;
  const port = easUrl?.port && easUrl.port !== "443" ? `:${easUrl.port}` : "";
  const name = shared.deps.store.settings.get("publicHostName") ?? shared.deps.settings.publicHostName;
  if (name) return `${name}${port}`;
  return easUrl?.host ?? "this-box";
}

function emailOf(shared: SetupShared, user: string): string {
  const domain = autodiscoverDomains(shared.deps.store.settings)[0];
  return user.includes("@") || !domain ? user : `${user}@${domain}`;
}

/** Registers the onboarding pages and the profile download. */
export function registerOnboarding(app: SetupHono, shared: SetupShared): void {
  app.get("/onboarding", (c) => {
    const csrf = c.get("session").csrf;
    const user = (c.req.query("user") ?? "").trim();
    const known = [...new Set(shared.deps.store.devices.list().map((d) => d.user))].sort();
    const chooser =
      `<section><form method="get" action="/onboarding"><label for="user">User name (mailbox login)</label>
<input type="text" id="user" name="user" value="${escapeHtml(user)}" list="known-users" required>
<datalist id="known-users">${known.map((u) => `<option value="${escapeHtml(u)}">`).join("")}</datalist>
<button type="submit">Show phone setup</button></form></section>`;
    if (!user) return c.html(page({ title: "Set up a phone", path: "/onboarding", csrf }, chooser));
    if (!USER_PATTERN.test(user)) {
      return c.html(
        page({
          title: "Set up a phone",
          path: "/onboarding",
          csrf,
          notice: { kind: "error", text: `'${user}' is not a user name` },
        }, chooser),
        400,
      );
    }
    const host = phoneHost(shared);
    const email = emailOf(shared, user);
    const qr = qrSvg(
      encodeQr(`Exchange server: ${host}\nUser name: ${user}\nE-mail: ${email}`),
      `Server ${host}, user ${user}`,
    );
    const selfSigned = shared.deps.caCertPem !== undefined;
    const caStep = selfSigned
      ? `<li>This box uses its own certificate authority: install it first (<a href="/ca.crt">download</a>; on Android: Settings, Security, Install a certificate, CA certificate).</li>`
      : "";
    const body = chooser + `<div class="grid"><section><h2>Account</h2><table>
<tr><th>Server</th><td id="server-name">${escapeHtml(host)}</td></tr><tr><th>User name</th><td>${
      escapeHtml(user)
    }</td></tr>
<tr><th>E-mail</th><td>${
      escapeHtml(email)
    }</td></tr><tr><th>Password</th><td>the mailbox password</td></tr><tr><th>Domain</th><td>leave empty</td></tr></table></section>
<section><h2>Scan</h2>${qr}<p class="muted">The QR code holds the server and user name as text.</p></section></div>
<section><h2>iPhone, iPad and Mac</h2><p><a class="button" href="/onboarding/profile?user=${
      encodeURIComponent(user)
    }">Download the configuration profile</a></p>
<ol><li>Send the file to the phone (AirDrop or mail) and open it.</li><li>Settings, Profile Downloaded, Install; enter the mailbox password when asked.</li>${
      selfSigned
        ? "<li>Then Settings, General, About, Certificate Trust Settings: turn on full trust for the Pushbridge certificate authority.</li>"
        : ""
    }</ol></section>
<section><h2>Android (Gmail or Samsung Email)</h2><ol>${caStep}<li>Add account, Exchange.</li><li>E-mail ${
      escapeHtml(email)
    }, password, then Manual setup.</li>
<li>Server ${escapeHtml(host)}, user name ${
      escapeHtml(user)
    }, domain empty, Use secure connection (SSL) on.</li><li>Accept the security policy when asked.</li></ol></section>
<section><h2>Outlook for iOS and Android</h2><ol>${caStep}<li>Add account, enter ${
      escapeHtml(email)
    }, choose Exchange, then Advanced settings.</li>
<li>Server ${escapeHtml(host)}, domain empty, user name ${escapeHtml(user)}, password.</li></ol></section>
<section><h2>Windows Mail</h2><ol>${caStep}<li>Settings, Manage accounts, Add account, Advanced setup, Exchange ActiveSync.</li>
<li>E-mail ${escapeHtml(email)}, server ${escapeHtml(host)}, user name ${
      escapeHtml(user)
    }, server requires encrypted (SSL) connection on.</li></ol></section>`;
    return c.html(page({ title: `Set up a phone for ${user}`, path: "/onboarding", csrf }, body));
  });

  app.get("/onboarding/profile", async (c) => {
    const user = (c.req.query("user") ?? "").trim();
    if (!USER_PATTERN.test(user)) return c.text(`'${user}' is not a user name`, 400);
    const profile = await buildMobileConfig({
      host: phoneHost(shared),
      user,
      email: emailOf(shared, user),
      ...(shared.deps.caCertPem ? { caCertPem: shared.deps.caCertPem } : {}),
    });
    shared.audit("onboarding.profile", { user });
    return c.body(profile, 200, {
      "Content-Type": "application/x-apple-aspen-config",
      "Content-Disposition": `attachment; filename="pushbridge-${
        user.replace(/[^A-Za-z0-9.-]/g, "_")
      }.mobileconfig"`,
    });
  });
}
