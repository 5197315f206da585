import assert from "node:assert/strict";
import { CompositeBackend } from "../../../src/backend/composite.ts";
import type {
  ContentStream,
  EmailOptions,
  FetchedEmail,
  FolderScan,
  ItemState,
  MailBackend,
  MailChange,
} from "../../../src/backend/mail.ts";
import type { BackendFolder, FolderSource } from "../../../src/backend/types.ts";
import type { CommandContext, EasRequest, EasResponse } from "../../../src/eas/commands/context.ts";
import { getItemEstimate } from "../../../src/eas/commands/get_item_estimate.ts";
import { sync } from "../../../src/eas/commands/sync.ts";
import type { Email } from "../../../src/eas/model/email.ts";
import { parseEasQuery } from "../../../src/eas/protocol/query.ts";
import { ChangeHub } from "../../../src/push/hub.ts";
import { heartbeatBounds } from "../../../src/push/limits.ts";
import { StormGuard } from "../../../src/push/storm_guard.ts";
import type { WatchSink } from "../../../src/push/watcher.ts";
import { Store } from "../../../src/store/mod.ts";
import { decode, encodeStream } from "../../../src/wbxml/mod.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../../src/wbxml/tree.ts";

const AS = "AirSync";
const NOW = Date.UTC(2026, 10, 21);

