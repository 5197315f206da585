import assert from "node:assert/strict";
import { child, childrenNamed, childText, el, textEl } from "../../src/wbxml/tree.ts";
import { validateWithXsd } from "./eas_checks.ts";
import { startBox } from "./fixture.ts";

function mailboxSearch(text: string, range: string) {
  return el(
    "Search",
    "Search",
    el(
      "Search",
      "Store",
      textEl("Search", "Name", "Mailbox"),
      el(
        "Search",
        "Query",
        el("Search", "And", textEl("AirSync", "Class", "Email"), textEl("Search", "FreeText", text)),
      ),
      el(
        "Search",
        "Options",
        textEl("Search", "Range", range),
        el("Search", "RebuildResults"),
        el("Search", "DeepTraversal"),
        el(
          "AirSyncBase",
          "BodyPreference",
          textEl("AirSyncBase", "Type", 1),
          textEl("AirSyncBase", "TruncationSize", 200),
        ),
      ),
    ),
  );
}

Deno.test("Search Mailbox finds seeded Dovecot mail by free text, pages by Range and validates", async () => {
  const box = await startBox();
  try {
    const message = (n: number, subject: string, body: string) =>
      `From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nDate: Mon, ${
        10 + n
      } Nov 2026 10:00:00 +0000\r\nMessage-ID: <m${n}@example.test>\r\n\r\n${body}\r\n`;
    await box.mailstore.deliver("alice", message(1, "Quarterly report", "numbers attached"));
    await box.mailstore.deliver("alice", message(2, "Lunch", "the quarterly figures look fine"));
    await box.mailstore.deliver("alice", message(3, "Unrelated", "nothing here"));
    const client = box.client("alice");
    const all = await client.command("Search", mailboxSearch("quarterly", "0-9"));
    assert.equal(all.status, 200);
    const store = child(child(all.body, "Response"), "Store");
    assert.equal(childText(store, "Status"), "1");
    assert.equal(childText(store, "Total"), "2");
    const results = childrenNamed(store, "Result");
    assert.deepEqual(results.map((r) => childText(child(r, "Properties"), "Subject", "Email")), [
      "Lunch",
      "Quarterly report",
    ]);
    assert.match(childText(results[0], "LongId", "Search") ?? "", /^\w+:\d+$/);
    const check = await validateWithXsd(all.raw);
    assert.ok(check.valid, check.messages);

    const second = await client.command("Search", mailboxSearch("quarterly", "1-1"));
    const page = child(child(second.body, "Response"), "Store");
    assert.equal(childText(page, "Range"), "1-1");
    assert.equal(
      childText(child(childrenNamed(page, "Result")[0], "Properties"), "Subject", "Email"),
      "Quarterly report",
    );

    const none = await client.command("Search", mailboxSearch("zebra", "0-9"));
    assert.equal(childText(child(child(none.body, "Response"), "Store"), "Total"), "0");
  } finally {
    await box.stop();
  }
});
