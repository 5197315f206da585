import assert from "node:assert/strict";
import { lookupCommand } from "../../../tools/eas_client/lookup_commands.ts";
import { child, childText } from "../../../src/wbxml/tree.ts";
import { startBox } from "../../integration/fixture.ts";

Deno.test("lookupCommand() rejects missing and bad options with clear messages", () => {
  assert.throws(() => lookupCommand("search", new Map()), /Option '--query' is required for search/);
  assert.throws(() => lookupCommand("find", new Map([["store", "x"]])), /must be gal or mailbox, got 'x'/);
  assert.throws(() => lookupCommand("oof", new Map([["set", "maybe"]])), /got 'maybe'/);
  assert.throws(
    () => lookupCommand("resolve", new Map([["to", "a"], ["availability", "x"]])),
    /START,END as ISO dates/,
  );
});

Deno.test("The client's search, find, resolve and oof bodies are accepted by a real box", async () => {
  const box = await startBox({ sieve: true });
  try {
    box.server.store.settings.set("sieve.url", `sieve://127.0.0.1:${box.mailstore.sievePort}`);
    const client = box.client("alice");
    const run = async (command: string, flags: [string, string][]) => {
      const [name, body] = lookupCommand(command, new Map(flags));
      const reply = await client.command(name, body);
      assert.equal(reply.status, 200);
      return reply.body;
    };
    await run("oof", []);
    const set = await run("oof", [["set", "on"], ["message", "Away until Monday"]]);
    assert.equal(childText(child(set, "Oof"), "Status"), "1");
    const get = await run("oof", []);
    assert.equal(childText(child(child(get, "Oof"), "Get"), "OofState"), "1");
    const gal = await run("search", [["query", "alice"]]);
    assert.equal(childText(child(child(gal, "Response"), "Store"), "Status"), "1");
    const found = await run("find", [["query", "hello"], ["store", "mailbox"]]);
    assert.equal(childText(child(found, "Response", "Find"), "Status", "Find"), "1");
    const resolved = await run("resolve", [["to", "nobody@example.test"]]);
    assert.equal(childText(child(resolved, "Response"), "Status"), "4");
  } finally {
    await box.stop();
  }
});