/** A mail folder in memory: the MailBackend contract without IMAP, for the command's own logic. */
class MemoryMail implements FolderSource, MailBackend {
  readonly prefix = "imap:";
  readonly kind = "mail" as const;
  messages = new Map<string, { subject: string; flags: string[]; date: number }>();
  listFolders(): Promise<BackendFolder[]> {
    return Promise.resolve([{ key: "imap:INBOX", parentKey: null, displayName: "Inbox", type: 2 }]);
  }
  put(id: string, subject: string, daysAgo = 1) {
    this.messages.set(id, { subject, flags: [], date: NOW - daysAgo * 86_400_000 });
  }
  #state(id: string): ItemState {
    const m = this.messages.get(id)!;
    return { id, token: m.flags.sort().join(" "), date: m.date };
  }
  folderCursor(): Promise<string> {
    return Promise.resolve(JSON.stringify([...this.messages]));
  }
  scan(): Promise<FolderScan> {
    return Promise.resolve({
      cursor: JSON.stringify([...this.messages]),
      reset: false,
      full: true,
      items: [...this.messages.keys()].map((id) => this.#state(id)),
      vanished: [],
    });
  }
  async *fetchEmails(_key: string, ids: string[], options: EmailOptions): AsyncIterable<FetchedEmail> {
    for (const id of ids) {
      const m = this.messages.get(id);
      if (!m) continue;
      const email: Email = options.changeOnly ? { read: m.flags.includes("\\Seen") } : {
        subject: m.subject,
        read: m.flags.includes("\\Seen"),
        body: { type: 1, data: `body of ${m.subject}` },
      };
      yield { id, email, state: this.#state(id) };
    }
  }
  fetchMime(): Promise<ContentStream | undefined> {
    return Promise.resolve(undefined);
  }
  fetchAttachment(): Promise<ContentStream | undefined> {
    return Promise.resolve(undefined);
  }
  changeMessage(_key: string, id: string, change: MailChange): Promise<ItemState | undefined> {
    const m = this.messages.get(id);
    if (!m) return Promise.resolve(undefined);
    if (change.read !== undefined) {
      m.flags = m.flags.filter((f) => f !== "\\Seen").concat(change.read ? ["\\Seen"] : []);
    }
    return Promise.resolve(this.#state(id));
  }
  deleteMessage(_key: string, id: string): Promise<boolean> {
    return Promise.resolve(this.messages.delete(id));
  }
  addDraft(): Promise<ItemState> {
    return Promise.reject(new Error("Drafts are not part of this test"));
  }
  moveConversation(): Promise<number> {
    // Not exercised by these command tests (ItemOperations Move runs in the integration test).
    return Promise.resolve(0);
  }
  emptyFolder(): Promise<void> {
    this.messages.clear();
    return Promise.resolve();
  }
}

let devices = 0;

function setup() {
  const store = Store.open(":memory:");
  const mail = new MemoryMail();
  const device = store.devices.sighted({
    user: "alice",
    deviceId: `D${++devices}`,
    deviceType: "iPhone",
    userAgent: "",
    protocolVersion: "14.1",
  });
  const inbox = store.folders.serverIdFor("alice", "imap:INBOX");
  const ctx: CommandContext = {
    user: "alice",
    credentials: { user: "alice", password: "x" },
    device,
    protocolVersion: "14.1",
    store,
    backend: new CompositeBackend([mail]),
    signal: new AbortController().signal,
  };
  const request = (body: WbxmlElement | undefined, command = "Sync"): EasRequest => ({
    body,
    raw: new Uint8Array(),
    contentType: "application/vnd.ms-sync.wbxml",
    query: parseEasQuery(`?Cmd=${command}&User=alice&DeviceId=D1&DeviceType=iPhone`),
    headers: new Headers(),
  });
  return { store, mail, ctx, inbox, request };
}

/**
 * Runs sync() and reads a streamed response (mail windows are written item by
 * item) back into a tree, so the assertions below read both forms alike.
 */
async function syncRead(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const response = await sync(request, ctx);
  if (!response.stream) return response;
  const bytes = new Uint8Array(await new Response(encodeStream(response.stream)).arrayBuffer());
  return { body: decode(bytes) };
}

function syncBody(collectionId: string, key: string, ...extra: (WbxmlElement | undefined)[]): WbxmlElement {
  return el(
    AS,
    "Sync",
    el(
      AS,
      "Collections",
      el(AS, "Collection", textEl(AS, "SyncKey", key), textEl(AS, "CollectionId", collectionId), ...extra),
    ),
  );
}

function collection(body: WbxmlElement | undefined) {
  const c = child(child(body, "Collections", AS), "Collection", AS);
  return {
    status: childText(c, "Status", AS),
    key: childText(c, "SyncKey", AS) ?? "",
    more: child(c, "MoreAvailable", AS) !== undefined,
    commands: (child(c, "Commands", AS)?.children ?? []).map((x) =>
      `${x.name}:${childText(x, "ServerId", AS)}`
    ),
    responses: (child(c, "Responses", AS)?.children ?? []).map((x) =>
      `${x.name}:${childText(x, "ServerId", AS)}:${childText(x, "Status", AS)}`
    ),
  };
}

Deno.test("sync() answers SyncKey 0, then sends ServerIds '<folder>:<uid>' in windows", async () => {
  const { mail, ctx, inbox, request } = setup();
  mail.put("7", "old", 3);
  mail.put("9", "new", 1);
  const first = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body);
  assert.equal(first.status, "1");
  assert.deepEqual(first.commands, []);
  const second = collection(
    (await syncRead(request(syncBody(inbox, first.key, textEl(AS, "WindowSize", 1))), ctx)).body,
  );
  assert.deepEqual(second.commands, [`Add:${inbox}:9`]);
  assert.equal(second.more, true);
  const third = collection(
    (await syncRead(request(syncBody(inbox, second.key, textEl(AS, "WindowSize", 1))), ctx)).body,
  );
  assert.deepEqual(third.commands, [`Add:${inbox}:7`]);
  assert.equal(third.more, false);
});

Deno.test("sync() applies the phone's commands and answers only failed Changes and Deletes", async () => {
  const { mail, ctx, inbox, request } = setup();
  mail.put("1", "a");
  mail.put("2", "b");
  let key = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body).key;
  key = collection((await syncRead(request(syncBody(inbox, key)), ctx)).body).key;
  const commands = el(
    AS,
    "Commands",
    el(
      AS,
      "Change",
      textEl(AS, "ServerId", `${inbox}:1`),
      el(AS, "ApplicationData", textEl("Email", "Read", 1)),
    ),
    el(AS, "Delete", textEl(AS, "ServerId", `${inbox}:2`)),
    el(AS, "Delete", textEl(AS, "ServerId", `${inbox}:99`)),
    el(AS, "Delete", textEl(AS, "ServerId", `other:2`)),
    el(
      AS,
      "Change",
      textEl(AS, "ServerId", `${inbox}:1`),
      el(AS, "ApplicationData", textEl("Email", "Importance", "x")),
    ),
  );
  const r = collection((await syncRead(request(syncBody(inbox, key, commands)), ctx)).body);
  assert.deepEqual(r.responses, [`Delete:${inbox}:99:8`, "Delete:other:2:8", `Change:${inbox}:1:6`]);
  assert.deepEqual(mail.messages.get("1")!.flags, ["\\Seen"]);
  assert.equal(mail.messages.has("2"), false);
  assert.notEqual(r.key, key);
});

