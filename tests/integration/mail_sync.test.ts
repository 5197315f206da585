import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient, EasReply } from "../../tools/eas_client/client.ts";
import { imapCommand, messageCount } from "../harness/imap_peek.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { startBox } from "./fixture.ts";
import { estimateRequest } from "../../tools/eas_client/requests.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";

const AS = "AirSync";
const ASB = "AirSyncBase";
const IO = "ItemOperations";

const PDF = new Uint8Array(3000).map((_, i) => (i * 7 + 3) % 256);
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/(.{76})/g, "$1\r\n");
const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n");

/** Varied MIME: alternative with Latin-1, attachment, inline image, a big message, an invitation. */
function messages(): string[] {
  const big = "Lorem ipsum dolor sit amet. ".repeat(40_000);
  return [
    crlf(`From: =?ISO-8859-1?Q?J=F6rg?= <jorg@example.org>
To: alice@example.test
Subject: Latin-1 alternative
Date: Fri, 20 Nov 2026 10:00:00 +0000
Message-ID: <m1@example.org>
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus K=F6ln
--b1
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<p>Gr=FC=DFe aus K=F6ln</p>
--b1--
`),
    crlf(`From: bob@example.test
To: alice@example.test
Subject: Report attached
Date: Fri, 20 Nov 2026 11:00:00 +0000
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: text/plain; charset=utf-8

See attachment.
--m
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

${b64(PDF)}
--m--
`),
    crlf(`From: carol@example.test
To: alice@example.test
Subject: Inline logo
Date: Fri, 20 Nov 2026 12:00:00 +0000
Content-Type: multipart/related; boundary="r"

--r
Content-Type: text/html; charset=utf-8

<p>Logo: <img src="cid:logo@x"></p>
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Disposition: inline
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUg==
--r--
`),
    crlf(`From: bob@example.test
To: alice@example.test
Subject: Big message
Date: Fri, 20 Nov 2026 13:00:00 +0000
Content-Type: text/plain; charset=utf-8

${big}
`),
    crlf(`From: bob@example.test
To: alice@example.test
Subject: Invitation
Date: Fri, 20 Nov 2026 14:00:00 +0000
Content-Type: multipart/alternative; boundary="c"

--c
Content-Type: text/plain; charset=utf-8

Join the meeting
--c
Content-Type: text/calendar; method=REQUEST; charset=utf-8

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
UID:ev1@example.test
DTSTART:20261125T100000Z
DTEND:20261125T110000Z
SUMMARY:Planning
END:VEVENT
END:VCALENDAR
--c--
`),
  ];
}

const bodyOptions = (type: number, size?: number) =>
  el(
    AS,
    "Options",
    textEl(AS, "FilterType", 0),
    el(
      ASB,
      "BodyPreference",
      textEl(ASB, "Type", type),
      size !== undefined ? textEl(ASB, "TruncationSize", size) : undefined,
      textEl(ASB, "Preview", 100),
    ),
  );

interface CollectionReply {
  status: number;
  syncKey: string;
  more: boolean;
  commands: WbxmlElement[];
  responses: WbxmlElement[];
}

function collectionOf(body: WbxmlElement | undefined): CollectionReply {
  const c = child(child(body, "Collections", AS), "Collection", AS);
  assert.ok(c, "the response has a collection");
  return {
    status: Number(childText(c, "Status", AS)),
    syncKey: childText(c, "SyncKey", AS)!,
    more: child(c, "MoreAvailable", AS) !== undefined,
    commands: child(c, "Commands", AS)?.children ?? [],
    responses: child(c, "Responses", AS)?.children ?? [],
  };
}

/** The reply is valid per the MS-AS XSDs. */
async function assertValid(reply: EasReply): Promise<void> {
  const check = await validateWithXsd(reply.raw);
  assert.ok(check.valid, check.messages);
}

async function syncOnce(client: EasClient, collectionId: string, key: string, extra: WbxmlElement[] = []) {
  const reply = await client.command("Sync", syncRequest(collectionId, key, extra));
  assert.equal(reply.status, 200, new TextDecoder().decode(reply.raw));
  await assertValid(reply);
  return collectionOf(reply.body);
}

