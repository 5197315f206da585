import assert from "node:assert/strict";
import { diffFolders } from "../../../src/eas/commands/folder_sync.ts";

const f = (serverId: string, displayName = serverId, parentId = "0", type = 12) => ({
  serverId,
  parentId,
  displayName,
  type,
});

Deno.test("diffFolders() finds adds, renames, moves and deletes", () => {
  const held = [f("1", "Inbox", "0", 2), f("2", "Old"), f("3", "Moved"), f("4", "Gone")];
  const current = [f("1", "Inbox", "0", 2), f("2", "New"), f("3", "Moved", "1"), f("5", "Fresh")];
  const d = diffFolders(held, current);
  assert.deepEqual(d.adds.map((x) => x.serverId), ["5"]);
  assert.deepEqual(d.updates.map((x) => x.serverId), ["2", "3"]);
  assert.deepEqual(d.deletes.map((x) => x.serverId), ["4"]);
  assert.equal(d.count, 4);
});

Deno.test("diffFolders() reports nothing for an unchanged hierarchy", () => {
  const same = [f("1"), f("2")];
  assert.equal(diffFolders(same, same).count, 0);
});
