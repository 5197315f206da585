import assert from "node:assert/strict";
import { mapImapFolders } from "../../../src/bridge/imap/folder_mapping.ts";

Deno.test("mapImapFolders() uses SPECIAL-USE first and names as the fallback", () => {
  const folders = mapImapFolders([
    { name: "INBOX", delimiter: "/", flags: ["\\HasChildren"] },
    { name: "INBOX/Projects", delimiter: "/", flags: [] },
    { name: "Gesendet", delimiter: "/", flags: ["\\Sent"] },
    { name: "Sent", delimiter: "/", flags: [] },
    { name: "Drafts", delimiter: "/", flags: [] },
    { name: "Trash", delimiter: "/", flags: ["\\Trash"] },
    { name: "All Mail", delimiter: "/", flags: ["\\All"] },
    { name: "Archive", delimiter: "/", flags: ["\\Noselect", "\\HasChildren"] },
    { name: "Archive/2024", delimiter: "/", flags: [] },
  ]);
  const byName = Object.fromEntries(folders.map((f) => [f.key, f]));
  assert.equal(byName["imap:INBOX"]?.type, 2);
  assert.equal(byName["imap:Drafts"]?.type, 3);
  assert.equal(byName["imap:Trash"]?.type, 4);
  assert.equal(byName["imap:Gesendet"]?.type, 5, "SPECIAL-USE wins over the name");
  assert.equal(byName["imap:Sent"]?.type, 12, "only one Sent Items folder");
  assert.equal(byName["imap:INBOX/Projects"]?.parentKey, "imap:INBOX");
  assert.equal(byName["imap:INBOX/Projects"]?.displayName, "Projects");
  assert.equal(byName["imap:All Mail"], undefined, "virtual \\All is left out");
  assert.equal(byName["imap:Archive"], undefined, "\\Noselect is not a folder");
  assert.equal(byName["imap:Archive/2024"]?.parentKey, null);
});
