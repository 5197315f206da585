/**
 * Authorization: a user reaches only their own mailbox, devices and state.
 * Bob, with a real EAS client over TLS against real Dovecot, tries to read,
 * move, delete, fetch and forward Alice's mail through every kind of id the
 * protocol carries (ServerId, CollectionId, FileReference, LongId, query
 * parameters, DeviceId, Autodiscover address) plus ids crafted to look like
 * backend keys or paths. Every attempt must be refused, nothing of Alice's may
 * appear in any answer, and neither mailbox may change.
 */
import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { EasClient, EasReply } from "../../tools/eas_client/client.ts";
import { imapCommand } from "../harness/imap_peek.ts";
import type { Mailstore } from "../harness/mod.ts";
import { startBox } from "../integration/fixture.ts";
import { syncFolders } from "../integration/send_fixture.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";
import { estimateRequest, pingRequest } from "../../tools/eas_client/requests.ts";

const AS = "AirSync";
const IO = "ItemOperations";
const CM = "ComposeMail";
const MARKER = "ALICE-PRIVATE-7f3a9c";

/** A message of Alice's with the marker in subject, body and a text attachment. */
const ALICE_MAIL = [
  "From: carol@example.test",
  "To: alice@example.test",
  `Subject: ${MARKER} subject`,
  "Message-ID: <private@example.test>",
  'Content-Type: multipart/mixed; boundary="b"',
  "",
  "--b",
  "Content-Type: text/plain; charset=utf-8",
  "",
  `${MARKER} body`,
  "--b",
  'Content-Type: text/plain; name="secret.txt"',
  'Content-Disposition: attachment; filename="secret.txt"',
  "",
  `${MARKER} attachment ${MARKER}`,
  "--b--",
  "",
].join("\r\n");

/** Whether bytes carry the marker as text or inside base64 at any alignment. */
function leaks(raw: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(raw);
  if (text.includes(MARKER)) return true;
  return [0, 1, 2].some((shift) => {
    const encoded = btoa("xx".slice(0, shift) + MARKER);
    return text.includes(encoded.slice(4, -4));
  });
}

/** A snapshot of a user's whole mailbox (folders, UIDs, flags) from an independent IMAP session. */
async function snapshot(store: Mailstore, user: string, mailboxes: string[]): Promise<string> {
  const commands = ['LIST "" "*"'];
  for (const mailbox of mailboxes) commands.push(`EXAMINE "${mailbox}"`, "UID FETCH 1:* (UID FLAGS)");
  const transcript = await imapCommand(store, user, commands);
  // Keep only the data lines; tags and timing text are not state.
  return transcript.split("\r\n").filter((l) => l.startsWith("* LIST") || /^\* \d+ FETCH/.test(l)).sort()
    .join("\n");
}

/** Initial Sync of a collection and one round that returns its items: the key and the ServerIds. */
async function syncAll(client: EasClient, collectionId: string): Promise<{ key: string; ids: string[] }> {
  const first = await client.command("Sync", syncRequest(collectionId, "0"));
  let key = childText(child(child(first.body, "Collections"), "Collection"), "SyncKey")!;
  const ids: string[] = [];
  for (let round = 0; round < 5; round++) {
    const reply = await client.command(
      "Sync",
      syncRequest(collectionId, key, [el(AS, "GetChanges"), textEl(AS, "WindowSize", 100)]),
    );
    const collection = child(child(reply.body, "Collections"), "Collection");
    key = childText(collection, "SyncKey") ?? key;
    for (const add of childrenNamed(child(collection, "Commands"), "Add")) {
      ids.push(childText(add, "ServerId")!);
    }
    if (!child(collection, "MoreAvailable")) break;
  }
  return { key, ids };
}

/** All Status values anywhere in a decoded answer. */
function statuses(node: WbxmlElement | undefined): string[] {
  if (!node) return [];
  const own = node.name === "Status" && node.text !== undefined ? [String(node.text)] : [];
  return [...own, ...(node.children ?? []).flatMap(statuses)];
}

