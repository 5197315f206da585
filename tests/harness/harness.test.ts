import assert from "node:assert/strict";
import { DEFAULT_USERS, type Mailstore, SPECIAL_USE_MAILBOXES, startMailstore } from "./mod.ts";
import { imapCommand, messageCount } from "./imap_peek.ts";
import { Wire } from "./_wire.ts";
import { freePort, freePorts } from "./free_port.ts";
import { portAccepts } from "./_process.ts";

/** Runs `body` against a fresh store and always stops it. */
async function withStore(
  options: Parameters<typeof startMailstore>[0],
  body: (store: Mailstore) => Promise<void>,
): Promise<void> {
  const store = await startMailstore(options);
  try {
    await body(store);
  } finally {
    await store.stop();
  }
}

Deno.test("freePorts() returns distinct ports that can be bound", () => {
  const ports = freePorts(5);
  assert.equal(new Set(ports).size, 5);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: freePort() });
  listener.close();
});

Deno.test("startMailstore() starts Dovecot alone in under two seconds", async () => {
  const started = Date.now();
  await withStore({ postfix: false }, async (store) => {
    assert.ok(Date.now() - started < 2000, `startup took ${Date.now() - started} ms`);
    assert.equal(store.imapUrl, `imap://127.0.0.1:${store.imapPort}`);
    assert.equal(store.imapsUrl, `imaps://127.0.0.1:${store.imapsPort}`);
    assert.equal(store.smtpUrl, `smtp://127.0.0.1:${store.submissionPort}`);
    assert.equal(store.davUrl, undefined);
    for (
      const port of [store.imapPort, store.imapsPort, store.submissionPort, store.lmtpPort, store.sievePort]
    ) {
      assert.ok(await portAccepts(port), `port ${port} is closed`);
    }
  });
});

Deno.test("IMAP offers STARTTLS with the harness certificate and CONDSTORE, QRESYNC, NOTIFY after login", async () => {
  await withStore({ postfix: false }, async (store) => {
    const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port: store.imapPort }));
    try {
      const greeting = await wire.readLine();
      assert.match(greeting, /^\* OK .*STARTTLS/);
      await wire.write("t1 STARTTLS\r\n");
      assert.match(await wire.readLine(), /^t1 OK/);
      await wire.startTls([store.caPem]);
      await wire.write(`t2 LOGIN alice ${DEFAULT_USERS[0]!.password}\r\n`);
      assert.match(await wire.readLine(), /^t2 OK/);
    } finally {
      wire.close();
    }
    const transcript = await imapCommand(store, "alice", ["CAPABILITY"]);
    const capability = transcript.split("\r\n").find((line) => line.startsWith("* CAPABILITY")) ?? "";
    for (
      const name of ["IMAP4rev1", "CONDSTORE", "QRESYNC", "NOTIFY", "SPECIAL-USE", "IDLE", "UIDPLUS", "MOVE"]
    ) {
      assert.ok(capability.split(" ").includes(name), `${name} missing from "${capability}"`);
    }
  });
});

Deno.test("IMAPS accepts TLS logins with the harness certificate", async () => {
  await withStore({ postfix: false, sieve: false }, async (store) => {
    const wire = new Wire(
      await Deno.connectTls({ hostname: "127.0.0.1", port: store.imapsPort, caCerts: [store.caPem] }),
    );
    try {
      assert.match(await wire.readLine(), /^\* OK/);
      await wire.write(`t1 LOGIN bob ${DEFAULT_USERS[1]!.password}\r\n`);
      assert.match(await wire.readLine(), /^t1 OK/);
    } finally {
      wire.close();
    }
  });
});

Deno.test("special-use mailboxes exist and are subscribed for every user", async () => {
  await withStore({ postfix: false }, async (store) => {
    for (const user of store.users) {
      const transcript = await imapCommand(store, user.name, ['LIST (SUBSCRIBED SPECIAL-USE) "" "*"']);
      for (const [name, use] of Object.entries(SPECIAL_USE_MAILBOXES)) {
        const line = transcript.split("\r\n").find((candidate) => candidate.endsWith(` ${name}`)) ?? "";
        assert.ok(
          line.includes(use) && line.includes("\\Subscribed"),
          `${user.name}: ${name} in\n${transcript}`,
        );
      }
    }
  });
});

Deno.test("deliver() seeds mail by login name and by email and rejects unknown recipients", async () => {
  await withStore({ postfix: false }, async (store) => {
    await store.deliver("bob", "From: a@example.test\r\nSubject: one\r\n\r\n.leading dot\r\n");
    await store.deliver("bob@example.test", "From: a@example.test\nSubject: two\n\nbare LF body\n");
    assert.equal(await messageCount(store, "bob"), 2);
    assert.equal(await messageCount(store, "alice"), 0);
    const transcript = await imapCommand(store, "bob", ["SELECT INBOX", "FETCH 1 BODY[TEXT]"]);
    assert.match(transcript, /\r\n\.leading dot\r\n/);
    await assert.rejects(() => store.deliver("nobody@example.test", "Subject: x\r\n\r\nx\r\n"), /550/);
    await assert.rejects(
      () => store.deliver("nobody", "Subject: x\r\n\r\nx\r\n"),
      /Unknown harness user "nobody"/,
    );
  });
});

Deno.test("startMailstore() rejects users whose email does not match the login", async () => {
  await assert.rejects(
    () => startMailstore({ users: [{ name: "dave", password: "x", email: "david@example.test" }] }),
    /Email "david@example.test" must have the login "dave" as its local part/,
  );
});

Deno.test("ManageSieve greets with its SIEVE capability", async () => {
  await withStore({ postfix: false }, async (store) => {
    const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port: store.sievePort }));
    try {
      const lines: string[] = [];
      for (let line = await wire.readLine(); !line.startsWith("OK"); line = await wire.readLine()) {
        lines.push(line);
      }
      assert.ok(lines.some((line) => line.startsWith('"SIEVE"')), lines.join("\n"));
    } finally {
      wire.close();
    }
  });
});

Deno.test("stop() ends every server process and removes the temp dir", async () => {
  const store = await startMailstore({ dav: true });
  const pids = descendants(store.processes.map((process) => process.pid));
  assert.ok(pids.length > store.processes.length, `only ${pids.length} processes found`);
  await store.stop();
  const alive = pids.filter((pid) => isAlive(pid));
  assert.deepEqual(alive, []);
  await assert.rejects(() => Deno.stat(store.dir), Deno.errors.NotFound);
  assert.equal(await portAccepts(store.imapPort), false);
  await store.stop();
});

/** `roots` and all their descendants, from /proc. */
function descendants(roots: number[]): number[] {
  const parents = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(Number(entry.name), ppid);
    } catch {
      // Exited while listing.
    }
  }
  const found = new Set(roots);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (found.has(ppid) && !found.has(pid)) {
        found.add(pid);
        grew = true;
      }
    }
  }
  return [...found];
}

/** True when `pid` exists and is not a zombie. */
function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
