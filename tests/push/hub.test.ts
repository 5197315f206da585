import assert from "node:assert/strict";
import { ChangeHub, type WaitRequest } from "../../src/push/hub.ts";
import type { FolderWatcher, WatchCredentials, WatcherFactory, WatchSink } from "../../src/push/watcher.ts";

/** A watcher factory whose "backend" is the test: it records calls and reports what the test says. */
class ScriptedFactory implements WatcherFactory {
  readonly prefix = "imap:";
  opened: { credentials: WatchCredentials; sink: WatchSink; keys: string[]; closed: boolean }[] = [];

  open(credentials: WatchCredentials, sink: WatchSink): FolderWatcher {
    const record = { credentials, sink, keys: [] as string[], closed: false };
    this.opened.push(record);
    return {
      watch: (keys) => {
        record.keys = [...keys];
      },
      close: () => {
        record.closed = true;
      },
    };
  }

  /** The newest open watcher's sink. */
  get sink(): WatchSink {
    const live = this.opened.filter((o) => !o.closed);
    assert.ok(live.length > 0, "a watcher is open");
    return live[live.length - 1]!.sink;
  }
}

const ALICE = { user: "alice", password: "secret" };

function request(overrides: Partial<WaitRequest> = {}): WaitRequest {
  return {
    user: "alice",
    device: "phone1",
    keys: ["imap:INBOX"],
    timeoutMs: 5_000,
    credentials: ALICE,
    ...overrides,
  };
}

function setup(options: { lingerMs?: number } = {}) {
  const factory = new ScriptedFactory();
  const hub = new ChangeHub({ factories: [factory], tickMs: 10, lingerMs: options.lingerMs ?? 50 });
  return { factory, hub };
}

Deno.test("wait() expires after its timeout when nothing changes", async () => {
  const { hub } = setup();
  try {
    const started = Date.now();
    const outcome = await hub.wait(request({ timeoutMs: 60 }));
    assert.deepEqual(outcome, { kind: "expired" });
    assert.ok(Date.now() - started >= 60);
    assert.equal(hub.stats().held, 0);
  } finally {
    hub.close();
  }
});

Deno.test("a change reported by the watcher wakes the held request with the changed keys", async () => {
  const { hub, factory } = setup();
  try {
    const held = hub.wait(request({ keys: ["imap:INBOX", "imap:Sent"] }));
    factory.sink.changed(["imap:INBOX", "imap:Sent"], ["1.5", "1.9"]);
    assert.equal(hub.stats().held, 1, "first tokens are the baseline, not a change");
    factory.sink.changed(["imap:INBOX", "imap:Sent"], ["1.6", "1.9"]);
    assert.deepEqual(await held, { kind: "changed", keys: ["imap:INBOX"] });
  } finally {
    hub.close();
  }
});

Deno.test("one watcher serves all devices of a user and widens to every pinged folder", async () => {
  const { hub, factory } = setup();
  try {
    const a = hub.wait(request({ device: "phone1", keys: ["imap:INBOX"] }));
    const b = hub.wait(request({ device: "tablet", keys: ["imap:INBOX", "imap:Work"] }));
    assert.equal(factory.opened.length, 1);
    assert.deepEqual(factory.opened[0]!.keys, ["imap:INBOX", "imap:Work"]);
    factory.sink.changed(["imap:INBOX", "imap:Work"], ["a", "b"]);
    factory.sink.changed(["imap:Work"], ["c"]);
    assert.deepEqual(await b, { kind: "changed", keys: ["imap:Work"] });
    assert.equal(hub.stats().held, 1, "the phone watching only INBOX keeps waiting");
    factory.sink.changed(["imap:INBOX"], ["d"]);
    assert.deepEqual(await a, { kind: "changed", keys: ["imap:INBOX"] });
  } finally {
    hub.close();
  }
});

Deno.test("a newer request of the same device supersedes the held one at once", async () => {
  const { hub } = setup();
  try {
    const first = hub.wait(request());
    const second = hub.wait(request({ timeoutMs: 30 }));
    assert.deepEqual(await first, { kind: "superseded" });
    assert.equal(hub.stats().held, 1);
    assert.deepEqual(await second, { kind: "expired" });
  } finally {
    hub.close();
  }
});

Deno.test("kick() ends the held requests of one device or of every device of a user", async () => {
  const { hub } = setup();
  try {
    const phone = hub.wait(request({ device: "phone1" }));
    const tablet = hub.wait(request({ device: "tablet" }));
    assert.equal(hub.kick("alice", "phone1"), 1);
    assert.deepEqual(await phone, { kind: "kicked" });
    assert.equal(hub.stats().held, 1);
    assert.equal(hub.kick("alice"), 1);
    assert.deepEqual(await tablet, { kind: "kicked" });
    assert.equal(hub.kick("nobody"), 0);
  } finally {
    hub.close();
  }
});

