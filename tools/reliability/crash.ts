/**
 * Scenario "crashes": the box runs as a subprocess (`deno run src/main.ts
 * serve` with PUSHBRIDGE_* settings) and is killed with SIGKILL at random
 * moments while a phone runs Sync, SendMail, MoveItems and FolderSync. After
 * every kill the database must pass PRAGMA integrity_check, the box is
 * restarted, and the phone carries on with the request it was making (same
 * SyncKey, same ClientId): no full resync, no mail sent twice (counted in the
 * recipient's INBOX), no message lost or doubled by a move.
 *
 * @module
 */
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { seededRandom } from "../fault_proxy.ts";
import { imapCommand } from "../../tests/harness/imap_peek.ts";
import { startMailstore } from "../../tests/harness/mod.ts";
import { BoxProcess } from "./box_process.ts";
import { imapTruth, Phone } from "./phone.ts";
import type { ScenarioResult } from "./result.ts";

const FH = "FolderHierarchy";
const CM = "ComposeMail";

/** Options of one run. */
export interface CrashOptions {
  kills: number;
  seed?: number;
}

/** Runs the scenario with its own mailstore and box process; returns its table row. */
export async function runCrashes(options: CrashOptions): Promise<ScenarioResult> {
  const random = seededRandom(options.seed ?? 3);
  const mailstore = await startMailstore({ postfix: true });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-crash-" });
  const box = new BoxProcess(dataDir, mailstore);
  const started = performance.now();
  let kills = 0;
  let integrityFailures = 0;
  const recovery: number[] = [];
  try {
    await box.start();
    const [alice, bob] = mailstore.users;
    const client = box.client(alice!.name, alice!.password, "crashphone");
    const folders = await client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", "0")));
    let folderKey = childText(folders.body, "SyncKey")!;
    const ids = new Map(
      childrenNamed(child(folders.body, "Changes"), "Add").map((
        a,
      ) => [childText(a, "DisplayName")!, childText(a, "ServerId")!]),
    );
    const inbox = ids.get("INBOX") ?? ids.get("Inbox")!;
    const archive = ids.get("Archive")!;
    const phone = new Phone(client, inbox);
    phone.attempts = 200;
    await phone.sync();

    let delivered = 0;
    const sent: string[] = [];
    let unexpected = 0;
    let cycle = 0;
    // The killer: one kill at a random moment of each cycle it picks, then a restart.
    let killing: Promise<void> | undefined;
    /** The ClientId whose SendMail is in flight, and those a kill interrupted. */
    let sending: string | undefined;
    const killedWhileSending = new Set<string>();
    const killSoon = () => {
      killing = (async () => {
        await new Promise((r) => setTimeout(r, Math.floor(random() * 400)));
        if (sending) killedWhileSending.add(sending);
        const integrity = await box.kill();
        kills++;
        if (integrity !== "ok") integrityFailures++;
        const down = performance.now();
        await box.start();
        box.restarts++;
        recovery.push(performance.now() - down);
      })();
    };

    while (kills < options.kills) {
      cycle++;
      if (!killing && random() < 0.7) killSoon();
      // Server side: a new message.
      const subject = `c${delivered++}`;
      await mailstore.deliver(alice!.name, `From: carol@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`);
      await phone.sync();
      // SendMail with a ClientId; a retry after a kill must not send it again.
      const clientId = `send${cycle}`;
      const mime = `From: ${alice!.email}\r\nTo: ${bob!.email}\r\nSubject: ${clientId}\r\n\r\nhello\r\n`;
      sending = clientId;
      const body = await phone.exchange(async () => {
        const reply = await client.command(
          "SendMail",
          el(CM, "SendMail", textEl(CM, "ClientId", clientId), {
            ns: CM,
            name: "Mime",
            opaque: new TextEncoder().encode(mime),
          }),
        );
        // 111: the same message is being submitted (a claim left by the killed process); retry later.
        if (childText(reply.body, "Status") === "111") return { status: 503 };
        return reply;
      });
      sending = undefined;
      const status = childText(body, "Status");
      if (status === undefined || status === "118") sent.push(clientId);
      else unexpected++;
      // MoveItems of one Inbox item to Archive; a retry may find it already moved (Status 1).
      const item = [...phone.model.keys()][0];
      if (item) {
        const moved = await phone.exchange(() =>
          client.command(
            "MoveItems",
            el(
              "Move",
              "MoveItems",
              el(
                "Move",
                "Move",
                textEl("Move", "SrcMsgId", item),
                textEl("Move", "SrcFldId", inbox),
                textEl("Move", "DstFldId", archive),
              ),
            ),
          )
        );
        const moveStatus = childText(child(moved, "Response"), "Status");
        if (moveStatus !== "3" && moveStatus !== "1") unexpected++;
        phone.model.delete(item);
      }
      // FolderSync with the current key: a kill must not make it ask for a full resync (Status 9).
      const fs = await phone.exchange(() =>
        client.command("FolderSync", el(FH, "FolderSync", textEl(FH, "SyncKey", folderKey)))
      );
      if (childText(fs, "Status") === "1") folderKey = childText(fs, "SyncKey") ?? folderKey;
      else unexpected++;
      if (killing) {
        await killing;
        killing = undefined;
      }
    }
    await phone.sync();

    // Every sent ClientId arrives exactly once in Bob's INBOX (Postfix delivers asynchronously).
    let counts = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const transcript = await imapCommand(mailstore, bob!.name, [
        "EXAMINE INBOX",
        "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
      ]);
      counts = new Map();
      for (const m of transcript.matchAll(/Subject: (send\d+)/g)) {
        counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
      }
      if (sent.every((id) => counts.has(id))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    let lost = sent.filter((id) => !counts.has(id)).length;
    const sentTwice = [...counts.entries()].filter(([, n]) => n > 1).map(([id]) => id);
    // A kill between the SMTP server's acceptance and the dedup record: the one known at-least-once window.
    const inWindow = sentTwice.filter((id) => killedWhileSending.has(id));
    let duplicated = [...counts.values()].filter((n) => n > 1).reduce((n, c) => n + c - 1, 0);
    const doubled: string[] = [];
    // Each delivered message is in exactly one of INBOX and Archive.
    const inboxTruth = await imapTruth(mailstore, alice!.name);
    const archived = await imapCommand(mailstore, alice!.name, [
      "EXAMINE Archive",
      "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    ]);
    const archivedSubjects = [...archived.matchAll(/Subject: (c\d+)/g)].map((m) => m[1]!);
    duplicated += inboxTruth.duplicates + archivedSubjects.length - new Set(archivedSubjects).size;
    for (let i = 0; i < delivered; i++) {
      const here = (inboxTruth.items.has(`c${i}`) ? 1 : 0) +
        archivedSubjects.filter((s) => s === `c${i}`).length;
      if (here === 0) lost++;
      if (here > 1) {
        duplicated++;
        doubled.push(`c${i}`);
      }
    }
    // The phone's Inbox model matches the IMAP Inbox.
    for (const subject of inboxTruth.items.keys()) {
      if (![...phone.model.values()].some((item) => item.subject === subject)) lost++;
    }
    duplicated += phone.duplicatedAdds;
    client.close();
    return {
      scenario: "SIGKILL during Sync/SendMail/MoveItems/FolderSync",
      duplicatesInSendWindow: inWindow.length,
      cycles: kills,
      lost,
      duplicated,
      errors: integrityFailures + phone.resyncs + unexpected,
      recoveryMs: Math.round(Math.max(0, ...recovery)),
      notes: `${kills} kills over ${cycle} cycles; integrity_check failures ${integrityFailures}; ` +
        (sentTwice.length
          ? `sent twice: ${sentTwice.join(", ")} (${inWindow.length} killed mid-submission); `
          : "") +
        (doubled.length ? `in INBOX and Archive: ${doubled.join(", ")}; ` : "") +
        (phone.duplicatedAdds ? `duplicate Adds on the phone: ${phone.duplicatedAdds}; ` : "") +
        `full resyncs ${phone.resyncs}; unexpected statuses ${unexpected}; ${sent.length} mails sent; ` +
        `${phone.errors} requests retried; ${Math.round((performance.now() - started) / 1000)} s`,
    };
  } finally {
    await box.stop();
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}
