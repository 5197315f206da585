import assert from "node:assert/strict";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
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