Deno.test("an aborted signal ends the held request and frees it", async () => {
  const { hub } = setup();
  try {
    const controller = new AbortController();
    const held = hub.wait(request({ signal: controller.signal }));
    controller.abort();
    assert.deepEqual(await held, { kind: "aborted" });
    assert.equal(hub.stats().held, 0);
  } finally {
    hub.close();
  }
});

Deno.test("a change that lands between two Pings ends the next Ping at once", async () => {
  const { hub, factory } = setup();
  try {
    const first = hub.wait(request({ timeoutMs: 20 }));
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    assert.deepEqual(await first, { kind: "expired" });
    // The phone is between requests when the mail arrives.
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    assert.deepEqual(await hub.wait(request()), { kind: "changed", keys: ["imap:INBOX"] });
    // Told once: the following Ping waits again.
    const third = hub.wait(request({ timeoutMs: 20 }));
    assert.deepEqual(await third, { kind: "expired" });
  } finally {
    hub.close();
  }
});

Deno.test("markSeen() keeps a Ping from waking for changes a Sync already delivered", async () => {
  const { hub, factory } = setup();
  try {
    const first = hub.wait(request({ timeoutMs: 20 }));
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    await first;
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    hub.markSeen("alice", "phone1", ["imap:INBOX"]);
    assert.deepEqual(await hub.wait(request({ timeoutMs: 20 })), { kind: "expired" });
  } finally {
    hub.close();
  }
});

Deno.test("the watcher closes a while after the last request ends, and reopens for the next", async () => {
  const { hub, factory } = setup({ lingerMs: 30 });
  try {
    await hub.wait(request({ timeoutMs: 20 }));
    assert.equal(factory.opened[0]!.closed, false, "still open right after the request");
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(factory.opened[0]!.closed, true);
    assert.equal(hub.stats().users, 0);
    const again = hub.wait(request({ timeoutMs: 20 }));
    assert.equal(factory.opened.length, 2);
    await again;
  } finally {
    hub.close();
  }
});

Deno.test("a device offline while the watcher was closed learns of the change from the first token", async () => {
  const { hub, factory } = setup({ lingerMs: 10 });
  try {
    const first = hub.wait(request({ timeoutMs: 20 }));
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    await first;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(hub.stats().users, 0, "watcher closed");
    const next = hub.wait(request());
    factory.sink.changed(["imap:INBOX"], ["t7"]);
    assert.deepEqual(await next, { kind: "changed", keys: ["imap:INBOX"] });
  } finally {
    hub.close();
  }
});

Deno.test("a slowed request holds its change until minHoldMs has passed", async () => {
  const { hub, factory } = setup();
  try {
    const started = Date.now();
    const held = hub.wait(request({ minHoldMs: 80 }));
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    assert.deepEqual(await held, { kind: "changed", keys: ["imap:INBOX"] });
    assert.ok(Date.now() - started >= 80, "answered no earlier than the hold");
  } finally {
    hub.close();
  }
});

Deno.test("folders no bridge watches are accepted and never wake a request", async () => {
  const { hub, factory } = setup();
  try {
    const outcome = await hub.wait(request({ keys: ["local:calendar"], timeoutMs: 20 }));
    assert.deepEqual(outcome, { kind: "expired" });
    assert.equal(factory.opened.length, 0);
  } finally {
    hub.close();
  }
});

Deno.test("a changed password reopens the user's watcher with the new credentials", async () => {
  const { hub, factory } = setup();
  try {
    const first = hub.wait(request());
    const second = hub.wait(request({ device: "tablet", credentials: { user: "alice", password: "new" } }));
    assert.equal(factory.opened.length, 2);
    assert.equal(factory.opened[0]!.closed, true);
    assert.equal(factory.opened[1]!.credentials.password, "new");
    assert.deepEqual(factory.opened[1]!.keys, ["imap:INBOX"]);
    hub.close();
    assert.deepEqual(await first, { kind: "closed" });
    assert.deepEqual(await second, { kind: "closed" });
  } finally {
    hub.close();
  }
});

Deno.test("watcher state reaches status() so the status page can show an unreachable mailstore", async () => {
  const { hub, factory } = setup();
  try {
    const held = hub.wait(request({ timeoutMs: 20 }));
    factory.sink.state("unreachable", "Connection refused");
    assert.equal(hub.stats().unreachable, 1);
    assert.deepEqual(hub.status()[0]!.watchers, [{
      prefix: "imap:",
      state: "unreachable",
      detail: "Connection refused",
    }]);
    assert.deepEqual(await held, { kind: "expired" }, "held requests keep waiting, no error");
  } finally {
    hub.close();
  }
});

Deno.test("Ping parameters are remembered per device in memory", () => {
  const hub = new ChangeHub();
  hub.rememberPing("alice", "phone1", { folders: [{ id: "1", class: "Email" }], heartbeatSeconds: 480 });
  assert.deepEqual(hub.recallPing("alice", "phone1"), {
    folders: [{ id: "1", class: "Email" }],
    heartbeatSeconds: 480,
  });
  assert.equal(hub.recallPing("alice", "other"), undefined);
  hub.close();
});