Deno.test("an empty Sync repeats the previous request; without one it is Status 13", async () => {
  const { mail, ctx, inbox, request } = setup();
  const none = await syncRead(request(undefined), ctx);
  assert.equal(childText(none.body, "Status", AS), "13");
  mail.put("1", "a");
  const key = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body).key;
  await syncRead(request(syncBody(inbox, key)), ctx);
  mail.put("2", "b");
  const repeated = collection((await syncRead(request(undefined), ctx)).body);
  assert.deepEqual(repeated.commands, [`Add:${inbox}:2`]);
});

Deno.test("sync() reports an unknown folder as Status 12 and a bad heartbeat as Status 14 with its limit", async () => {
  const { ctx, request } = setup();
  assert.equal(collection((await syncRead(request(syncBody("404", "0")), ctx)).body).status, "12");
  const body = syncBody("404", "0");
  body.children!.push(textEl(AS, "HeartbeatInterval", 10));
  const r = await syncRead(request(body), ctx);
  assert.equal(childText(r.body, "Status", AS), "14");
  assert.equal(childText(r.body, "Limit", AS), "60");
});

Deno.test("a hanging Sync waits through the push hook and answers when a folder changed", async () => {
  const { mail, ctx, inbox, request } = setup();
  mail.put("1", "a");
  let key = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body).key;
  key = collection((await syncRead(request(syncBody(inbox, key)), ctx)).body).key;
  const waits: string[][] = [];
  ctx.waitForChanges = (keys) => {
    waits.push(keys);
    mail.put("2", "b");
    return Promise.resolve(true);
  };
  const body = syncBody(inbox, key);
  body.children!.push(textEl(AS, "Wait", 5));
  const r = collection((await syncRead(request(body), ctx)).body);
  assert.deepEqual(waits, [["imap:INBOX"]]);
  assert.deepEqual(r.commands, [`Add:${inbox}:2`]);
  ctx.waitForChanges = () => Promise.resolve(false);
  const quiet = await syncRead(request(syncBody(inbox, r.key, undefined)), ctx);
  assert.ok(quiet.body, "a non-hanging sync always has a body");
  const hang = syncBody(inbox, r.key);
  hang.children!.push(textEl(AS, "HeartbeatInterval", 60));
  assert.deepEqual(await syncRead(request(hang), ctx), {}, "nothing changed: empty response");
});

Deno.test("a Sync that delivered changes marks them seen, so the next Ping waits", async () => {
  const { mail, ctx, inbox, request } = setup();
  let sink: WatchSink | undefined;
  const hub = new ChangeHub({
    factories: [{ prefix: "imap:", open: (_c, s) => (sink = s, { watch: () => {}, close: () => {} }) }],
  });
  ctx.push = { hub, storm: new StormGuard(), heartbeat: heartbeatBounds() };
  const ping = (timeoutMs: number) =>
    hub.wait({
      user: "alice",
      device: ctx.device.deviceId,
      keys: ["imap:INBOX"],
      timeoutMs,
      credentials: ctx.credentials,
    });
  try {
    mail.put("1", "a");
    await ping(10);
    sink!.changed(["imap:INBOX"], [await mail.folderCursor()]);
    let key = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body).key;
    const r = collection((await syncRead(request(syncBody(inbox, key)), ctx)).body);
    assert.deepEqual(r.commands, [`Add:${inbox}:1`]);
    assert.deepEqual(await ping(20), { kind: "expired" }, "the Sync delivered that state");
    // Mail after the Sync's scan: the watcher's state differs from the Sync's, so the Ping wakes.
    mail.put("2", "b");
    key = r.key;
    const held = ping(5_000);
    sink!.changed(["imap:INBOX"], [await mail.folderCursor()]);
    assert.deepEqual(await held, { kind: "changed", keys: ["imap:INBOX"] });
    assert.deepEqual(collection((await syncRead(request(syncBody(inbox, key)), ctx)).body).commands, [
      `Add:${inbox}:2`,
    ]);
  } finally {
    hub.close();
  }
});