/** FolderSync from 0: the folders the server lists (Add elements). */
async function folderAdds(client: EasClient): Promise<WbxmlElement[]> {
  const reply = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  return childrenNamed(child(reply.body, "Changes"), "Add");
}

/** The ServerId of the Projects folder the tests create over IMAP. */
const projectsId = async (client: EasClient) =>
  childText((await folderAdds(client)).find((a) => childText(a, "DisplayName") === "Projects"), "ServerId")!;

/** An ItemOperations Fetch (MS-ASCMD 2.2.1.10) from the mailbox store of what `what` names. */
const mailboxFetch = (...what: (WbxmlElement | undefined)[]) =>
  el(IO, "ItemOperations", el(IO, "Fetch", textEl(IO, "Store", "Mailbox"), ...what));

const subjectOf = (add: WbxmlElement) => childText(child(add, "ApplicationData", AS), "Subject", "Email");

Deno.test("mail sync over real Dovecot: windows, replay of a lost response, changes both ways, drafts, fetch", async (t) => {
  const box = await startBox();
  try {
    const alice = box.mailstore.users[0]!;
    for (const message of messages()) await box.mailstore.deliver(alice.name, message);
    const client = box.client();
    const adds = await folderAdds(client);
    const idOfType = (type: number) =>
      childText(adds.find((a) => childText(a, "Type") === String(type)), "ServerId")!;
    const inbox = idOfType(2);
    const drafts = idOfType(3);

    let key = "";
    const serverIds = new Map<string, string>();
    await t.step("initial sync comes in windows with MoreAvailable, newest first", async () => {
      const first = await syncOnce(client, inbox, "0");
      assert.equal(first.status, 1);
      assert.equal(first.commands.length, 0);
      key = first.syncKey;
      const subjects: string[] = [];
      const bodies = new Map<string, WbxmlElement>();
      for (let round = 0; round < 5; round++) {
        const r = await syncOnce(client, inbox, key, [textEl(AS, "WindowSize", 2), bodyOptions(2, 2048)]);
        for (const add of r.commands) {
          subjects.push(subjectOf(add)!);
          bodies.set(subjectOf(add)!, child(child(add, "ApplicationData", AS), "Body", ASB)!);
          serverIds.set(subjectOf(add)!, childText(add, "ServerId", AS)!);
        }
        key = r.syncKey;
        if (!r.more) break;
        assert.equal(r.commands.length, 2);
      }
      assert.deepEqual(subjects, [
        "Invitation",
        "Big message",
        "Inline logo",
        "Report attached",
        "Latin-1 alternative",
      ]);
      assert.equal(new Set(serverIds.values()).size, 5);
      const big = bodies.get("Big message")!;
      assert.equal(childText(big, "Truncated", ASB), "1");
      assert.equal(childText(big, "Data", ASB)!.length, 2048);
      assert.ok(Number(childText(big, "EstimatedDataSize", ASB)) > 1_000_000);
    });

    await t.step(
      "a resent SyncKey gets the same response: same ServerIds, no duplicate, no loss",
      async () => {
        await box.mailstore.deliver(alice.name, crlf("From: bob@example.test\nSubject: Lost one\n\nhello\n"));
        const lost = await syncOnce(client, inbox, key, [bodyOptions(1, 100)]);
        assert.deepEqual(lost.commands.map(subjectOf), ["Lost one"]);
        const again = await syncOnce(client, inbox, key, [bodyOptions(1, 100)]);
        assert.equal(again.syncKey, lost.syncKey);
        assert.deepEqual(
          again.commands.map((c) => childText(c, "ServerId", AS)),
          lost.commands.map((c) => childText(c, "ServerId", AS)),
        );
        const after = await syncOnce(client, inbox, again.syncKey);
        assert.equal(after.commands.length, 0);
        key = after.syncKey;
        serverIds.set("Lost one", childText(lost.commands[0]!, "ServerId", AS)!);
      },
    );

    await t.step("content: charsets decoded, attachments and meeting class", async () => {
      const fetchBody = async (subject: string, type: number) => {
        const reply = await client.command(
          "ItemOperations",
          mailboxFetch(
            textEl(AS, "CollectionId", inbox),
            textEl(AS, "ServerId", serverIds.get(subject)!),
            el(
              IO,
              "Options",
              textEl(AS, "MIMESupport", 2),
              el(ASB, "BodyPreference", textEl(ASB, "Type", type)),
            ),
          ),
        );
        assert.equal(reply.status, 200);
        await assertValid(reply);
        return child(child(child(reply.body, "Response"), "Fetch"), "Properties")!;
      };
      const latin = await fetchBody("Latin-1 alternative", 2);
      assert.equal(childText(child(latin, "Body", ASB), "Data", ASB), "<p>Grüße aus Köln</p>");
      assert.equal(childText(latin, "From", "Email"), '"Jörg" <jorg@example.org>');
      const invite = await fetchBody("Invitation", 1);
      assert.equal(childText(invite, "MessageClass", "Email"), "IPM.Schedule.Meeting.Request");
      const mime = await fetchBody("Report attached", 4);
      assert.match(childText(child(mime, "Body", ASB), "Data", ASB)!, /Subject: Report attached/);
      const attachment = child(child(mime, "Attachments", ASB), "Attachment", ASB)!;
      assert.equal(childText(attachment, "DisplayName", ASB), "report.pdf");
      const reference = childText(attachment, "FileReference", ASB)!;

      const fetchRef = (headers: Record<string, string> = {}, range?: string) =>
        client.command(
          "ItemOperations",
          mailboxFetch(
            textEl(ASB, "FileReference", reference),
            range ? el(IO, "Options", textEl(IO, "Range", range)) : undefined,
          ),
          {},
          headers,
        );
      const inline = await fetchRef();
      const props = child(child(child(inline.body, "Response"), "Fetch"), "Properties")!;
      const data = Uint8Array.from(atob(childText(props, "Data", "ItemOperations")!), (c) => c.charCodeAt(0));
      assert.deepEqual(data, PDF);
      const part = await fetchRef({ "MS-ASAcceptMultiPart": "T" }, "10-19");
      assert.equal(part.headers.get("Content-Type"), "application/vnd.ms-sync.multipart");
      const view = new DataView(part.raw.buffer, part.raw.byteOffset);
      assert.equal(view.getInt32(0, true), 2);
      const offset = view.getInt32(12, true);
      const length = view.getInt32(16, true);
      assert.deepEqual(part.raw.slice(offset, offset + length), PDF.slice(10, 20));
    });

    await t.step("GetAttachment (12.1) streams the attachment named by its FileReference", async () => {
      const old = box.client(alice.name, { protocolVersion: "12.1" });
      const reply = await old.send("GetAttachment", undefined, {
        AttachmentName: `${serverIds.get("Report attached")}:2`,
      });
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get("Content-Type") ?? "", /^application\/pdf/);
      assert.deepEqual(reply.raw, PDF);
      const missing = await old.send("GetAttachment", undefined, { AttachmentName: `${inbox}:999999:2` });
      assert.equal(missing.status, 500);
    });

    await t.step("flag, read and delete done by another IMAP session reach the phone", async () => {
      const uid = (subject: string) => serverIds.get(subject)!.split(":")[1];
      await imapCommand(box.mailstore, alice.name, [
        "SELECT INBOX",
        `UID STORE ${uid("Inline logo")} +FLAGS (\\Seen)`,
        `UID STORE ${uid("Big message")} +FLAGS (\\Flagged)`,
        `UID STORE ${uid("Lost one")} +FLAGS (\\Deleted)`,
        "EXPUNGE",
      ]);
      const r = await syncOnce(client, inbox, key);
      const seen = r.commands.map((c) => `${c.name}:${childText(c, "ServerId", AS)}`).sort();
      assert.deepEqual(
        seen,
        [
          `Change:${serverIds.get("Big message")}`,
          `Change:${serverIds.get("Inline logo")}`,
          `Delete:${serverIds.get("Lost one")}`,
        ].sort(),
      );
      const flagged = r.commands.find((c) => childText(c, "ServerId", AS) === serverIds.get("Big message"))!;
      assert.equal(
        childText(child(child(flagged, "ApplicationData", AS), "Flag", "Email"), "Status", "Email"),
        "2",
      );
      key = r.syncKey;
    });

    await t.step("read, flag and delete from the phone reach IMAP", async () => {
      const change = (subject: string, ...data: WbxmlElement[]) =>
        el(AS, "Change", textEl(AS, "ServerId", serverIds.get(subject)!), el(AS, "ApplicationData", ...data));
      const trashBefore = await messageCount(box.mailstore, alice.name, "Trash");
      const r = await syncOnce(client, inbox, key, [
        textEl(AS, "DeletesAsMoves", 1),
        el(
          AS,
          "Commands",
          change(
            "Latin-1 alternative",
            textEl("Email", "Read", 1),
            el("Email", "Categories", textEl("Email", "Category", "Red category")),
          ),
          change(
            "Report attached",
            el(
              "Email",
              "Flag",
              textEl("Email", "Status", 2),
              textEl("Email", "FlagType", "Flag for follow up"),
            ),
          ),
          el(AS, "Delete", textEl(AS, "ServerId", serverIds.get("Invitation")!)),
        ),
      ]);
      assert.equal(r.status, 1);
      assert.deepEqual(r.responses, []);
      const transcript = await imapCommand(box.mailstore, alice.name, [
        "SELECT INBOX",
        "UID FETCH 1:* (FLAGS)",
      ]);
      const flagsOf = (subject: string) =>
        new RegExp(
          `UID ${serverIds.get(subject)!.split(":")[1]} FLAGS \\(([^)]*)\\)|FLAGS \\(([^)]*)\\) UID ${
            serverIds.get(subject)!.split(":")[1]
          }\\b`,
        )
          .exec(transcript)?.slice(1).join("") ?? "";
      assert.match(flagsOf("Latin-1 alternative"), /\\Seen/);
      assert.match(flagsOf("Latin-1 alternative"), /Red&20category/);
      assert.match(flagsOf("Report attached"), /\\Flagged/);
      assert.equal(await messageCount(box.mailstore, alice.name, "INBOX"), 4);
      assert.equal(await messageCount(box.mailstore, alice.name, "Trash"), trashBefore + 1);
      const quiet = await syncOnce(client, inbox, r.syncKey);
      assert.equal(quiet.commands.length, 0, "the phone's own changes do not come back");
      key = quiet.syncKey;
    });

    await t.step(
      "a draft Add retried with the same ClientId creates one draft with one ServerId",
      async () => {
        const start = await syncOnce(client, drafts, "0");
        const add = el(
          AS,
          "Commands",
          el(
            AS,
            "Add",
            textEl(AS, "ClientId", "draft-1"),
            el(
              AS,
              "ApplicationData",
              textEl("Email", "To", "bob@example.test"),
              textEl("Email", "Subject", "My draft"),
              el(ASB, "Body", textEl(ASB, "Type", 1), textEl(ASB, "Data", "Draft text")),
            ),
          ),
        );
        const first = await syncOnce(client, drafts, start.syncKey, [add]);
        const again = await syncOnce(client, drafts, start.syncKey, [add]);
        const idOf = (r: CollectionReply) => childText(r.responses[0], "ServerId", AS);
        assert.equal(childText(first.responses[0], "Status", AS), "1");
        assert.ok(idOf(first));
        assert.equal(idOf(again), idOf(first));
        assert.equal(await messageCount(box.mailstore, alice.name, "Drafts"), 1);
      },
    );

    await t.step("EmptyFolderContents moves the folder's messages to Trash", async () => {
      const trashBefore = await messageCount(box.mailstore, alice.name, "Trash");
      const reply = await client.command(
        "ItemOperations",
        el(
          "ItemOperations",
          "ItemOperations",
          el("ItemOperations", "EmptyFolderContents", textEl(AS, "CollectionId", drafts)),
        ),
      );
      await assertValid(reply);
      assert.equal(childText(child(child(reply.body, "Response"), "EmptyFolderContents"), "Status"), "1");
      assert.equal(await messageCount(box.mailstore, alice.name, "Drafts"), 0);
      assert.equal(await messageCount(box.mailstore, alice.name, "Trash"), trashBefore + 1);
    });

    await t.step("GetItemEstimate counts what the next Sync brings", async () => {
      await box.mailstore.deliver(alice.name, crlf("From: bob@example.test\nSubject: Estimate me\n\nx\n"));
      const reply = await client.command(
        "GetItemEstimate",
        estimateRequest(inbox, key, [textEl(AS, "FilterType", 0)]),
      );
      await assertValid(reply);
      const response = child(reply.body, "Response");
      assert.equal(childText(response, "Status"), "1");
      assert.equal(childText(child(response, "Collection"), "Estimate"), "1");
    });

    await t.step("a folder recreated with a new UIDVALIDITY gets Status 3, then a clean resync", async () => {
      const append = (subject: string) =>
        `APPEND Projects {${crlf(`Subject: ${subject}\n\nx\n`).length}+}\r\n${
          crlf(`Subject: ${subject}\n\nx\n`)
        }`;
      await imapCommand(box.mailstore, alice.name, ["CREATE Projects", append("Before")]);
      const projects = await projectsId(client);
      let pk = (await syncOnce(client, projects, "0")).syncKey;
      const before = await syncOnce(client, projects, pk);
      assert.deepEqual(before.commands.map(subjectOf), ["Before"]);
      pk = before.syncKey;
      await imapCommand(box.mailstore, alice.name, ["DELETE Projects", "CREATE Projects", append("After")]);
      const stale = await syncOnce(client, projects, pk);
      assert.equal(stale.status, 3);
      const fresh = await syncOnce(client, projects, (await syncOnce(client, projects, "0")).syncKey);
      assert.deepEqual(fresh.commands.map(subjectOf), ["After"]);
    });

    await t.step("ItemOperations Move moves a conversation to another folder", async () => {
      const projects = await projectsId(client);
      const fetched = await client.command(
        "ItemOperations",
        mailboxFetch(
          textEl(AS, "CollectionId", inbox),
          textEl(AS, "ServerId", serverIds.get("Report attached")!),
        ),
      );
      const properties = child(child(child(fetched.body, "Response"), "Fetch"), "Properties");
      const conversation = child(properties, "ConversationId", "Email2")!.opaque!;
      const inboxBefore = await messageCount(box.mailstore, alice.name, "INBOX");
      const projectsBefore = await messageCount(box.mailstore, alice.name, "Projects");
      const reply = await client.command(
        "ItemOperations",
        el(
          "ItemOperations",
          "ItemOperations",
          el(
            "ItemOperations",
            "Move",
            { ns: "ItemOperations", name: "ConversationId", opaque: conversation },
            textEl("ItemOperations", "DstFldId", projects),
          ),
        ),
      );
      await assertValid(reply);
      assert.equal(childText(child(child(reply.body, "Response"), "Move"), "Status"), "1");
      assert.equal(await messageCount(box.mailstore, alice.name, "INBOX"), inboxBefore - 1);
      assert.equal(await messageCount(box.mailstore, alice.name, "Projects"), projectsBefore + 1);
    });

    await t.step("a 2.5 device gets Email:Body cut by its Truncation code", async () => {
      const old = box.client(alice.name, { protocolVersion: "2.5" });
      await folderAdds(old);
      const options = el(AS, "Options", textEl(AS, "FilterType", 0), textEl(AS, "Truncation", 1));
      const first = await syncOnce(old, inbox, "0", [textEl(AS, "Class", "Email")]);
      const r = await syncOnce(old, inbox, first.syncKey, [
        textEl(AS, "Class", "Email"),
        textEl(AS, "WindowSize", 50),
        options,
      ]);
      const big = r.commands.find((c) => subjectOf(c) === "Big message")!;
      const data = child(big, "ApplicationData", AS)!;
      assert.equal(childText(data, "Body", "Email")!.length, 4096);
      assert.equal(childText(data, "BodyTruncated", "Email"), "1");
      assert.equal(child(data, "Body", ASB), undefined);
    });
  } finally {
    await box.stop();
  }
});