Deno.test("remembered devices are bounded, the least recently used forgotten first", () => {
  const hub = new ChangeHub({ maxRememberedDevices: 2 });
  const params = { folders: [], heartbeatSeconds: 60 };
  hub.rememberPing("u", "a", params);
  hub.rememberPing("u", "b", params);
  hub.recallPing("u", "a");
  hub.rememberPing("u", "a", params);
  hub.rememberPing("u", "c", params);
  assert.equal(hub.stats().rememberedDevices, 2);
  assert.equal(hub.recallPing("u", "b"), undefined);
  assert.ok(hub.recallPing("u", "a"));
  hub.close();
});

Deno.test("markSeen() with the Sync's tokens marks only folders whose watcher saw the same state", async () => {
  const { hub, factory } = setup();
  try {
    const keys = ["imap:INBOX", "imap:Sent"];
    const first = hub.wait(request({ keys, timeoutMs: 20 }));
    factory.sink.changed(keys, ["i1", "s1"]);
    await first;
    factory.sink.changed(keys, ["i2", "s2"]);
    // The Sync read INBOX at i2 (current) but Sent at s1: mail reached Sent after its scan.
    hub.markSeen("alice", "phone1", keys, ["i2", "s1"]);
    assert.deepEqual(await hub.wait(request({ keys, timeoutMs: 20 })), {
      kind: "changed",
      keys: ["imap:Sent"],
    });
    factory.sink.changed(keys, ["i3", "s2"]);
    hub.markSeen("alice", "phone1", keys, ["i3", "s2"]);
    assert.deepEqual(await hub.wait(request({ keys, timeoutMs: 20 })), { kind: "expired" });
  } finally {
    hub.close();
  }
});

Deno.test("a push is timed from the watcher's notice to the release of the held request", async () => {
  let t = 1_700_000_000_000;
  const factory = new ScriptedFactory();
  const hub = new ChangeHub({ factories: [factory], tickMs: 10, lingerMs: 50, now: () => t });
  try {
    const first = hub.wait(request());
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    t += 5_000;
    // The watcher heard of the change 120 ms before it had read the new state (EXISTS, then STATUS).
    factory.sink.changed(["imap:INBOX"], ["t2"], [t - 120]);
    assert.equal((await first).kind, "changed");
    const second = hub.wait(request());
    t += 1_000;
    // Without a notice time the call itself is the notice; a notice in the future is not believed.
    factory.sink.changed(["imap:INBOX"], ["t3"], [t + 60_000]);
    assert.equal((await second).kind, "changed");
    const hour = hub.latency.lastHour();
    assert.equal(hour.pushes, 2);
    assert.equal(hour.caughtUp, 0);
    assert.equal(hour.maxMs, 120);
    assert.equal(hour.minutes.at(-1)!.maxMs, 120);
  } finally {
    hub.close();
  }
});

Deno.test("a slowed request's push latency includes the time it was held back", async () => {
  const { hub, factory } = setup();
  try {
    const held = hub.wait(request({ minHoldMs: 80 }));
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    assert.equal((await held).kind, "changed");
    const hour = hub.latency.lastHour();
    assert.equal(hour.pushes, 1);
    assert.ok(hour.maxMs! >= 70 && hour.maxMs! < 2_000, `latency ${hour.maxMs} ms`);
  } finally {
    hub.close();
  }
});

Deno.test("a change that came before the request is counted as caught up; other endings record nothing", async () => {
  const { hub, factory } = setup();
  try {
    const first = hub.wait(request());
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    hub.kick("alice");
    assert.equal((await first).kind, "kicked");
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    assert.equal((await hub.wait(request())).kind, "changed", "the missed change answers at once");
    const superseded = hub.wait(request());
    void hub.wait(request());
    assert.equal((await superseded).kind, "superseded");
    hub.supersede("alice", "phone1");
    assert.equal((await hub.wait(request({ timeoutMs: 30 }))).kind, "expired");
    const hour = hub.latency.lastHour();
    assert.equal(hour.caughtUp, 1);
    assert.equal(hour.pushes, 0);
  } finally {
    hub.close();
  }
});

Deno.test("a hub given another hub's latency recorder keeps recording into it", async () => {
  const { hub: old, factory } = setup();
  const hub = new ChangeHub({ factories: [factory], tickMs: 10, lingerMs: 50, latency: old.latency });
  try {
    old.latency.record(42);
    const held = hub.wait(request());
    factory.sink.changed(["imap:INBOX"], ["t1"]);
    factory.sink.changed(["imap:INBOX"], ["t2"]);
    assert.equal((await held).kind, "changed");
    assert.equal(hub.latency, old.latency);
    assert.equal(hub.latency.lastHour().pushes, 2);
  } finally {
    hub.close();
    old.close();
  }
});
