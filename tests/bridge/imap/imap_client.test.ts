import assert from "node:assert/strict";
import {
  ImapAuthError,
  ImapClient,
  ImapConnectionError,
  ImapError,
  type UntaggedEvent,
} from "../../../src/bridge/imap/imap_client.ts";
import { type Mailstore, startMailstore } from "../../harness/mod.ts";

const enc = new TextEncoder();

function message(subject: string, body = "hello\r\n"): string {
  return `From: Alice <alice@example.test>\r\nTo: bob@example.test\r\nSubject: ${subject}\r\n` +
    `Message-ID: <${crypto.randomUUID()}@example.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n${body}`;
}

async function connect(store: Mailstore, user = "bob", url = store.imapUrl): Promise<ImapClient> {
  const account = store.users.find((u) => u.name === user)!;
  const client = await ImapClient.connect({ url, tls: { caCerts: [store.caPem] }, timeoutMs: 20_000 });
  await client.login(account.name, account.password);
  return client;
}

/** Resolves with the first event `match` accepts, or rejects after `ms`. */
function waitFor(
  client: ImapClient,
  match: (e: UntaggedEvent) => boolean,
  ms = 10_000,
): Promise<UntaggedEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error("No matching untagged event"));
    }, ms);
    const off = client.onUntagged((event) => {
      if (!match(event)) return;
      clearTimeout(timer);
      off();
      resolve(event);
    });
  });
}