for (const [kind, preference] of [["whole MIME messages", 4], ["text previews", 1]] as const) {
  Deno.test(`a mail window of ${kind} is streamed: items are fetched while the response is written`, async () => {
    const { mail, ctx, inbox, request } = setup();
    for (let i = 1; i <= 4; i++) mail.put(String(i), `m${i}`, 5 - i);
    const fetched: string[] = [];
    const fetchEmails = mail.fetchEmails.bind(mail);
    mail.fetchEmails = async function* (key, ids, options) {
      for await (const got of fetchEmails(key, ids, options)) {
        fetched.push(got.id);
        yield got;
      }
    };
    const options = el(
      AS,
      "Options",
      textEl(AS, "MIMESupport", 2),
      el(
        "AirSyncBase",
        "BodyPreference",
        textEl("AirSyncBase", "Type", preference),
        preference === 1 ? textEl("AirSyncBase", "TruncationSize", 500) : undefined,
      ),
    );
    const window = textEl(AS, "WindowSize", 3);
    const key = collection((await sync(request(syncBody(inbox, "0", options)), ctx)).body).key;
    const response = await sync(request(syncBody(inbox, key, window, options)), ctx);
    assert.equal(response.body, undefined, "no tree built in memory");
    assert.ok(response.stream, "a streamed response");
    assert.deepEqual(fetched, [], "nothing fetched before the response is read");
    const bytes = new Uint8Array(await new Response(encodeStream(response.stream)).arrayBuffer());
    const first = collection(decode(bytes));
    assert.deepEqual(first.commands, [`Add:${inbox}:4`, `Add:${inbox}:3`, `Add:${inbox}:2`], "newest first");
    assert.equal(first.more, true);
    assert.deepEqual(fetched, ["4", "3", "2"]);
    // The lost response again (the previous key): the same window, streamed as well.
    const replay = await sync(request(syncBody(inbox, key, window, options)), ctx);
    assert.ok(replay.stream, "a replay is streamed too");
    const again = collection(
      decode(new Uint8Array(await new Response(encodeStream(replay.stream)).arrayBuffer())),
    );
    assert.deepEqual(again.commands, first.commands);
    assert.equal(again.key, first.key);
    // The window was committed with the scan's states: the next window brings the rest, once.
    const rest = await sync(request(syncBody(inbox, first.key, window, options)), ctx);
    const second = collection(
      decode(new Uint8Array(await new Response(encodeStream(rest.stream!)).arrayBuffer())),
    );
    assert.deepEqual(second.commands, [`Add:${inbox}:1`]);
    assert.equal(second.more, false);
  });
}

Deno.test("getItemEstimate() counts the changes of the next Sync", async () => {
  const { mail, ctx, inbox, request } = setup();
  mail.put("1", "a");
  mail.put("2", "b", 60);
  const key = collection((await syncRead(request(syncBody(inbox, "0")), ctx)).body).key;
  const GIE = "GetItemEstimate";
  const ask = (filter: number) =>
    el(
      GIE,
      GIE,
      el(
        GIE,
        "Collections",
        el(
          GIE,
          "Collection",
          textEl(AS, "SyncKey", key),
          textEl(GIE, "CollectionId", inbox),
          el(AS, "Options", textEl(AS, "FilterType", filter)),
        ),
      ),
    );
  const estimate = async (filter: number) => {
    const r = await getItemEstimate(request(ask(filter), GIE), ctx);
    const response = childrenNamed(r.body, "Response")[0];
    return [childText(response, "Status"), childText(child(response, "Collection"), "Estimate")];
  };
  assert.deepEqual(await estimate(0), ["1", "2"]);
  assert.deepEqual(await estimate(5), ["1", "1"]);
});
