import assert from "node:assert/strict";
import { MOVE_STATUS, moveItems } from "../../../src/eas/commands/move_items.ts";
import { childrenNamed, childText, el, textEl } from "../../../src/wbxml/mod.ts";
import { fakeContext, fakeRequest, folderId } from "./folder_ops_fakes.ts";

const NS = "Move";

function request(...moves: [string, string, string][]) {
  return fakeRequest(
    "MoveItems",
    el(
      NS,
      "MoveItems",
      ...moves.map(([src, srcFld, dstFld]) =>
        el(
          NS,
          "Move",
          textEl(NS, "SrcMsgId", src),
          textEl(NS, "SrcFldId", srcFld),
          textEl(NS, "DstFldId", dstFld),
        )
      ),
    ),
  );
}

Deno.test("MoveItems moves a message and answers its new ServerId in the destination", async () => {
  const ctx = fakeContext();
  const uid = ctx.mailbox.put("INBOX", "Subject: a\r\n\r\nbody\r\n");
  ctx.mailbox.put("Trash", "Subject: older\r\n\r\n");
  const inbox = folderId(ctx, "INBOX");
  const trash = folderId(ctx, "Trash");
  const reply = await moveItems(request([`${inbox}:${uid}`, inbox, trash]), ctx);
  const [response] = childrenNamed(reply.body, "Response");
  assert.equal(childText(response, "SrcMsgId"), `${inbox}:${uid}`);
  assert.equal(childText(response, "Status"), String(MOVE_STATUS.Success));
  assert.equal(childText(response, "DstMsgId"), `${trash}:2`);
  assert.equal(ctx.mailbox.texts("INBOX").length, 0);
  assert.equal(ctx.mailbox.texts("Trash").length, 2);
});

Deno.test("MoveItems answers a status per item for bad sources, destinations and same folder", async () => {
  const ctx = fakeContext();
  const uid = ctx.mailbox.put("INBOX", "Subject: a\r\n\r\n");
  const inbox = folderId(ctx, "INBOX");
  const trash = folderId(ctx, "Trash");
  const calendar = ctx.store.folders.serverIdFor("alice", "local:calendar");
  const reply = await moveItems(
    request(
      [`${inbox}:999`, inbox, trash],
      ["garbage", inbox, trash],
      [`${inbox}:${uid}`, trash, inbox],
      [`${inbox}:${uid}`, inbox, "4711"],
      [`${inbox}:${uid}`, inbox, inbox],
      [`${inbox}:${uid}`, inbox, calendar],
      ["4711:1", "4711", trash],
    ),
    ctx,
  );
  const statuses = childrenNamed(reply.body, "Response").map((r) => Number(childText(r, "Status")));
  assert.deepEqual(statuses, [
    MOVE_STATUS.InvalidSource,
    MOVE_STATUS.InvalidSource,
    MOVE_STATUS.InvalidSource,
    MOVE_STATUS.InvalidDestination,
    MOVE_STATUS.SameFolder,
    MOVE_STATUS.InvalidDestination,
    // A folder id alice does not have (ids are per user): never another user's mailbox.
    MOVE_STATUS.InvalidSource,
  ]);
  assert.equal(ctx.mailbox.texts("INBOX").length, 1, "nothing moved");
});

Deno.test("MoveItems without Move elements answers a top-level failure status", async () => {
  const ctx = fakeContext();
  const reply = await moveItems(fakeRequest("MoveItems", el(NS, "MoveItems")), ctx);
  assert.equal(childText(reply.body, "Status"), String(MOVE_STATUS.Failure));
});

Deno.test("MoveItems carries the item in the device's sync state to its new id", async () => {
  const ctx = fakeContext();
  const uid = ctx.mailbox.put("INBOX", "Subject: a\r\n\r\n");
  const inbox = folderId(ctx, "INBOX");
  const trash = folderId(ctx, "Trash");
  const state = { epoch: "e", generation: 2, cursor: "c", pending: false, options: "{}", replay: "" };
  const device = ctx.device.id;
  ctx.store.syncState.commit(device, inbox, {
    state,
    upserts: [{ id: String(uid), token: "t1", date: 5, failed: false }],
    removes: [],
    clientIds: [],
  });
  ctx.store.syncState.commit(device, trash, { state, upserts: [], removes: [], clientIds: [] });
  const reply = await moveItems(request([`${inbox}:${uid}`, inbox, trash]), ctx);
  const newId = childText(childrenNamed(reply.body, "Response")[0], "DstMsgId")!.split(":")[1]!;
  assert.deepEqual([...ctx.store.syncState.items(device, inbox).keys()], []);
  assert.deepEqual(ctx.store.syncState.items(device, trash).get(newId), {
    id: newId,
    token: "t1",
    date: 5,
    failed: false,
  });
  assert.equal(ctx.store.syncState.collection(device, trash)?.generation, 2, "the SyncKey is unchanged");
});