Deno.test("ImapClient against a real Dovecot", async (t) => {
  const store = await startMailstore({ postfix: false, sieve: false });
  try {
    await t.step("connect() upgrades with STARTTLS and login() refreshes capabilities", async () => {
      const plain = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
      assert.ok(!plain.capabilities.has("STARTTLS"), "STARTTLS is no longer offered inside TLS");
      await plain.login("bob", "bob-secret");
      assert.ok(plain.capabilities.has("QRESYNC"));
      assert.ok(plain.capabilities.has("NOTIFY"));
      await plain.logout();
      await plain.closed;
      assert.equal(plain.isClosed, true);
      const tls = await connect(store, "bob", store.imapsUrl);
      assert.ok(tls.capabilities.has("IMAP4REV1"));
      await tls.logout();
    });

    await t.step("connect() rejects an untrusted certificate with ImapConnectionError", async () => {
      await assert.rejects(
        ImapClient.connect({ url: store.imapsUrl, timeoutMs: 5_000 }),
        ImapConnectionError,
      );
    });

    await t.step("login() with a bad password throws ImapAuthError", async () => {
      const client = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
      await assert.rejects(client.login("bob", 'wrong "pass\\word'), (e) => {
        assert.ok(e instanceof ImapAuthError);
        assert.equal(e.code, "AUTHENTICATIONFAILED");
        return true;
      });
      client.close();
    });

    const client = await connect(store);
    try {
      await t.step("list() returns special-use flags and Unicode names", async () => {
        await client.create("Entwürfe & Ideen/日本語");
        const boxes = await client.list();
        const sent = boxes.find((b) => b.name === "Sent");
        assert.ok(sent?.flags.includes("\\Sent"), JSON.stringify(boxes));
        assert.equal(sent?.delimiter, "/");
        assert.ok(boxes.some((b) => b.name === "Entwürfe & Ideen/日本語"));
        await client.rename("Entwürfe & Ideen/日本語", "Ärchiv");
        await client.subscribe("Ärchiv");
        const status = await client.status("Ärchiv");
        assert.equal(status.messages, 0);
        await client.delete("Ärchiv");
        assert.ok(!(await client.list()).some((b) => b.name === "Ärchiv"));
        await assert.rejects(client.select("Nope"), (e) => e instanceof ImapError && e.status === "NO");
      });

      await t.step("fetch() streams 200 messages with envelopes and body structures", async () => {
        for (let i = 0; i < 200; i++) await store.deliver("bob", message(`Message ${i}`));
        const selected = await client.select("INBOX", { condstore: true });
        assert.equal(selected.exists, 200);
        assert.ok(selected.highestModSeq !== undefined && selected.highestModSeq > 0n);
        let count = 0;
        for await (
          const row of client.fetch(
            "1:*",
            "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE MODSEQ)",
          )
        ) {
          assert.equal(row.envelope?.subject, `Message ${count}`);
          assert.equal(row.bodyStructure?.type, "text");
          assert.ok(row.size! > 100);
          assert.ok(row.modseq! > 0n);
          assert.ok(row.internalDate instanceof Date);
          count++;
        }
        assert.equal(count, 200);
        const one = await client.fetchOne(5, "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[TEXT])");
        assert.equal(new TextDecoder().decode(one!.sections.get("BODY[TEXT]")), "hello\r\n");
        assert.match(
          new TextDecoder().decode(one!.sections.get("BODY[HEADER.FIELDS (SUBJECT)]")),
          /Message 4/,
        );
        let early = 0;
        for await (const _ of client.fetch("1:*", "(UID)")) if (++early === 3) break;
        assert.equal(
          (await client.search("ALL")).length,
          200,
          "the connection is usable after leaving a loop early",
        );
      });

      await t.step("search() returns UIDs from ESEARCH", async () => {
        await client.store("1:10", "+FLAGS.SILENT", ["\\Seen"]);
        assert.deepEqual(await client.search("SEEN"), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert.deepEqual(await client.search('SUBJECT "Message 199"'), [200]);
        assert.deepEqual(await client.search('SUBJECT "no such"'), []);
      });

      await t.step("select() with QRESYNC reports VANISHED and changed flags", async () => {
        const before = await client.select("INBOX");
        await client.store("20", "+FLAGS.SILENT", ["\\Flagged"]);
        await client.store("30:31", "+FLAGS.SILENT", ["\\Deleted"]);
        await client.expunge("30:31");
        const after = await client.select("INBOX", {
          qresync: { uidValidity: before.uidValidity, modSeq: before.highestModSeq! },
        });
        assert.equal(after.vanished, "30:31");
        assert.deepEqual(after.changed?.map((r) => [r.uid, r.flags?.includes("\\Flagged")]), [[20, true]]);
        const changed = client.fetch("1:*", "(UID FLAGS)", {
          changedSince: before.highestModSeq!,
          vanished: true,
        });
        const rows = [];
        for await (const row of changed) rows.push(row.uid);
        assert.deepEqual(rows, [20]);
        assert.deepEqual(changed.vanished, ["30:31"]);
        const conflict = await client.store("21", "+FLAGS.SILENT", ["\\Seen"], { unchangedSince: 1n });
        assert.equal(conflict.modified, "21");
      });

      await t.step("append() returns APPENDUID and move() returns COPYUID", async () => {
        const appended = await client.append(
          "Drafts",
          enc.encode(message("Draft ü")),
          ["\\Draft"],
          new Date(),
        );
        assert.ok(appended && appended.uid > 0 && appended.uidValidity > 0);
        const moved = await client.move("1:3", "Archive");
        assert.ok(moved);
        assert.deepEqual([...moved.map.keys()], [1, 2, 3]);
        const archive = await client.status("Archive");
        assert.equal(archive.messages, 3);
        const copied = await client.copy("4", "Trash");
        assert.equal(copied?.map.size, 1);
        assert.deepEqual((await client.search("UID 1:3")).length, 0);
      });

      await t.step("fetchBodyStream() streams a 5 MB literal in bounded pieces", async () => {
        const line = "x".repeat(998) + "\r\n";
        const body = line.repeat(5 * 1024 * 1024 / line.length + 1);
        await store.deliver("bob", message("Big", body));
        await client.select("INBOX");
        const [uid] = await client.search('SUBJECT "Big"');
        const { size, stream } = await client.fetchBodyStream(uid!, "TEXT");
        assert.equal(size, body.length);
        let total = 0;
        let largest = 0;
        for await (const chunk of stream) {
          total += chunk.length;
          largest = Math.max(largest, chunk.length);
        }
        assert.equal(total, body.length);
        assert.ok(largest <= 64 * 1024);
        const part = await client.fetchBodyStream(uid!, "TEXT", { range: { offset: 998, length: 4 } });
        assert.equal(new TextDecoder().decode(await new Response(part.stream).arrayBuffer()), "\r\nxx");
        const cancelled = await client.fetchBodyStream(uid!, "TEXT");
        await cancelled.stream.cancel();
        await client.noop();
        await assert.rejects(client.fetchBodyStream(99_999, "TEXT"), ImapError);
      });

      await t.step("concurrent callers share the connection safely", async () => {
        const results = await Promise.all([
          client.search("ALL"),
          client.status("Archive"),
          client.fetchOne(10, "(UID FLAGS)"),
          client.list(),
          client.search("SEEN"),
        ]);
        assert.ok(results[0].length > 100);
        assert.equal(results[1].messages, 3);
        assert.equal(results[2]?.uid, 10);
        assert.ok(results[3].length >= 6);
        assert.ok(results[4].includes(10));
      });

      await t.step("idle() wakes on a delivery and ends for the next command", async () => {
        await client.select("INBOX");
        const idle = await client.idle();
        const exists = waitFor(client, (e) => e.type === "exists");
        await store.deliver("bob", message("While idle"));
        await exists;
        const found = await client.search('SUBJECT "While idle"');
        assert.equal(found.length, 1);
        await idle.ended;
        await idle.done();
        const again = await client.idle();
        const expunged = waitFor(client, (e) => e.type === "vanished" || e.type === "expunge");
        const other = await connect(store);
        await other.select("INBOX");
        await other.store(String(found[0]), "+FLAGS.SILENT", ["\\Deleted"]);
        await other.expunge(String(found[0]));
        await other.logout();
        await expunged;
        await again.done();
        assert.deepEqual(await client.search('SUBJECT "While idle"'), []);
      });

      await t.step("notify() reports a delivery to a non-selected mailbox", async () => {
        const other = await connect(store, "carol");
        try {
          await other.select("INBOX");
          await other.create("Lists");
          await other.notify(
            "SET (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew MessageExpunge))",
          );
          const status = waitFor(other, (e) => e.type === "status" && e.mailbox === "Lists");
          const writer = await connect(store, "carol");
          await writer.append("Lists", enc.encode(message("To a list")));
          await writer.logout();
          const event = await status;
          assert.equal(event.type === "status" && event.status.messages, 1);
        } finally {
          await other.logout();
        }
      });
    } finally {
      await client.logout();
    }

    await t.step("login() falls back to AUTHENTICATE PLAIN when LOGIN is disabled", async () => {
      for (const saslIr of [true, false]) {
        const client = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
        client.capabilities.add("LOGINDISABLED");
        if (!saslIr) client.capabilities.delete("SASL-IR");
        await client.login("alice", "alice-secret");
        assert.ok(client.capabilities.has("QRESYNC"), "capabilities after AUTHENTICATE");
        await client.logout();
      }
      const bad = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
      bad.capabilities.add("LOGINDISABLED");
      await assert.rejects(bad.login("alice", "nope"), ImapAuthError);
      bad.close();
    });

    await t.step("without LITERAL+, ESEARCH and MOVE the fallbacks give the same results", async () => {
      const client = await connect(store, "alice");
      try {
        for (const capability of ["LITERAL+", "ESEARCH", "MOVE"]) client.capabilities.delete(capability);
        const appended = await client.append("INBOX", enc.encode(message("Grüße aus Köln", "Käse\r\n")));
        assert.ok(appended);
        await client.append("INBOX", enc.encode(message("Other")));
        await client.select("INBOX");
        assert.deepEqual(await client.search(["SUBJECT", "Other"]), [appended.uid + 1]);
        assert.deepEqual(await client.search(["BODY", "Käse"]), [appended.uid]);
        const moved = await client.move(String(appended.uid), "Trash");
        assert.equal(moved?.map.size, 1);
        assert.deepEqual(await client.search("ALL"), [appended.uid + 1]);
        assert.equal((await client.status("Trash")).messages, 1);
      } finally {
        await client.logout();
      }
    });

    await t.step("a command the server leaves unanswered times out with ImapConnectionError", async () => {
      const proxy = startProxy(store.imapPort);
      try {
        const account = store.users[0]!;
        const client = await ImapClient.connect({
          url: `imap://127.0.0.1:${proxy.port}`,
          tls: { caCerts: [store.caPem] },
          timeoutMs: 500,
        });
        await client.login(account.name, account.password);
        proxy.stall();
        await assert.rejects(client.noop(), /did not answer within 500 ms/);
        await client.closed;
        assert.equal(client.isClosed, true);
      } finally {
        proxy.close();
      }
    });

    await t.step(
      "a dropped connection fails commands with ImapConnectionError and resolves closed",
      async () => {
        const proxy = startProxy(store.imapPort);
        const victim = await connect(store, "alice", `imap://127.0.0.1:${proxy.port}`);
        let reported: ImapConnectionError | null | undefined;
        victim.onClose((error) => (reported = error));
        await victim.select("INBOX");
        const idle = await victim.idle();
        proxy.drop();
        await victim.closed;
        await idle.ended;
        assert.ok(reported instanceof ImapConnectionError);
        await assert.rejects(victim.search("ALL"), ImapConnectionError);
        proxy.close();
      },
    );
  } finally {
    await store.stop();
  }
});

/** A TCP relay to `port`: drop() cuts every connection as a dying network would, stall() stops server-to-client data. */
function startProxy(port: number) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sockets: Deno.Conn[] = [];
  let stalled = false;
  const relay = async (from: Deno.Conn, to: Deno.Conn, toClient: boolean) => {
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      if (toClient && stalled) continue;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
    }
  };
  (async () => {
    for await (const inbound of listener) {
      const outbound = await Deno.connect({ hostname: "127.0.0.1", port });
      sockets.push(inbound, outbound);
      relay(inbound, outbound, false).catch(() => {});
      relay(outbound, inbound, true).catch(() => {});
    }
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    stall() {
      stalled = true;
    },
    drop() {
      for (const socket of sockets) {
        try {
          socket.close();
        } catch { /* already closed */ }
      }
    },
    close() {
      this.drop();
      listener.close();
    },
  };
}
