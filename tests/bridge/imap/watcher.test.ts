import assert from "node:assert/strict";
import { ImapConnectionPool } from "../../../src/bridge/imap/connection_pool.ts";
import { ImapClient } from "../../../src/bridge/imap/imap_client.ts";
import { ImapMailBackend } from "../../../src/bridge/imap/mail_backend.ts";
import { ImapWatcherFactory } from "../../../src/bridge/imap/watcher.ts";
import { silentLogger } from "../../../src/log/logger.ts";
import { ChangeHub } from "../../../src/push/hub.ts";
import { type Mailstore, startMailstore } from "../../harness/mod.ts";

const MAIL = "From: a@example.com\r\nTo: b@example.com\r\nSubject: push\r\n\r\nhello\r\n";

async function withMailstore(fn: (store: Mailstore) => Promise<void>): Promise<void> {
  const store = await startMailstore({ dav: false, postfix: false, sieve: false });
  try {
    await fn(store);
  } finally {
    await store.stop();
  }
}

function factoryFor(
  store: Mailstore,
  options: Partial<ConstructorParameters<typeof ImapWatcherFactory>[0]> = {},
) {
  const url = new URL(store.imapUrl);
  return new ImapWatcherFactory({
    url: { implicitTls: false, hostname: url.hostname, port: Number(url.port), href: store.imapUrl },
    caCerts: [store.caPem],
    log: silentLogger,
    ...options,
  });
}

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`Condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function appendTo(store: Mailstore, mailbox: string): Promise<void> {
  const user = store.users[0]!;
  const client = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
  await client.login(user.name, user.password);
  await client.append(mailbox, new TextEncoder().encode(MAIL));
  await client.logout();
}

for (const mode of ["NOTIFY", "IDLE and STATUS polling"] as const) {
  Deno.test(`the IMAP watcher (${mode}) wakes held Pings of all devices on one connection`, async () => {
    await withMailstore(async (store) => {
      const user = store.users[0]!;
      const factory = factoryFor(store, mode === "NOTIFY" ? {} : { disableNotify: true, statusPollMs: 300 });
      const hub = new ChangeHub({ factories: [factory], lingerMs: 100 });
      try {
        const credentials = { user: user.name, password: user.password };
        const keys = ["imap:INBOX", "imap:Sent"];
        const wait = (device: string) =>
          hub.wait({ user: user.name, device, keys, timeoutMs: 20_000, credentials });
        const phone = wait("phone");
        const tablet = wait("tablet");
        await waitFor(() => hub.status()[0]?.watchers[0]?.state === "watching", 5000);
        await new Promise((resolve) => setTimeout(resolve, 100));

        const delivered = Date.now();
        await store.deliver(user.name, MAIL);
        assert.deepEqual(await phone, { kind: "changed", keys: ["imap:INBOX"] });
        assert.deepEqual(await tablet, { kind: "changed", keys: ["imap:INBOX"] });
        assert.ok(Date.now() - delivered < 2000, `woken ${Date.now() - delivered} ms after delivery`);

        const next = wait("phone");
        await new Promise((resolve) => setTimeout(resolve, 100));
        await appendTo(store, "Sent");
        assert.deepEqual(await next, { kind: "changed", keys: ["imap:Sent"] });
        assert.equal(factory.opened, 1, "one watcher connection for the user");
      } finally {
        hub.close();
        await waitFor(() => factory.live === 0, 1000);
      }
    });
  });
}

Deno.test("the IMAP watcher keeps Pings held while the mailstore is unreachable and reconnects", async () => {
  await withMailstore(async (store) => {
    const user = store.users[0]!;
    let attempts = 0;
    const factory = factoryFor(store, {
      connect: async (credentials) => {
        attempts++;
        if (attempts < 2) throw new Error("Connection refused");
        const client = await ImapClient.connect({ url: store.imapUrl, tls: { caCerts: [store.caPem] } });
        await client.login(credentials.user, credentials.password);
        return client;
      },
    });
    const hub = new ChangeHub({ factories: [factory], lingerMs: 100 });
    try {
      const held = hub.wait({
        user: user.name,
        device: "phone",
        keys: ["imap:INBOX"],
        timeoutMs: 20_000,
        credentials: { user: user.name, password: user.password },
      });
      await waitFor(() => hub.status()[0]?.watchers[0]?.state === "unreachable", 2000);
      assert.equal(hub.stats().held, 1, "the Ping still waits");
      await waitFor(() => hub.status()[0]?.watchers[0]?.state === "watching", 5000);
      await store.deliver(user.name, MAIL);
      assert.deepEqual(await held, { kind: "changed", keys: ["imap:INBOX"] });
    } finally {
      hub.close();
    }
  });
});

/** Established client connections to the mailstore's IMAP port, as the kernel sees them. */
async function imapConnections(port: number): Promise<number> {
  const out = await new Deno.Command("ss", {
    args: ["-Htn", "state", "established", `( dport = :${port} )`],
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
}

for (const mode of ["NOTIFY", "IDLE and STATUS polling"] as const) {
  Deno.test(`the IMAP watcher (${mode}) shares the pool's connection while Syncs run and still wakes within 2 s`, async () => {
    await withMailstore(async (store) => {
      const user = store.users[0]!;
      const credentials = { user: user.name, password: user.password };
      const url = new URL(store.imapUrl);
      const pool = new ImapConnectionPool({
        url: { implicitTls: false, hostname: url.hostname, port: Number(url.port), href: store.imapUrl },
        caCerts: [store.caPem],
        log: silentLogger,
      });
      const factory = factoryFor(store, {
        pool,
        ...(mode === "NOTIFY" ? {} : { disableNotify: true, statusPollMs: 300 }),
      });
      const hub = new ChangeHub({ factories: [factory], lingerMs: 100 });
      const backend = new ImapMailBackend(pool, credentials);
      let syncing = true;
      let scans = 0;
      // Sync-like work on the same connection, on INBOX and another folder, for as long as the test runs.
      const syncs = (async () => {
        while (syncing) {
          for (const key of ["imap:INBOX", "imap:Sent"]) {
            await backend.scan(key, undefined, undefined);
            await backend.folderCursor(key);
            scans++;
          }
        }
      })();
      try {
        await appendTo(store, "Sent");
        for (let round = 0; round < 3; round++) {
          const held = hub.wait({
            user: user.name,
            device: "phone",
            keys: ["imap:INBOX", "imap:Sent"],
            timeoutMs: 20_000,
            credentials,
          });
          await waitFor(
            () => hub.status()[0]?.watchers[0]?.state === "watching" && scans > round * 4 + 2,
            5000,
          );
          // Only the box's pool connection plus nothing else of ours: appendTo logged out already.
          assert.equal(await imapConnections(store.imapPort), 1, "one IMAP connection for the user");
          const delivered = Date.now();
          await store.deliver(user.name, MAIL);
          assert.deepEqual(await held, { kind: "changed", keys: ["imap:INBOX"] });
          assert.ok(Date.now() - delivered < 2000, `woken ${Date.now() - delivered} ms after delivery`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(pool.opened, 1, "the pool opened one connection");
        assert.equal(factory.opened, 0, "the watcher opened none of its own");
      } finally {
        syncing = false;
        await syncs.catch(() => {});
        hub.close();
        await waitFor(() => factory.live === 0, 1000);
        await pool.close();
      }
    });
  });
}
