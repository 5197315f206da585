/**
 * A user blocked by an access rule (the admin CLI's `access block --user`)
 * loses their held Pings at once and every request after that is refused,
 * through the real client over TLS against real Dovecot.
 */
import assert from "node:assert/strict";
import { DeviceAdmin } from "../../src/admin/device_admin.ts";
import { EVENT_POLL_MS } from "../../src/admin/events.ts";
import { childText } from "../../src/wbxml/mod.ts";
import { startBox } from "../integration/fixture.ts";
import { syncFolders } from "../integration/send_fixture.ts";
import { pingRequest } from "../../tools/eas_client/requests.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";

Deno.test("blocking a user ends their held Ping within the event poll and refuses their next requests", async () => {
  const box = await startBox();
  try {
    const [alice, bob] = box.mailstore.users;
    const client = box.client(alice!.name);
    const { ids } = await syncFolders(client);
    const inbox = ids.get("INBOX") ?? ids.get("Inbox")!;
    const bobClient = box.client(bob!.name);
    const bobFolders = await syncFolders(bobClient);
    const ping = (c: typeof client, folder: string) => c.command("Ping", pingRequest(900, [folder]));
    const started = performance.now();
    const held = ping(client, inbox);
    const bobHeld = ping(bobClient, bobFolders.ids.get("INBOX") ?? bobFolders.ids.get("Inbox")!);
    let bobEnded = false;
    bobHeld.then(() => bobEnded = true, () => bobEnded = true);
    await new Promise((r) => setTimeout(r, 500));

    // The CLI works on the same database from another process: only the store is shared.
    new DeviceAdmin({ store: box.server.store, actor: "cli:test" }).setAccess("block", { user: alice!.name });
    const answer = await held;
    const waited = performance.now() - started;
    assert.ok(waited < 500 + EVENT_POLL_MS + 2_000, `the held Ping ended after ${Math.round(waited)} ms`);
    assert.ok(answer.status === 200 || answer.status === 403, `HTTP ${answer.status}`);

    const after = await client.command("Sync", syncRequest(inbox, "0"));
    const refused = after.status === 403 || childText(after.body, "Status") === "129";
    assert.ok(refused, `HTTP ${after.status} Status ${childText(after.body, "Status")}`);
    // Bob is not blocked: his Ping is still held.
    assert.equal(bobEnded, false);
    box.server.push.hub.kick(bob!.name);
    await bobHeld;
  } finally {
    await box.stop();
  }
});
