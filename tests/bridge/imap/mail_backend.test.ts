import assert from "node:assert/strict";
import { MAIL_IMAP_STATS } from "../../../src/bridge/imap/_mail_session_imap.ts";
import { ImapConnectionPool } from "../../../src/bridge/imap/connection_pool.ts";
import { ImapClient } from "../../../src/bridge/imap/imap_client.ts";
import {
  batchesBySize,
  ImapMailBackend,
  MAIL_LIMITS,
  uidSet,
} from "../../../src/bridge/imap/mail_backend.ts";
import { silentLogger } from "../../../src/log/logger.ts";
import { startMailstore } from "../../harness/mod.ts";

Deno.test("uidSet() compresses ids into IMAP ranges", () => {
  assert.equal(uidSet(["9", "3", "4", "5", "7", "4"]), "3:5,7,9");
  assert.equal(uidSet([]), "");
});

Deno.test("batchesBySize() keeps each FETCH under the byte limit, a large item alone", () => {
  const sizes = new Map([[1, 40], [2, 40], [3, 40], [4, 500], [5, 10]]);
  assert.deepEqual(batchesBySize(["1", "2", "3", "4", "5"], sizes, 100), [["1", "2"], ["3"], ["4"], ["5"]]);
});

Deno.test("batchesBySize() also caps the number of messages per FETCH", () => {
  const sizes = new Map([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
  assert.deepEqual(batchesBySize(["1", "2", "3", "4", "5"], sizes, 100, 2), [["1", "2"], ["3", "4"], ["5"]]);
});

Deno.test("fetchEmails() fetches a window in batches on the shared connection, EXAMINE only when another request moved it", async () => {
  const store = await startMailstore({ postfix: false, sieve: false });
  try {
    const user = store.users[0]!;
    const imap = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
    await imap.login(user.name, user.password);
    const count = MAIL_LIMITS.wholeFetchBatchItems * 2 + 3;
    for (let i = 1; i <= count; i++) {
      await imap.append(
        "INBOX",
        new TextEncoder().encode(`From: a@example.com\r\nSubject: m${i}\r\n\r\nbody ${i}\r\n`),
      );
    }
    await imap.logout();
    const url = new URL(store.imapUrl);
    const pool = new ImapConnectionPool({
      url: { implicitTls: false, hostname: url.hostname, port: Number(url.port), href: store.imapUrl },
      caCerts: [store.caPem],
      log: silentLogger,
    });
    try {
      const backend = new ImapMailBackend(pool, { user: user.name, password: user.password });
      const scan = await backend.scan("imap:INBOX", undefined, undefined);
      const ids = scan.items.map((i) => i.id).reverse();
      const options = {
        version: "16.1",
        bodyPreferences: [{ type: 1, truncationSize: 100 }],
        mimeSupport: 0,
        folderServerId: "1",
      };
      const before = MAIL_IMAP_STATS.commands;
      const subjects: string[] = [];
      for await (const got of backend.fetchEmails("imap:INBOX", ids, options)) {
        assert.ok(!("error" in got));
        subjects.push(String(got.email.subject));
      }
      assert.deepEqual(subjects, ids.map((id) => `m${id}`), "every message, in the asked order");
      // One FETCH of the sizes and one per batch of 64: the mailbox the scan selected is kept.
      assert.equal(MAIL_IMAP_STATS.commands - before, 1 + 3);

      // Another request selects another mailbox between two batches: the next batch selects INBOX again.
      const mixed: string[] = [];
      const between = MAIL_IMAP_STATS.commands;
      for await (const got of backend.fetchEmails("imap:INBOX", ids, options)) {
        if (mixed.length === 0) await backend.scan("imap:Sent", undefined, undefined);
        assert.ok(!("error" in got));
        mixed.push(String(got.email.subject));
      }
      assert.deepEqual(mixed, subjects);
      assert.ok(
        MAIL_IMAP_STATS.commands - between >= 1 + 3 + 2,
        "the Sent scan and one more EXAMINE of INBOX",
      );
    } finally {
      await pool.close();
    }
  } finally {
    await store.stop();
  }
});
