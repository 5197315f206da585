/**
 * Scenario "mailstore and storage faults": the TCP fault proxy sits in front
 * of Dovecot's IMAP port and the submission port. Per cycle the backend is
 * taken down (connections refused), made to drop connections mid-command,
 * made to close right after its greeting (logins fail), or slowed down (each
 * chunk of its answers held 150 ms); SMTP is refused for a
 * SendMail (the SQLite file locked, full or read-only is storage_faults.ts).
 * Phones must get 503 with Retry-After (or the spec's
 * retryable in-band statuses) and never 401 or 500; when the faults stop, the
 * same SyncKey and ClientId carry on: no resync, nothing lost or duplicated.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import type { EasReply } from "../eas_client/client.ts";
import { seededRandom, startTcpFaultProxy, type TcpFault } from "../fault_proxy.ts";
import { imapCommand } from "../../tests/harness/imap_peek.ts";
import { startBox } from "../../tests/integration/fixture.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { compareWithTruth, imapTruth, Phone, retryable } from "./phone.ts";
import type { ScenarioResult } from "./result.ts";

const CM = "ComposeMail";
const FH = "FolderHierarchy";

/** Options of one run. */
export interface MailstoreFaultOptions {
  cycles: number;
  seed?: number;
}

/** Runs the scenario; returns its table row. */
export async function runMailstoreFaults(options: MailstoreFaultOptions): Promise<ScenarioResult> {
  const random = seededRandom(options.seed ?? 5);
  // The mailstore first, so the box can be pointed at the proxies instead of Dovecot itself.
  const probe = await startMailstore({ postfix: true });
  let imapFault: TcpFault = { kind: "pass" };
  let smtpFault: TcpFault = { kind: "pass" };
  const imapProxy = startTcpFaultProxy({
    targetHost: "127.0.0.1",
    targetPort: probe.imapPort,
    decide: () => imapFault,
  });
  const smtpProxy = startTcpFaultProxy({
    targetHost: "127.0.0.1",
    targetPort: probe.submissionPort,
    decide: () => smtpFault,
  });
  const box = await startBox({
    env: {
      PUSHBRIDGE_IMAP_URL: `imap://127.0.0.1:${imapProxy.port}`,
      PUSHBRIDGE_SMTP_URL: `smtp://127.0.0.1:${smtpProxy.port}`,
      PUSHBRIDGE_MAILSTORE_CA: probe.caFile,
    },
  });
  const started = performance.now();
  const refused: string[] = [];
  const recovery: number[] = [];
  let sentCount = 0;
  /** The Sync and FolderSync of a slow-IMAP cycle, together. */
  let slowestMs = 0;
  try {
    // The fixture started a mailstore of its own; the box talks to `probe` through the proxies.
    const mailstore = probe;
    const [alice, bob] = mailstore.users;
    const client = box.client(alice!.name, { password: alice!.password });
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    const inbox = childrenNamed(child(folders.body, "Changes"), "Add")
      .find((a) => childText(a, "DisplayName")?.toUpperCase() === "INBOX");
    const phone = new Phone(client, childText(inbox, "ServerId")!);
    phone.attempts = 400;
    await phone.sync();
    const sendIds: string[] = [];

    /** One request while a fault is on: it must be refused in a retryable way. */
    const during = async (what: string, send: () => Promise<EasReply>) => {
      const reply = await send().catch((error) => ({
        status: 0,
        headers: new Headers(),
        raw: new Uint8Array(),
        error,
      }));
      if (!retryable(reply as EasReply)) {
        refused.push(
          `${what}: HTTP ${reply.status} ${new TextDecoder().decode((reply as EasReply).raw).slice(0, 80)}`,
        );
      }
    };
    // A 200 (a merely slow server) is applied as the phone would.
    const syncRequest = () => phone.syncOnce();

    for (let cycle = 0; cycle < options.cycles; cycle++) {
      await mailstore.deliver(alice!.name, `From: carol@example.test\r\nSubject: f${cycle}\r\n\r\nbody\r\n`);
      const kind = ["down", "cut", "greeting-only", "slow", "smtp-down"][cycle % 5]!;
      const faultStarted = performance.now();
      let faultEnded = faultStarted;
      if (kind !== "smtp-down") {
        imapFault = kind === "down"
          ? { kind: "refuse" }
          : kind === "cut"
          ? { kind: "cut", afterBytes: 200 + Math.floor(random() * 2000) }
          : kind === "slow"
          ? { kind: "slow", delayMs: 150 }
          : { kind: "cut", afterBytes: 40 };
        imapProxy.dropConnections();
        await during(`Sync with IMAP ${kind}`, syncRequest);
        // A user whose login is not cached yet: 503, never 401 (a 401 makes the phone ask for a new password).
        const bobClient = box.client(bob!.name, { deviceId: `bob${cycle}` });
        await during(
          `FolderSync of an uncached login with IMAP ${kind}`,
          () => bobClient.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0"))),
        );
        imapFault = { kind: "pass" };
        faultEnded = performance.now();
        if (kind === "slow") slowestMs = Math.max(slowestMs, faultEnded - faultStarted);
      } else {
        smtpFault = random() < 0.5 ? { kind: "refuse" } : { kind: "cut", afterBytes: 30 };
        const clientId = `mf${cycle}`;
        const mime = new TextEncoder().encode(
          `From: ${alice!.email}\r\nTo: ${bob!.email}\r\nSubject: ${clientId}\r\n\r\nhello\r\n`,
        );
        const send = () =>
          client.command(
            "SendMail",
            el(CM, "SendMail", textEl(CM, "ClientId", clientId), { ns: CM, name: "Mime", opaque: mime }),
          );
        await during("SendMail with SMTP down", send);
        smtpFault = { kind: "pass" };
        faultEnded = performance.now();
        const body = await phone.exchange(send);
        if (childText(body, "Status") !== undefined) {
          refused.push(`SendMail after SMTP returned: ${childText(body, "Status")}`);
        }
        sendIds.push(clientId);
        sentCount++;
      }
      // Back to normal: the same SyncKey carries on.
      await phone.sync();
      recovery.push(performance.now() - faultEnded);
    }
    for (let i = 0; i < 3; i++) await phone.sync();

    const truth = await imapTruth(mailstore, alice!.name);
    let { lost, duplicated } = compareWithTruth(phone, truth);
    // Every SendMail arrived exactly once.
    let transcript = "";
    for (let i = 0; i < 100; i++) {
      transcript = await imapCommand(mailstore, bob!.name, [
        "EXAMINE INBOX",
        "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
      ]);
      if (sendIds.every((id) => transcript.includes(`Subject: ${id}\r`))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const id of sendIds) {
      const n = transcript.split(`Subject: ${id}\r`).length - 1;
      if (n === 0) lost++;
      if (n > 1) duplicated += n - 1;
    }
    return {
      scenario: "IMAP/SMTP down, cut mid-command, logins failing; IMAP slow",
      cycles: options.cycles,
      lost,
      duplicated,
      errors: refused.length + phone.resyncs,
      recoveryMs: Math.round(Math.max(0, ...recovery)),
      notes: `${refused.length ? "not retryable: " + refused.slice(0, 4).join("; ") + "; " : ""}` +
        `full resyncs ${phone.resyncs}; ${sentCount} mails sent; ${phone.errors} requests retried; ` +
        `slowest Sync + FolderSync with IMAP slow ${(slowestMs / 1000).toFixed(1)} s; ` +
        `${Math.round((performance.now() - started) / 1000)} s`,
    };
  } finally {
    await imapProxy.close();
    await smtpProxy.close();
    await box.stop();
    await probe.stop();
  }
}
