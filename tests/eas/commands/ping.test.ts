import assert from "node:assert/strict";
import { CompositeBackend } from "../../../src/backend/composite.ts";
import type { CommandContext, EasRequest } from "../../../src/eas/commands/context.ts";
import { parsePing, ping, PING_STATUS } from "../../../src/eas/commands/ping.ts";
import { EasHttpError } from "../../../src/eas/protocol/errors.ts";
import { parseEasQuery } from "../../../src/eas/protocol/query.ts";
import { ChangeHub } from "../../../src/push/hub.ts";
import { heartbeatBounds, PUSH_LIMITS } from "../../../src/push/limits.ts";
import type { PushContext } from "../../../src/push/push_context.ts";
import { StormGuard } from "../../../src/push/storm_guard.ts";
import type { FolderWatcher, WatcherFactory, WatchSink } from "../../../src/push/watcher.ts";
import { Store } from "../../../src/store/mod.ts";
import { childrenNamed, childText, el, textEl, type WbxmlElement } from "../../../src/wbxml/mod.ts";

/** Watchers whose changes the test reports by hand. */
class HandFactory implements WatcherFactory {
  readonly prefix = "imap:";
  sinks: WatchSink[] = [];
  open(_credentials: unknown, sink: WatchSink): FolderWatcher {
    this.sinks.push(sink);
    return { watch() {}, close() {} };
  }
}

interface Setup {
  store: Store;
  push: PushContext;
  factory: HandFactory;
  inbox: string;
  sent: string;
  context(deviceId?: string, signal?: AbortSignal): CommandContext;
  close(): void;
}

function setup(options: { storm?: StormGuard; adminMax?: number } = {}): Setup {
  const store = Store.open(":memory:");
  const factory = new HandFactory();
  const push: PushContext = {
    hub: new ChangeHub({ factories: [factory], tickMs: 10, lingerMs: 50 }),
    storm: options.storm ?? new StormGuard(),
    heartbeat: heartbeatBounds(options.adminMax),
  };
  const inbox = store.folders.serverIdFor("alice", "imap:INBOX");
  const sent = store.folders.serverIdFor("alice", "imap:Sent");
  store.folders.serverIdFor("bob", "imap:INBOX");
  return {
    store,
    push,
    factory,
    inbox,
    sent,
    context(deviceId = "phone1", signal = new AbortController().signal) {
      const device = store.devices.sighted({
        user: "alice",
        deviceId,
        deviceType: "iPhone",
        userAgent: "test",
        protocolVersion: "16.1",
      });
      return {
        user: "alice",
        credentials: { user: "alice", password: "pw" },
        device,
        protocolVersion: "16.1",
        store,
        backend: new CompositeBackend([]),
        signal,
        push,
      };
    },
    close() {
      push.hub.close();
      store.close();
    },
  };
}

function pingBody(heartbeat?: number | string, ids?: string[]): WbxmlElement {
  return el(
    "Ping",
    "Ping",
    heartbeat !== undefined && textEl("Ping", "HeartbeatInterval", heartbeat),
    ids && el(
      "Ping",
      "Folders",
      ...ids.map((id) => el("Ping", "Folder", textEl("Ping", "Id", id), textEl("Ping", "Class", "Email"))),
    ),
  );
}

function request(body: WbxmlElement | undefined): EasRequest {
  return {
    body,
    raw: new Uint8Array(),
    contentType: "application/vnd.ms-sync.wbxml",
    query: parseEasQuery("?Cmd=Ping&User=alice&DeviceId=phone1&DeviceType=iPhone"),
    headers: new Headers(),
  };
}

const statusOf = (body: WbxmlElement | undefined) => Number(childText(body, "Status"));
const foldersOf = (body: WbxmlElement | undefined) =>
  childrenNamed(childrenNamed(body, "Folders")[0], "Folder").map((f) => f.text);
const totalChanges = (store: Store) => store.db.get<{ n: number }>("SELECT total_changes() AS n")!.n;

/** The hub holds a Ping for heartbeat minus a few seconds; tests shorten that by answering from outside. */
async function heldThen<T>(pending: Promise<T>, act: () => void): Promise<T> {
  await new Promise((resolve) => setTimeout(resolve, 20));
  act();
  return await pending;
}

Deno.test("Ping answers Status 2 with the changed folder when the watcher reports a change", async () => {
  const s = setup();
  try {
    const pending = ping(request(pingBody(480, [s.inbox, s.sent])), s.context());
    const response = await heldThen(pending, () => {
      s.factory.sinks[0]!.changed(["imap:INBOX", "imap:Sent"], ["1", "1"]);
      s.factory.sinks[0]!.changed(["imap:INBOX"], ["2"]);
    });
    assert.equal(statusOf(response.body), PING_STATUS.ChangesFound);
    assert.deepEqual(foldersOf(response.body), [s.inbox]);
  } finally {
    s.close();
  }
});

Deno.test("Ping answers Status 1 when a newer Ping of the same device supersedes it", async () => {
  const s = setup();
  try {
    const first = ping(request(pingBody(480, [s.inbox])), s.context());
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = ping(request(pingBody(480, [s.inbox])), s.context());
    assert.equal(statusOf((await first).body), PING_STATUS.Expired);
    assert.equal(s.push.hub.stats().held, 1);
    s.push.hub.kick("alice", "phone1");
    const kicked = await second;
    assert.equal(statusOf(kicked.body), PING_STATUS.ChangesFound, "kick answers with the changes status");
    assert.deepEqual(foldersOf(kicked.body), [s.inbox]);
  } finally {
    s.close();
  }
});

