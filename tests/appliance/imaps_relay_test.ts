import assert from "node:assert/strict";
import { ImapClient } from "../../src/bridge/imap/imap_client.ts";
import { startMailstore } from "../harness/mod.ts";
import { startImapsRelay } from "./_imaps_relay.ts";

Deno.test("the image test's IMAPS relay serves Dovecot under its own CA, and only that CA verifies it", async () => {
  const mailstore = await startMailstore({ postfix: false, sieve: false });
  const work = await Deno.makeTempDir({ prefix: "pb-relay-test-" });
  const relay = await startImapsRelay(work, Number(new URL(mailstore.imapsUrl).port), mailstore.caPem);
  try {
    const url = `imaps://127.0.0.1:${relay.port}`;
    const client = await ImapClient.connect({ url, tls: { caCerts: [relay.caPem] } });
    const alice = mailstore.users[0]!;
    await client.login(alice.name, alice.password);
    const names = (await client.list()).map((m) => m.name);
    assert.ok(names.includes("INBOX"), `LIST through the relay gave ${JSON.stringify(names)}`);
    await client.logout();
    // The harness's own CA must not verify the relay: the VM has to be handed the relay's CA.
    await assert.rejects(ImapClient.connect({ url, tls: { caCerts: [mailstore.caPem] } }));
  } finally {
    relay.close();
    await mailstore.stop();
    await Deno.remove(work, { recursive: true });
  }
});
