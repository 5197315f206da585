import assert from "node:assert/strict";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { startBox } from "./fixture.ts";
import { assertValidResponse, syncFolders, uidsOf } from "./send_fixture.ts";

const NS = "Move";
const move = (src: string, srcFld: string, dstFld: string) =>
  el(
    NS,
    "MoveItems",
    el(
      NS,
      "Move",
      textEl(NS, "SrcMsgId", src),
      textEl(NS, "SrcFldId", srcFld),
      textEl(NS, "DstFldId", dstFld),
    ),
  );

Deno.test("MoveItems moves a message over IMAP and the new id works in the destination", async () => {
  const box = await startBox();
  try {
    const user = box.mailstore.users[0]!.name;
    await box.mailstore.deliver(user, "From: bob@example.test\r\nSubject: move me\r\n\r\nbody\r\n");
    const client = box.client(user);
    const { ids } = await syncFolders(client);
    const inbox = ids.get("Inbox") ?? ids.get("INBOX")!;
    const trash = ids.get("Trash")!;
    const [uid] = await uidsOf(box.mailstore, user);

    const reply = await client.command("MoveItems", move(`${inbox}:${uid}`, inbox, trash));
    await assertValidResponse(reply);
    const response = childrenNamed(reply.body, "Response")[0];
    assert.equal(childText(response, "Status"), "3");
    const dst = childText(response, "DstMsgId")!;
    const trashUids = await uidsOf(box.mailstore, user, "Trash");
    assert.deepEqual(dst, `${trash}:${trashUids[0]}`);
    assert.deepEqual(await uidsOf(box.mailstore, user), []);

    // The new id is a real item id: moving it back works, the old one is gone.
    const back = await client.command("MoveItems", move(dst, trash, inbox));
    assert.equal(childText(childrenNamed(back.body, "Response")[0], "Status"), "3");
    assert.equal((await uidsOf(box.mailstore, user)).length, 1);
    const stale = await client.command("MoveItems", move(`${inbox}:${uid}`, inbox, trash));
    assert.equal(childText(childrenNamed(stale.body, "Response")[0], "Status"), "1");
    const same = await client.command("MoveItems", move(dst, trash, trash));
    assert.equal(childText(childrenNamed(same.body, "Response")[0], "Status"), "4");
  } finally {
    await box.stop();
  }
});

const AS = "AirSync";

/** One Sync round of one collection: the new key and the commands (Add/Delete/Change) by name. */
async function syncRound(client: EasClient, collectionId: string, key: string) {
  const reply = await client.command(
    "Sync",
    el(
      AS,
      "Sync",
      el(
        AS,
        "Collections",
        el(AS, "Collection", textEl(AS, "SyncKey", key), textEl(AS, "CollectionId", collectionId)),
      ),
    ),
  );
  const collection = childrenNamed(childrenNamed(reply.body, "Collections", AS)[0], "Collection", AS)[0];
  const commands = childrenNamed(collection, "Commands", AS)[0]?.children ?? [];
  return { key: childText(collection, "SyncKey", AS)!, commands: commands.map((c) => c.name) };
}

Deno.test("after MoveItems the next Sync neither deletes from the source nor adds to the destination", async () => {
  const box = await startBox();
  try {
    const user = box.mailstore.users[0]!.name;
    await box.mailstore.deliver(user, "From: bob@example.test\r\nSubject: synced\r\n\r\nbody\r\n");
    const client = box.client(user);
    const { ids } = await syncFolders(client);
    const inbox = ids.get("Inbox") ?? ids.get("INBOX")!;
    const trash = ids.get("Trash")!;
    const keys: Record<string, string> = {};
    for (const folder of [inbox, trash]) {
      const first = await syncRound(client, folder, "0");
      const second = await syncRound(client, folder, first.key);
      keys[folder] = second.key;
    }
    const [uid] = await uidsOf(box.mailstore, user);
    const reply = await client.command("MoveItems", move(`${inbox}:${uid}`, inbox, trash));
    assert.equal(childText(childrenNamed(reply.body, "Response")[0], "Status"), "3");
    assert.deepEqual((await syncRound(client, inbox, keys[inbox]!)).commands, []);
    assert.deepEqual((await syncRound(client, trash, keys[trash]!)).commands, []);
    // Another device of the same user learns of the move the usual way.
    const other = box.client(user);
    const otherIds = (await syncFolders(other)).ids;
    const fresh = await syncRound(other, otherIds.get("Trash")!, "0");
    assert.deepEqual((await syncRound(other, otherIds.get("Trash")!, fresh.key)).commands, ["Add"]);
  } finally {
    await box.stop();
  }
});