Deno.test("an empty Ping repeats the device's previous folders and heartbeat", async () => {
  const s = setup();
  try {
    const first = ping(request(pingBody(300, [s.sent])), s.context());
    await heldThen(first, () => s.push.hub.kick("alice"));
    const repeat = ping(request(undefined), s.context());
    const response = await heldThen(repeat, () => {
      s.factory.sinks[0]!.changed(["imap:Sent"], ["a"]);
      s.factory.sinks[0]!.changed(["imap:Sent"], ["b"]);
    });
    assert.deepEqual(foldersOf(response.body), [s.sent]);
    assert.deepEqual(s.push.hub.recallPing("alice", "phone1")?.heartbeatSeconds, 300);
  } finally {
    s.close();
  }
});

Deno.test("Ping Status 3 when nothing is given and nothing is remembered", async () => {
  const s = setup();
  try {
    assert.equal(
      statusOf((await ping(request(undefined), s.context("new"))).body),
      PING_STATUS.MissingParameters,
    );
    assert.equal(statusOf((await ping(request(pingBody(480)), s.context("new"))).body), 3);
  } finally {
    s.close();
  }
});

Deno.test("Ping Status 4 for a body that is not a Ping or a heartbeat that is not a number", async () => {
  const s = setup();
  try {
    const wrong = el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0"));
    assert.equal(statusOf((await ping(request(wrong), s.context())).body), PING_STATUS.SyntaxError);
    assert.equal(statusOf((await ping(request(pingBody("soon", [s.inbox])), s.context())).body), 4);
    assert.equal(parsePing(el("Ping", "Ping", el("Ping", "Folders", el("Ping", "Folder")))), "syntax");
  } finally {
    s.close();
  }
});

Deno.test("Ping Status 5 names the bound the heartbeat crossed, including an admin maximum", async () => {
  const s = setup({ adminMax: 900 });
  try {
    const low = (await ping(request(pingBody(30, [s.inbox])), s.context())).body;
    assert.equal(statusOf(low), PING_STATUS.HeartbeatOutOfBounds);
    assert.equal(childText(low, "HeartbeatInterval"), String(PUSH_LIMITS.heartbeatMinSeconds));
    const high = (await ping(request(pingBody(1800, [s.inbox])), s.context())).body;
    assert.equal(statusOf(high), 5);
    assert.equal(childText(high, "HeartbeatInterval"), "900");
  } finally {
    s.close();
  }
});

Deno.test("Ping Status 6 names MaxFolders when too many folders are pinged", async () => {
  const s = setup();
  try {
    const ids = Array.from({ length: PUSH_LIMITS.pingMaxFolders + 1 }, (_, i) => String(i + 1));
    const body = (await ping(request(pingBody(480, ids)), s.context())).body;
    assert.equal(statusOf(body), PING_STATUS.TooManyFolders);
    assert.equal(childText(body, "MaxFolders"), String(PUSH_LIMITS.pingMaxFolders));
  } finally {
    s.close();
  }
});

Deno.test("Ping Status 7 for a folder id the user does not own", async () => {
  const s = setup();
  try {
    const body = (await ping(request(pingBody(480, [s.inbox, "999"])), s.context())).body;
    assert.equal(statusOf(body), PING_STATUS.FolderSyncRequired);
  } finally {
    s.close();
  }
});

Deno.test("a quiet Ping that ends without changes writes nothing to SQLite", async () => {
  const s = setup();
  try {
    // Warm up: the first request of a device records it; Pings after that must not write.
    s.context();
    const before = totalChanges(s.store);
    const pending = ping(request(pingBody(60, [s.inbox])), s.context());
    const response = await heldThen(pending, () => s.push.hub.supersede("alice", "phone1"));
    assert.equal(statusOf(response.body), PING_STATUS.Expired);
    const empty = ping(request(undefined), s.context());
    await heldThen(empty, () => s.push.hub.supersede("alice", "phone1"));
    assert.equal(totalChanges(s.store), before, "no rows changed");
  } finally {
    s.close();
  }
});

Deno.test("a device in a Ping storm is held before answering, then refused with 503 and X-MS-ASThrottle", async () => {
  const storm = new StormGuard({ slowAfter: 2, throttleAfter: 3, holdMs: 60 });
  const s = setup({ storm });
  try {
    for (let i = 0; i < 2; i++) {
      const pending = ping(request(pingBody(480, [s.inbox])), s.context());
      await heldThen(pending, () => s.push.hub.kick("alice"));
    }
    const started = Date.now();
    const slowed = ping(request(pingBody(480, [s.inbox])), s.context());
    await new Promise((resolve) => setTimeout(resolve, 5));
    s.factory.sinks.at(-1)!.changed(["imap:INBOX"], ["1"]);
    s.factory.sinks.at(-1)!.changed(["imap:INBOX"], ["2"]);
    assert.equal(statusOf((await slowed).body), PING_STATUS.ChangesFound);
    assert.ok(Date.now() - started >= 60, "held for the storm hold time");
    await assert.rejects(
      () => ping(request(pingBody(480, [s.inbox])), s.context()),
      (error: unknown) =>
        error instanceof EasHttpError && error.httpStatus === 503 &&
        error.headers["X-MS-ASThrottle"] === "CommandFrequency" && Number(error.headers["Retry-After"]) > 0,
    );
  } finally {
    s.close();
  }
});

Deno.test("Ping answers Status 1 when the client goes away", async () => {
  const s = setup();
  try {
    const controller = new AbortController();
    const pending = ping(request(pingBody(480, [s.inbox])), s.context("phone1", controller.signal));
    const response = await heldThen(pending, () => controller.abort());
    assert.equal(statusOf(response.body), PING_STATUS.Expired);
    assert.equal(s.push.hub.stats().held, 0);
  } finally {
    s.close();
  }
});
