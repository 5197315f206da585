import assert from "node:assert/strict";
import {
  DEFAULT_USERS,
  type HarnessUser,
  type Mailstore,
  SPECIAL_USE_MAILBOXES,
  startMailstore,
} from "./mod.ts";
import { imapCommand, messageCount } from "./imap_peek.ts";
import { dataBlock, Wire } from "./_wire.ts";
import { freePort, freePorts } from "./free_port.ts";
import { DEMO_MESSAGES_PER_USER, seedDemoMail } from "./seed.ts";
import { seedDemoDav } from "./seed_dav.ts";
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

Deno.test("startMailstore() starts Dovecot and Postfix within seconds", async () => {
  const started = Date.now();
  await withStore({}, async (store) => {
    // Typically 0.2 s; the bound leaves room for a busy two-core CI machine.
    assert.ok(Date.now() - started < 5000, `startup took ${Date.now() - started} ms`);
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

/** Submits one message as `user` through Dovecot submission, optionally after STARTTLS. */
async function submit(
  store: Mailstore,
  user: { name: string; password: string; email: string },
  to: string,
  message: string,
  tls: boolean,
): Promise<void> {
  const wire = new Wire(await Deno.connect({ hostname: "127.0.0.1", port: store.submissionPort }));
  try {
    await wire.expect([220], "connect");
    let ehlo = await wire.command("EHLO client.example.test", [250]);
    if (tls) {
      assert.match(ehlo, /STARTTLS/);
      await wire.command("STARTTLS", [220]);
      await wire.startTls([store.caPem]);
      ehlo = await wire.command("EHLO client.example.test", [250]);
    }
    assert.match(ehlo, /AUTH .*PLAIN/);
    await wire.command(`AUTH PLAIN ${btoa(`\0${user.name}\0${user.password}`)}`, [235]);
    await wire.command(`MAIL FROM:<${user.email}>`, [250]);
    await wire.command(`RCPT TO:<${to}>`, [250]);
    await wire.command("DATA", [354]);
    await wire.write(dataBlock(message));
    await wire.expect([250], "DATA");
    await wire.command("QUIT", [221]);
  } finally {
    wire.close();
  }
}

/** Polls until `user` has `count` messages in INBOX (relayed mail arrives asynchronously). */
async function waitForCount(store: Mailstore, user: string, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen = await messageCount(store, user);
  while (seen < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = await messageCount(store, user);
  }
  assert.equal(seen, count, `${user} has ${seen} messages`);
}

Deno.test("submission relays through Postfix into the recipient's INBOX, with and without TLS", async () => {
  await withStore({}, async (store) => {
    const [alice, bob] = store.users as [HarnessUser, HarnessUser];
    const message = (subject: string) =>
      `From: <${alice.email}>\r\nTo: <${bob.email}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.test>\r\n\r\nHi Bob\r\n`;
    await submit(store, alice, bob.email, message("plain"), false);
    await waitForCount(store, "bob", 1);
    await submit(store, alice, bob.email, message("tls"), true);
    await waitForCount(store, "bob", 2);
    // Outside domains are accepted and discarded by Postfix.
    await submit(store, alice, "someone@elsewhere.invalid", message("outside"), false);
    const transcript = await imapCommand(store, "bob", [
      "SELECT INBOX",
      "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])",
    ]);
    assert.match(transcript, /Subject: plain/);
    assert.match(transcript, /Subject: tls/);
  });
});

Deno.test("Radicale answers an authenticated PROPFIND and refuses a missing password", async () => {
  await withStore({ dav: true, postfix: false, sieve: false }, async (store) => {
    assert.ok(store.davUrl);
    const alice = store.users[0]!;
    const propfind = (headers: Record<string, string>) =>
      fetch(new URL(`${alice.name}/`, store.davUrl), {
        method: "PROPFIND",
        headers: { Depth: "0", "Content-Type": "application/xml", ...headers },
        body: '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>',
      });
    const denied = await propfind({});
    await denied.body?.cancel();
    assert.equal(denied.status, 401);
    const ok = await propfind({ Authorization: `Basic ${btoa(`${alice.name}:${alice.password}`)}` });
    const body = await ok.text();
    assert.equal(ok.status, 207, body);
    assert.match(body, new RegExp(`/${alice.name}/`));
  });
});

Deno.test("seedDemoMail() fills every INBOX with plain, HTML, attachment and Latin-1 messages", async () => {
  await withStore({ postfix: false }, async (store) => {
    await seedDemoMail(store);
    for (const user of store.users) {
      assert.equal(await messageCount(store, user.name), DEMO_MESSAGES_PER_USER);
    }
    const transcript = await imapCommand(store, "carol", [
      "SELECT INBOX",
      "FETCH 1:5 (BODYSTRUCTURE)",
      "FETCH 4 BODY.PEEK[TEXT]",
    ]);
    assert.match(transcript, /"text" "html"/i);
    assert.match(transcript, /"image" "png"/i);
    assert.match(transcript, /"charset" "iso-8859-1"/i);
    // é in ISO-8859-1 is the single byte E9, which decodes as U+FFFD in the UTF-8 transcript.
    assert.match(transcript, /r\uFFFDunion/);
  });
});

Deno.test("seedDemoDav() creates calendars, tasks and address books in Radicale", async () => {
  const store = await startMailstore({ dav: true, postfix: false, sieve: false });
  try {
    await seedDemoDav(store);
    const alice = store.users[0]!;
    const list = async (path: string) => {
      const response = await fetch(new URL(path, store.davUrl), {
        method: "PROPFIND",
        headers: { "Authorization": "Basic " + btoa(`${alice.name}:${alice.password}`), "Depth": "1" },
      });
      const text = await response.text();
      return [...text.matchAll(/<(?:[a-zA-Z]+:)?href>([^<]+)<\//g)].map((m) => m[1]!).filter((h) =>
        !h.endsWith("/")
      );
    };
    assert.equal((await list(`/${alice.name}/calendar/`)).length, 3);
    assert.equal((await list(`/${alice.name}/tasks/`)).length, 2);
    assert.equal((await list(`/${alice.name}/contacts/`)).length, store.users.length - 1);
  } finally {
    await store.stop();
  }
});
