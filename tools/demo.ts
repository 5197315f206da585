/**
 * `make demo`: starts a loopback Dovecot (IMAP + submission + LMTP) + Postfix +
 * Radicale with demo users and seeded mail, then the box configured against
 * them, and prints what a phone or the bundled client needs. Ctrl-C stops all.
 */
import { seedDemoMail } from "../tests/harness/seed.ts";
import { seedDemoDav } from "../tests/harness/seed_dav.ts";
import { saveAutodiscoverDomains } from "../src/store/mail_domains.ts";
import { Store } from "../src/store/mod.ts";
import { startMailstore } from "../tests/harness/mod.ts";

const DATA_DIR = Deno.env.get("PUSHBRIDGE_DATA") ?? "./data-demo";
const LISTEN = Deno.env.get("PUSHBRIDGE_LISTEN") ?? "0.0.0.0:8443";
const SETUP_LISTEN = Deno.env.get("PUSHBRIDGE_SETUP_LISTEN") ?? "127.0.0.1:8080";

const mailstore = await startMailstore({ dav: true, postfix: true, sieve: true });
try {
  await seedDemoMail(mailstore);
  await seedDemoDav(mailstore);
} catch (error) {
  await mailstore.stop();
  throw error;
}
// The demo users' mail domain, as the owner sets it on the setup page: it makes
// "alice" known as alice@example.test (organizer detection, autodiscover).
await Deno.mkdir(DATA_DIR, { recursive: true });
const settingsStore = Store.open(`${DATA_DIR}/pushbridge.sqlite`);
saveAutodiscoverDomains(settingsStore.settings, [mailstore.users[0]!.email.split("@")[1]!]);
settingsStore.close();

const box = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-all", new URL("../src/main.ts", import.meta.url).pathname, "serve"],
  env: {
    PUSHBRIDGE_DATA: DATA_DIR,
    PUSHBRIDGE_LISTEN: LISTEN,
    PUSHBRIDGE_SETUP_LISTEN: SETUP_LISTEN,
    PUSHBRIDGE_IMAP_URL: mailstore.imapUrl,
    PUSHBRIDGE_SMTP_URL: mailstore.smtpUrl,
    PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
    ...(mailstore.davUrl ? { PUSHBRIDGE_DAV_URL: mailstore.davUrl } : {}),
  },
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const stop = async () => {
  try {
    box.kill("SIGTERM");
    await box.status;
  } catch { /* already gone */ }
  await mailstore.stop();
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

const port = LISTEN.split(":").pop();
console.log(`
Pushbridge demo is running.
  IMAP ${mailstore.imapUrl}   SMTP ${mailstore.smtpUrl}   DAV ${mailstore.davUrl ?? "-"}
  Demo users (user / password):
${mailstore.users.map((u) => `    ${u.name} / ${u.password}   (${u.email})`).join("\n")}
  Box CA certificate for clients: ${DATA_DIR}/tls/ca.pem
  Try: deno task eas -- foldersync --url https://127.0.0.1:${port} --user ${mailstore.users[0]!.name} \\
         --password ${mailstore.users[0]!.password} --ca ${DATA_DIR}/tls/ca.pem --trace
Press Ctrl-C to stop everything.`);
const status = await box.status;
await mailstore.stop();
Deno.exit(status.code);