Deno.test("another user's items, folders, attachments and device state are unreachable through every id the protocol carries", async () => {
  const box = await startBox({ postfix: true });
  try {
    const [alice, bob] = box.mailstore.users;
    // Alice has more folders than Bob, so some of her folder ids name nothing of Bob's.
    const secrets = ["S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8"];
    await box.mailstore.deliver(alice!.name, ALICE_MAIL);
    await imapCommand(box.mailstore, alice!.name, [
      ...secrets.map((name) => `CREATE "${name}"`),
      "SELECT INBOX",
      ...secrets.map((name) => `UID COPY 1:* "${name}"`),
    ]);

    const bobClient = box.client(bob!.name);
    const bobFolders = await syncFolders(bobClient);
    const bobInbox = bobFolders.ids.get("Inbox") ?? bobFolders.ids.get("INBOX")!;
    const bobTrash = bobFolders.ids.get("Trash")!;
    const bobIds = new Set(bobFolders.ids.values());

    const aliceClient = box.client(alice!.name);
    const aliceFolders = await syncFolders(aliceClient);
    const aliceInbox = aliceFolders.ids.get("Inbox") ?? aliceFolders.ids.get("INBOX")!;
    const secretName = secrets.find((name) => !bobIds.has(aliceFolders.ids.get(name)!))!;
    assert.ok(secretName, "one of Alice's folder ids is not one of Bob's");
    const aliceSecret = aliceFolders.ids.get(secretName)!;
    const aliceInboxSync = await syncAll(aliceClient, aliceInbox);
    const aliceSecretSync = await syncAll(aliceClient, aliceSecret);
    const aliceItem = aliceInboxSync.ids[0]!;
    const secretItem = aliceSecretSync.ids[0]!;
    assert.ok(aliceItem && secretItem, "alice sees her own items");
    // Controls: the same requests by Alice herself succeed and carry the marker, so refusals below mean something.
    const ownFetch = await aliceClient.command("ItemOperations", fetchItem(secretItem));
    assert.ok(
      statuses(ownFetch.body).slice(1).includes("1") && leaks(ownFetch.raw),
      "Alice fetches her item",
    );
    const ownAttachment = await aliceClient.command("ItemOperations", fetchReference(`${secretItem}:2`));
    assert.ok(leaks(ownAttachment.raw), "Alice fetches her attachment by FileReference");
    const aliceMailboxes = ["INBOX", ...secrets, "Trash", "Sent", "Drafts"];
    const aliceBefore = await snapshot(box.mailstore, alice!.name, aliceMailboxes);

    const bobSync = await syncAll(bobClient, bobInbox);
    assert.deepEqual(bobSync.ids, []);
    const bobMailboxes = ["INBOX", "Trash", "Sent", "Drafts"];
    const bobBefore = await snapshot(box.mailstore, bob!.name, bobMailboxes);

    const secretUid = secretItem.split(":")[1]!;
    // Ids pointing at Alice's folder, and ids crafted to look like backend keys, paths or SQL.
    const foreignFolders = [
      aliceSecret,
      "imap:Secret",
      "imap:INBOX",
      "../alice/INBOX",
      "1 OR 1=1",
      "%",
      "*",
      "",
    ];
    const foreignItems = [
      secretItem,
      `imap:${secretName}:${secretUid}`,
      `${aliceSecret}:${secretUid}`,
      `${bobInbox}:${secretUid}:x`,
      `../alice:${secretUid}`,
    ];
    const foreignRefs = [
      `${secretItem}:2`,
      `${aliceSecret}:${secretUid}:1`,
      `imap:${secretName}:${secretUid}:2`,
      `${secretItem}:2/../2`,
    ];
    const attempts: { what: string; reply: EasReply; refused: boolean }[] = [];
    const record = (what: string, reply: EasReply, refused: boolean) =>
      attempts.push({ what, reply, refused });

    for (const folder of foreignFolders) {
      const sync = await bobClient.command("Sync", syncRequest(folder, "0"));
      const status = childText(child(child(sync.body, "Collections"), "Collection"), "Status") ??
        childText(sync.body, "Status");
      record(`Sync of CollectionId '${folder}'`, sync, sync.status !== 200 || status !== "1");

      const estimate = await bobClient.command(
        "GetItemEstimate",
        estimateRequest(folder, "1"),
      );
      record(`GetItemEstimate of '${folder}'`, estimate, !statuses(estimate.body).includes("1"));

      const empty = await bobClient.command(
        "ItemOperations",
        el(IO, "ItemOperations", el(IO, "EmptyFolderContents", textEl(AS, "CollectionId", folder))),
      );
      record(`EmptyFolderContents of '${folder}'`, empty, !statuses(empty.body).slice(1).includes("1"));

      for (
        const [command, tree] of [
          [
            "FolderDelete",
            el(
              "FolderHierarchy",
              "FolderDelete",
              textEl("FolderHierarchy", "SyncKey", bobFolders.key),
              textEl("FolderHierarchy", "ServerId", folder),
            ),
          ],
          [
            "FolderUpdate",
            el(
              "FolderHierarchy",
              "FolderUpdate",
              textEl("FolderHierarchy", "SyncKey", bobFolders.key),
              textEl("FolderHierarchy", "ServerId", folder),
              textEl("FolderHierarchy", "ParentId", "0"),
              textEl("FolderHierarchy", "DisplayName", "Stolen"),
            ),
          ],
        ] as const
      ) {
        const reply = await bobClient.command(command, tree);
        record(
          `${command} of '${folder}'`,
          reply,
          reply.status !== 200 || childText(reply.body, "Status") !== "1",
        );
      }
    }

    for (const item of foreignItems) {
      const fetch = await bobClient.command("ItemOperations", fetchItem(item));
      record(
        `ItemOperations Fetch of ServerId '${item}'`,
        fetch,
        !statuses(fetch.body).slice(1).includes("1"),
      );

      const longId = await bobClient.command(
        "ItemOperations",
        el(
          IO,
          "ItemOperations",
          el(IO, "Fetch", textEl(IO, "Store", "Mailbox"), textEl("Search", "LongId", item)),
        ),
      );
      record(
        `ItemOperations Fetch of LongId '${item}'`,
        longId,
        !statuses(longId.body).slice(1).includes("1"),
      );

      for (const [src, dst] of [[item, bobInbox], [item, aliceSecret], [item, bobTrash]]) {
        const move = await bobClient.command(
          "MoveItems",
          el(
            "Move",
            "MoveItems",
            el(
              "Move",
              "Move",
              textEl("Move", "SrcMsgId", src!),
              textEl("Move", "SrcFldId", src!.split(":")[0]!),
              textEl("Move", "DstFldId", dst!),
            ),
          ),
        );
        record(`MoveItems of '${src}' to '${dst}'`, move, !statuses(move.body).includes("3"));
      }

      // Delete and Change of a foreign ServerId inside Bob's own, valid collection.
      const del = await bobClient.command(
        "Sync",
        syncRequest(
          bobInbox,
          bobSync.key,
          [
            textEl(AS, "DeletesAsMoves", 0),
            el(AS, "Commands", el(AS, "Delete", textEl(AS, "ServerId", item))),
          ],
        ),
      );
      const delResponse = child(
        child(child(child(del.body, "Collections"), "Collection"), "Responses"),
        "Delete",
      );
      record(
        `Sync Delete of '${item}' in Bob's Inbox`,
        del,
        delResponse === undefined || childText(delResponse, "Status") !== "1",
      );
      const change = await bobClient.command(
        "Sync",
        syncRequest(
          bobInbox,
          bobSync.key,
          [
            el(
              AS,
              "Commands",
              el(
                AS,
                "Change",
                textEl(AS, "ServerId", item),
                el(AS, "ApplicationData", textEl("Email", "Read", 1)),
              ),
            ),
          ],
        ),
      );
      const changeResponse = child(
        child(child(child(change.body, "Collections"), "Collection"), "Responses"),
        "Change",
      );
      record(
        `Sync Change of '${item}' in Bob's Inbox`,
        change,
        changeResponse === undefined || childText(changeResponse, "Status") !== "1",
      );

      for (const command of ["SmartForward", "SmartReply"] as const) {
        const forward = await bobClient.command(
          command,
          el(
            CM,
            command,
            textEl(CM, "ClientId", `steal-${command}-${attempts.length}`),
            el(CM, "Source", textEl(CM, "FolderId", item.split(":")[0]!), textEl(CM, "ItemId", item)),
            opaqueMime(`To: ${bob!.email}\r\nSubject: fwd\r\n\r\nsee below\r\n`),
          ),
        );
        record(
          `${command} of '${item}'`,
          forward,
          forward.status !== 200 || statuses(forward.body).length > 0,
        );
        const byLongId = await bobClient.command(
          command,
          el(
            CM,
            command,
            textEl(CM, "ClientId", `steal-long-${command}-${attempts.length}`),
            el(CM, "Source", textEl(CM, "LongId", item)),
            opaqueMime(`To: ${bob!.email}\r\nSubject: fwd\r\n\r\nsee below\r\n`),
          ),
        );
        record(
          `${command} of LongId '${item}'`,
          byLongId,
          byLongId.status !== 200 || statuses(byLongId.body).length > 0,
        );
      }
    }

    // 12.1: query-string parameters (ItemId, CollectionId, LongId, AttachmentName) and GetAttachment.
    const bobOld = box.client(bob!.name, { protocolVersion: "12.1", deviceId: "bobold" });
    const bobOldFolders = await syncFolders(bobOld);
    assert.equal(bobOldFolders.ids.get("Inbox") ?? bobOldFolders.ids.get("INBOX"), bobInbox);
    for (const item of foreignItems) {
      for (const params of [{ ItemId: item, CollectionId: item.split(":")[0]! }, { LongId: item }]) {
        const forward = await bobOld.send(
          "SmartForward",
          new TextEncoder().encode(`To: ${bob!.email}\r\nSubject: fwd\r\n\r\nsee below\r\n`),
          { ...params, SaveInSent: "F" },
          { "Content-Type": "message/rfc822" },
        );
        record(`12.1 SmartForward with ${JSON.stringify(params)}`, forward, forward.status !== 200);
      }
    }
    for (const ref of foreignRefs) {
      const attachment = await bobOld.send("GetAttachment", undefined, { AttachmentName: ref });
      record(`GetAttachment of '${ref}'`, attachment, attachment.status !== 200);
      const fetch = await bobClient.command("ItemOperations", fetchReference(ref));
      record(
        `ItemOperations Fetch of FileReference '${ref}'`,
        fetch,
        !statuses(fetch.body).slice(1).includes("1"),
      );
    }

    // Ping on Alice's folder id: refused or answered about Bob's folders only, never held for Alice's.
    const ping = await bobClient.command("Ping", pingRequest(60, [aliceSecret]), {});
    record(`Ping of '${aliceSecret}'`, ping, ping.status !== 200 || childText(ping.body, "Status") !== "2");

    // The same DeviceId as Alice's phone, with Alice's SyncKeys: Bob gets no state of hers.
    const twin = box.client(bob!.name, { deviceId: aliceClient.options.deviceId });
    await syncFolders(twin);
    for (const [collection, key] of [[aliceInbox, aliceInboxSync.key], [aliceSecret, aliceSecretSync.key]]) {
      const reply = await twin.command(
        "Sync",
        syncRequest(collection!, key!, [el(AS, "GetChanges"), textEl(AS, "WindowSize", 100)]),
      );
      const status = childText(child(child(reply.body, "Collections"), "Collection"), "Status");
      record(`Sync with Alice's DeviceId and SyncKey '${key}' of '${collection}'`, reply, status !== "1");
    }

    // Autodiscover for Alice's address, authenticated as Bob: nothing of Alice's account is told.
    const autodiscover = await fetch(new URL("/autodiscover/autodiscover.xml", box.server.easUrl), {
      method: "POST",
      headers: {
        "Authorization": "Basic " + btoa(`${bob!.name}:${bob!.password}`),
        "Content-Type": "text/xml",
      },
      body:
        `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${
          alice!.email
        }</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
      client: Deno.createHttpClient({ caCerts: [box.server.caCertPem!] }),
    } as RequestInit);
    const autodiscoverText = await autodiscover.text();
    assert.doesNotMatch(autodiscoverText, new RegExp(`<LoginName>${alice!.name}</LoginName>`, "i"));
    if (/<LoginName>/.test(autodiscoverText)) {
      assert.match(autodiscoverText, new RegExp(`<LoginName>${bob!.name}</LoginName>`));
    }

    const allowed = attempts.filter((a) => !a.refused).map((a) =>
      `${a.what}: HTTP ${a.reply.status} ${statuses(a.reply.body)}`
    );
    assert.deepEqual(allowed, [], "every attempt is refused");
    const leaked = attempts.filter((a) => leaks(a.reply.raw)).map((a) => a.what);
    assert.deepEqual(leaked, [], "no answer carries Alice's mail");
    assert.ok(!leaks(new TextEncoder().encode(autodiscoverText)));
    assert.ok(attempts.length > 80, `${attempts.length} attempts`);

    // Nothing changed on either side: same folders, UIDs and flags; Bob received no copy.
    assert.equal(await snapshot(box.mailstore, alice!.name, aliceMailboxes), aliceBefore);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await snapshot(box.mailstore, bob!.name, bobMailboxes), bobBefore);
    const bobMail = await imapCommand(box.mailstore, bob!.name, ["SELECT INBOX", "UID SEARCH ALL"]);
    assert.match(bobMail, /\* SEARCH\r\n/);
  } finally {
    await box.stop();
  }
});

function opaqueMime(text: string): WbxmlElement {
  return { ns: CM, name: "Mime", opaque: new TextEncoder().encode(text) };
}

const fetchItem = (item: string) =>
  el(
    IO,
    "ItemOperations",
    el(
      IO,
      "Fetch",
      textEl(IO, "Store", "Mailbox"),
      textEl(AS, "CollectionId", item.split(":")[0]!),
      textEl(AS, "ServerId", item),
    ),
  );

const fetchReference = (ref: string) =>
  el(
    IO,
    "ItemOperations",
    el(IO, "Fetch", textEl(IO, "Store", "Mailbox"), textEl("AirSyncBase", "FileReference", ref)),
  );
