import assert from "node:assert/strict";
import { folderCreate } from "../../../src/eas/commands/folder_create.ts";
import { folderDelete } from "../../../src/eas/commands/folder_delete.ts";
import { folderSync } from "../../../src/eas/commands/folder_sync.ts";
import { folderUpdate } from "../../../src/eas/commands/folder_update.ts";
import { childrenNamed, childText, el, textEl, type WbxmlElement } from "../../../src/wbxml/mod.ts";
import { fakeContext, FakeMailbox, fakeRequest, folderId } from "./folder_ops_fakes.ts";

const NS = "FolderHierarchy";

function body(command: string, fields: Record<string, string>): WbxmlElement {
  return el(NS, command, ...Object.entries(fields).map(([k, v]) => textEl(NS, k, v)));
}

/** A context whose device already did FolderSync 0 -> key 1. */
async function synced(mailbox = new FakeMailbox(["INBOX", "Drafts", "Sent", "Trash", "Work", "Work/Old"])) {
  const ctx = fakeContext(mailbox);
  const reply = await folderSync(fakeRequest("FolderSync", body("FolderSync", { SyncKey: "0" })), ctx);
  assert.equal(childText(reply.body, "SyncKey"), "1");
  return ctx;
}

async function nextFolderSync(ctx: Awaited<ReturnType<typeof synced>>, key: string) {
  const reply = await folderSync(fakeRequest("FolderSync", body("FolderSync", { SyncKey: key })), ctx);
  return {
    key: childText(reply.body, "SyncKey"),
    count: childText(childrenNamed(reply.body, "Changes")[0], "Count"),
  };
}

Deno.test("FolderCreate makes a mailbox under the parent and the next FolderSync does not repeat it", async () => {
  const ctx = await synced();
  const reply = await folderCreate(
    fakeRequest(
      "FolderCreate",
      body("FolderCreate", {
        SyncKey: "1",
        ParentId: folderId(ctx, "Work"),
        DisplayName: "Projects",
        Type: "12",
      }),
    ),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "1");
  assert.equal(childText(reply.body, "SyncKey"), "2");
  assert.equal(childText(reply.body, "ServerId"), folderId(ctx, "Work/Projects"));
  assert.ok(ctx.mailbox.boxes.has("Work/Projects"));
  assert.deepEqual(await nextFolderSync(ctx, "2"), { key: "2", count: "0" });
});

Deno.test("FolderCreate answers 2 for an existing name, 5 for an unknown parent, 9 for a bad key", async () => {
  const ctx = await synced();
  const create = (fields: Record<string, string>) =>
    folderCreate(
      fakeRequest("FolderCreate", body("FolderCreate", { SyncKey: "1", Type: "12", ...fields })),
      ctx,
    );
  assert.equal(childText((await create({ ParentId: "0", DisplayName: "Work" })).body, "Status"), "2");
  assert.equal(childText((await create({ ParentId: "0", DisplayName: "inbox" })).body, "Status"), "2");
  assert.equal(childText((await create({ ParentId: "999", DisplayName: "X" })).body, "Status"), "5");
  const badKey = await folderCreate(
    fakeRequest(
      "FolderCreate",
      body("FolderCreate", { SyncKey: "7", ParentId: "0", DisplayName: "X", Type: "12" }),
    ),
    ctx,
  );
  assert.equal(childText(badKey.body, "Status"), "9");
  const calendar = await create({ ParentId: "0", DisplayName: "Trips", Type: "13" });
  assert.equal(
    childText(calendar.body, "Status"),
    "6",
    "calendar folders are not created by the mail bridge",
  );
  assert.ok(!ctx.mailbox.boxes.has("Trips"));
});

Deno.test("FolderUpdate renames and moves a folder with its children, keeping every ServerId", async () => {
  const ctx = await synced();
  const work = folderId(ctx, "Work");
  const old = folderId(ctx, "Work/Old");
  const inbox = folderId(ctx, "INBOX");
  const reply = await folderUpdate(
    fakeRequest(
      "FolderUpdate",
      body("FolderUpdate", {
        SyncKey: "1",
        ServerId: work,
        ParentId: inbox,
        DisplayName: "Jobs",
      }),
    ),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "1");
  assert.equal(childText(reply.body, "SyncKey"), "2");
  assert.ok(ctx.mailbox.boxes.has("INBOX/Jobs/Old"));
  assert.equal(folderId(ctx, "INBOX/Jobs"), work);
  assert.equal(folderId(ctx, "INBOX/Jobs/Old"), old);
  assert.deepEqual(await nextFolderSync(ctx, "2"), { key: "2", count: "0" });
});

Deno.test("FolderUpdate and FolderDelete refuse special folders with Status 3 and unknown ones with 4", async () => {
  const ctx = await synced();
  for (const name of ["INBOX", "Sent", "Drafts", "Trash"]) {
    const update = await folderUpdate(
      fakeRequest(
        "FolderUpdate",
        body("FolderUpdate", {
          SyncKey: "1",
          ServerId: folderId(ctx, name),
          ParentId: "0",
          DisplayName: "Renamed",
        }),
      ),
      ctx,
    );
    assert.equal(childText(update.body, "Status"), "3", name);
    const del = await folderDelete(
      fakeRequest("FolderDelete", body("FolderDelete", { SyncKey: "1", ServerId: folderId(ctx, name) })),
      ctx,
    );
    assert.equal(childText(del.body, "Status"), "3", name);
  }
  const missing = await folderDelete(
    fakeRequest("FolderDelete", body("FolderDelete", { SyncKey: "1", ServerId: "4711" })),
    ctx,
  );
  assert.equal(childText(missing.body, "Status"), "4");
  assert.ok(ctx.mailbox.boxes.has("INBOX"));
});

Deno.test("FolderUpdate cannot move a folder under its own child", async () => {
  const ctx = await synced();
  const reply = await folderUpdate(
    fakeRequest(
      "FolderUpdate",
      body("FolderUpdate", {
        SyncKey: "1",
        ServerId: folderId(ctx, "Work"),
        ParentId: folderId(ctx, "Work/Old"),
        DisplayName: "Work",
      }),
    ),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "5");
  assert.ok(ctx.mailbox.boxes.has("Work/Old"));
});

Deno.test("FolderDelete removes the folder and its children and the next FolderSync is quiet", async () => {
  const ctx = await synced();
  const reply = await folderDelete(
    fakeRequest("FolderDelete", body("FolderDelete", { SyncKey: "1", ServerId: folderId(ctx, "Work") })),
    ctx,
  );
  assert.equal(childText(reply.body, "Status"), "1");
  assert.equal(childText(reply.body, "SyncKey"), "2");
  assert.ok(!ctx.mailbox.boxes.has("Work") && !ctx.mailbox.boxes.has("Work/Old"));
  assert.deepEqual(await nextFolderSync(ctx, "2"), { key: "2", count: "0" });
});

Deno.test("a folder change keeps other changes for the next FolderSync", async () => {
  const ctx = await synced();
  ctx.mailbox.boxes.set("FromDesktop", { nextUid: 1, messages: new Map() });
  const reply = await folderCreate(
    fakeRequest(
      "FolderCreate",
      body("FolderCreate", {
        SyncKey: "1",
        ParentId: "0",
        DisplayName: "FromPhone",
        Type: "12",
      }),
    ),
    ctx,
  );
  assert.equal(childText(reply.body, "SyncKey"), "2");
  // The desktop's folder was not told by FolderCreate, so FolderSync still reports it.
  assert.deepEqual(await nextFolderSync(ctx, "2"), { key: "3", count: "1" });
});
