import assert from "node:assert/strict";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import { imapCommand } from "../harness/imap_peek.ts";
import { startBox } from "./fixture.ts";
import { assertValidResponse, syncFolders } from "./send_fixture.ts";

const NS = "FolderHierarchy";
const req = (command: string, fields: Record<string, string>) =>
  el(NS, command, ...Object.entries(fields).map(([k, v]) => textEl(NS, k, v)));

Deno.test("FolderCreate, FolderUpdate and FolderDelete change IMAP and the next FolderSync stays quiet", async () => {
  const box = await startBox();
  try {
    const user = box.mailstore.users[0]!.name;
    const client = box.client(user);
    const { key, ids } = await syncFolders(client);
    const list = async () => await imapCommand(box.mailstore, user, ['LIST "" "*"']);

    const created = await client.command(
      "FolderCreate",
      req("FolderCreate", {
        SyncKey: key,
        ParentId: "0",
        DisplayName: "Projects",
        Type: "12",
      }),
    );
    await assertValidResponse(created);
    assert.equal(childText(created.body, "Status"), "1");
    const projects = childText(created.body, "ServerId")!;
    const child = await client.command(
      "FolderCreate",
      req("FolderCreate", {
        SyncKey: childText(created.body, "SyncKey")!,
        ParentId: projects,
        DisplayName: "Alpha",
        Type: "12",
      }),
    );
    assert.equal(childText(child.body, "Status"), "1");
    assert.match(await list(), /"Projects\/Alpha"|Projects\/Alpha/);

    const renamed = await client.command(
      "FolderUpdate",
      req("FolderUpdate", {
        SyncKey: childText(child.body, "SyncKey")!,
        ServerId: projects,
        ParentId: ids.get("Archive") ?? "0",
        DisplayName: "Done",
      }),
    );
    await assertValidResponse(renamed);
    assert.equal(childText(renamed.body, "Status"), "1");
    const afterRename = await list();
    assert.match(afterRename, /Archive\/Done\/Alpha/);
    assert.doesNotMatch(afterRename, /Projects/);

    const special = await client.command(
      "FolderDelete",
      req("FolderDelete", {
        SyncKey: childText(renamed.body, "SyncKey")!,
        ServerId: ids.get("Sent")!,
      }),
    );
    await assertValidResponse(special);
    assert.equal(childText(special.body, "Status"), "3");

    const exists = await client.command(
      "FolderCreate",
      req("FolderCreate", {
        SyncKey: childText(renamed.body, "SyncKey")!,
        ParentId: "0",
        DisplayName: "Drafts",
        Type: "12",
      }),
    );
    assert.equal(childText(exists.body, "Status"), "2");

    // Nothing the phone did itself comes back in FolderSync; the ServerId survived the rename.
    const quiet = await client.command(
      "FolderSync",
      req("FolderSync", { SyncKey: childText(renamed.body, "SyncKey")! }),
    );
    assert.equal(childText(childrenNamed(quiet.body, "Changes")[0], "Count"), "0");
    const fresh = await syncFolders(box.client(user));
    assert.equal(fresh.ids.get("Done"), projects);

    const deleted = await client.command(
      "FolderDelete",
      req("FolderDelete", {
        SyncKey: childText(quiet.body, "SyncKey")!,
        ServerId: projects,
      }),
    );
    await assertValidResponse(deleted);
    assert.equal(childText(deleted.body, "Status"), "1");
    assert.doesNotMatch(await list(), /Done/);
    const after = await client.command(
      "FolderSync",
      req("FolderSync", { SyncKey: childText(deleted.body, "SyncKey")! }),
    );
    assert.equal(childText(childrenNamed(after.body, "Changes")[0], "Count"), "0");
  } finally {
    await box.stop();
  }
});
