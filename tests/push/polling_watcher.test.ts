import assert from "node:assert/strict";
import { ChangeHub } from "../../src/push/hub.ts";
import { PollingWatcherFactory } from "../../src/push/polling_watcher.ts";

Deno.test("a polled collection wakes a held request within one poll interval of a new token", async () => {
  const tokens = new Map([["dav:/cal/alice/", "ctag-1"]]);
  let probes = 0;
  const factory = new PollingWatcherFactory({
    prefix: "dav:",
    intervalMs: 20,
    probe: (_credentials, key) => {
      probes++;
      return Promise.resolve(tokens.get(key) ?? "");
    },
  });
  const hub = new ChangeHub({ factories: [factory], tickMs: 5, lingerMs: 10 });
  try {
    const credentials = { user: "alice", password: "pw" };
    const keys = ["dav:/cal/alice/"];
    const phone = hub.wait({ user: "alice", device: "p", keys, timeoutMs: 2000, credentials });
    const tablet = hub.wait({ user: "alice", device: "t", keys, timeoutMs: 2000, credentials });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = probes;
    assert.ok(before >= 2 && before <= 5, `one probe per interval for both devices, got ${before}`);
    tokens.set("dav:/cal/alice/", "ctag-2");
    const started = Date.now();
    assert.deepEqual(await phone, { kind: "changed", keys });
    assert.deepEqual(await tablet, { kind: "changed", keys });
    assert.ok(Date.now() - started < 200);
  } finally {
    hub.close();
  }
});

Deno.test("a failing probe marks the watcher unreachable and keeps requests held", async () => {
  const factory = new PollingWatcherFactory({
    prefix: "dav:",
    intervalMs: 10,
    probe: () => Promise.reject(new Error("Connection refused")),
  });
  const hub = new ChangeHub({ factories: [factory], tickMs: 5, lingerMs: 10 });
  try {
    const held = hub.wait({
      user: "bob",
      device: "p",
      keys: ["dav:/card/bob/"],
      timeoutMs: 60,
      credentials: { user: "bob", password: "pw" },
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(hub.status()[0]?.watchers[0]?.state, "unreachable");
    assert.deepEqual(await held, { kind: "expired" });
  } finally {
    hub.close();
  }
});

Deno.test("a change found early in a slow poll round is timed from its own probe's answer", async () => {
  const tokens = new Map([["dav:/cal/alice/", "ctag-1"], ["dav:/card/alice/", "ctag-1"]]);
  const factory = new PollingWatcherFactory({
    prefix: "dav:",
    intervalMs: 30,
    // The address book answers slowly: the round reports both keys only after it.
    probe: async (_credentials, key) => {
      if (key.startsWith("dav:/card/")) await new Promise((resolve) => setTimeout(resolve, 120));
      return tokens.get(key) ?? "";
    },
  });
  const hub = new ChangeHub({ factories: [factory], tickMs: 5, lingerMs: 10 });
  try {
    const credentials = { user: "alice", password: "pw" };
    const keys = ["dav:/cal/alice/", "dav:/card/alice/"];
    const held = hub.wait({ user: "alice", device: "p", keys, timeoutMs: 3000, credentials });
    for (let i = 0; i < 100 && hub.status()[0]?.keys !== 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    tokens.set("dav:/cal/alice/", "ctag-2");
    assert.deepEqual(await held, { kind: "changed", keys: ["dav:/cal/alice/"] });
    const hour = hub.latency.lastHour();
    assert.equal(hour.pushes, 1);
    assert.ok(hour.maxMs! >= 100 && hour.maxMs! < 1000, `latency ${hour.maxMs} ms includes the slow probe`);
  } finally {
    hub.close();
  }
});
