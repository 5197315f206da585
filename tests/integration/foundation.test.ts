import assert from "node:assert/strict";
import { childrenNamed, childText, decode, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import { imapCommand } from "../harness/imap_peek.ts";
import { decodeWithLibwbxml, encodeWithLibwbxml, validateWithXsd } from "./eas_checks.ts";
import { type Box, startBox } from "./fixture.ts";

const FOLDER_SYNC_0 = `<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>`;

function folderSync(key: string): WbxmlElement {
  return el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", key));
}

function adds(
  body: WbxmlElement | undefined,
): { serverId: string; parentId: string; name: string; type: number }[] {
  const changes = childrenNamed(body, "Changes")[0];
  return childrenNamed(changes, "Add").map((a) => ({
    serverId: childText(a, "ServerId")!,
    parentId: childText(a, "ParentId")!,
    name: childText(a, "DisplayName")!,
    type: Number(childText(a, "Type")),
  }));
}

/** fetch options trusting the box's CA (for raw requests the EAS client would not send). */
function tlsInit(box: Box, init: RequestInit): RequestInit {
  return { ...init, client: Deno.createHttpClient({ caCerts: [box.server.caCertPem!] }) } as RequestInit;
}

async function withBox(fn: (box: Box) => Promise<void>): Promise<void> {
  const box = await startBox();
  try {
    await fn(box);
  } finally {
    await box.stop();
  }
}

Deno.test("OPTIONS over TLS lists versions and commands, and asks for credentials first", async () => {
  await withBox(async (box) => {
    const client = box.client();
    const probe = await client.probe();
    assert.equal(probe.status, 200);
    assert.deepEqual(probe.versions, ["2.5", "12.0", "12.1", "14.0", "14.1", "16.0", "16.1"]);
    assert.ok(probe.commands.includes("FolderSync"));
    const anonymous = await fetch(
      `${box.server.easUrl}/Microsoft-Server-ActiveSync`,
      tlsInit(box, { method: "OPTIONS" }),
    );
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("WWW-Authenticate") ?? "", /^Basic /);
  });
});

Deno.test("FolderSync from key 0 sent by libwbxml lists the Dovecot folders with their EAS types", async () => {
  await withBox(async (box) => {
    const client = box.client();
    const reply = await client.send("FolderSync", await encodeWithLibwbxml(FOLDER_SYNC_0), {}, {
      "Content-Type": "application/vnd.ms-sync.wbxml",
    });
    assert.equal(reply.status, 200);
    const independent = await decodeWithLibwbxml(reply.raw);
    assert.match(independent, /<Status>1<\/Status>/);
    const xsd = await validateWithXsd(reply.raw);
    assert.ok(xsd.valid, xsd.messages);

    const body = decode(reply.raw);
    assert.equal(childText(body, "SyncKey"), "1");
    const folders = adds(body);
    const typeOf = (name: string) => folders.find((f) => f.name === name)?.type;
    assert.equal(typeOf("Inbox") ?? typeOf("INBOX"), 2);
    assert.equal(typeOf("Drafts"), 3);
    assert.equal(typeOf("Trash"), 4);
    assert.equal(typeOf("Sent"), 5);
    for (const placeholder of [7, 8, 9, 10]) assert.ok(folders.some((f) => f.type === placeholder));
    assert.equal(new Set(folders.map((f) => f.serverId)).size, folders.length, "ServerIds are unique");

    // The returned key with nothing changed: no changes, same key, and no state written.
    const again = await client.command("FolderSync", folderSync("1"));
    assert.equal(childText(again.body, "Status"), "1");
    assert.equal(childText(again.body, "SyncKey"), "1");
    assert.equal(childText(childrenNamed(again.body, "Changes")[0], "Count"), "0");
  });
});

Deno.test("FolderSync reports folders added, renamed and deleted on the IMAP side", async () => {
  await withBox(async (box) => {
    const user = box.mailstore.users[0]!;
    const client = box.client(user.name);
    const first = await client.command("FolderSync", folderSync("0"));
    const key1 = childText(first.body, "SyncKey")!;

    await imapCommand(box.mailstore, user.name, ['CREATE "Projects"', 'CREATE "Old Stuff"']);
    const second = await client.command("FolderSync", folderSync(key1));
    const key2 = childText(second.body, "SyncKey")!;
    assert.notEqual(key2, key1);
    const added = adds(second.body).map((f) => f.name).sort();
    assert.deepEqual(added, ["Old Stuff", "Projects"]);
    const projectsId = adds(second.body).find((f) => f.name === "Projects")!.serverId;
    const oldId = adds(second.body).find((f) => f.name === "Old Stuff")!.serverId;

    await imapCommand(box.mailstore, user.name, ['DELETE "Old Stuff"']);
    const third = await client.command("FolderSync", folderSync(key2));
    const changes = childrenNamed(third.body, "Changes")[0];
    assert.deepEqual(childrenNamed(changes, "Delete").map((d) => childText(d, "ServerId")), [oldId]);

    // The phone lost the third response and resends key2: it gets the same change again, not an error.
    const retried = await client.command("FolderSync", folderSync(key2));
    assert.equal(childText(retried.body, "Status"), "1");
    const retriedChanges = childrenNamed(retried.body, "Changes")[0];
    assert.deepEqual(childrenNamed(retriedChanges, "Delete").map((d) => childText(d, "ServerId")), [oldId]);

    // A key the server never issued: Status 9, and SyncKey 0 afterwards is a clean resync.
    const bogus = await client.command("FolderSync", folderSync("999"));
    assert.equal(childText(bogus.body, "Status"), "9");
    const restart = await client.command("FolderSync", folderSync("0"));
    assert.equal(childText(restart.body, "Status"), "1");
    assert.ok(adds(restart.body).some((f) => f.serverId === projectsId), "ids stay stable across resyncs");
  });
});

Deno.test("bad input gets a clear HTTP error and the server keeps serving", async () => {
  await withBox(async (box) => {
    const client = box.client();
    const wbxml = { "Content-Type": "application/vnd.ms-sync.wbxml" };
    const valid = await encodeWithLibwbxml(FOLDER_SYNC_0);

    const truncated = await client.send("FolderSync", valid.subarray(0, valid.length - 3), {}, wbxml);
    assert.equal(truncated.status, 400);
    assert.match(new TextDecoder().decode(truncated.raw), /Malformed WBXML/);

    const wrongType = await client.send("FolderSync", valid, {}, { "Content-Type": "text/plain" });
    assert.equal(wrongType.status, 400);

    const huge = await client.send("FolderSync", new Uint8Array(17 * 1024 * 1024), {}, wbxml);
    assert.equal(huge.status, 413);

    const unknown = await client.send("Bogus", valid, {}, wbxml);
    assert.equal(unknown.status, 501);

    const noDevice = await fetch(
      `${box.server.easUrl}/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=x&DeviceType=y`,
      tlsInit(box, {
        method: "POST",
        body: valid as BodyInit,
        headers: { ...wbxml, "MS-ASProtocolVersion": "14.1" },
      }),
    );
    assert.equal(noDevice.status, 400);
    assert.match(await noDevice.text(), /DeviceId/);

    const oldVersion = box.client(undefined, { protocolVersion: "1.0" });
    const versionReply = await oldVersion.send("FolderSync", valid, {}, wbxml);
    assert.equal(versionReply.status, 400);
    assert.equal(versionReply.headers.get("MS-ASProtocolVersions"), "2.5,12.0,12.1,14.0,14.1,16.0,16.1");

    const wrongPassword = box.client(undefined, { password: "not-the-password" });
    const denied = await wrongPassword.send("FolderSync", valid, {}, wbxml);
    assert.equal(denied.status, 401);

    const fine = await client.send("FolderSync", valid, {}, wbxml);
    assert.equal(fine.status, 200, "the server still serves after the bad requests");
    assert.equal(box.server.store.db.integrityCheck(), "ok");
  });
});
