import { PLACEHOLDER_FOLDERS } from "../../backend/composite.ts";
import {
  FILTER_INCOMPLETE_TASKS,
  isItemFolderSource,
  ITEM_FOLDER_PREFIX,
  type ItemClass,
} from "../../backend/items.ts";
import { isMailSource } from "../../backend/mail.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import type { StreamElement } from "../../wbxml/stream.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { APPOINTMENT_SCHEMA } from "../model/calendar.ts";
import { CONTACT_SCHEMA } from "../model/contacts.ts";
import { EMAIL_SCHEMA } from "../model/email.ts";
import { NOTE_SCHEMA } from "../model/notes.ts";
import type { ObjectSchema } from "../model/schema.ts";
import { fromElements, type ModelObject, ModelSyntaxError, toElements } from "../model/streamer.ts";
import { TASK_SCHEMA } from "../model/tasks.ts";
import { folderClass } from "../protocol/folder_types.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { atLeast } from "../protocol/versions.ts";
import { type PlanCache, syncCollection } from "../sync/engine.ts";
import { SYNC_LIMITS } from "../sync/limits.ts";
import { mailSyncSource } from "../sync/mail_source.ts";
import { DEFAULT_SYNC_OPTIONS, flagValue, parseSyncOptions, type SyncOptions } from "../sync/options.ts";
import { type CachedCollection, type CachedSyncRequest, SyncRequestCache } from "../sync/request_cache.ts";
import { SYNC_STATUS } from "../sync/status.ts";
import type { ClientCommand, CollectionResult, OutChange, SyncSource } from "../sync/types.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { identityOf } from "./settings.ts";

const NS = "AirSync";

/** The class of a collection's items (MS-ASCMD 2.2.3.27 Class). */
type SyncClass = "Email" | ItemClass;

/** Tag table per class: MS-ASEMAIL, MS-ASCAL, MS-ASCNTC, MS-ASTASK, MS-ASNOTE. */
const CLASS_SCHEMAS: Readonly<Record<SyncClass, ObjectSchema>> = {
  Email: EMAIL_SCHEMA,
  Calendar: APPOINTMENT_SCHEMA,
  Contacts: CONTACT_SCHEMA,
  Tasks: TASK_SCHEMA,
  Notes: NOTE_SCHEMA,
};

/** Each device's last Sync request, for empty and Partial requests (MS-ASCMD 3.1.5.3). */
const requestCache = new SyncRequestCache<WbxmlElement>();

/** What is left of pending initial syncs (MoreAvailable), so later windows skip the folder scan. */
const plans: PlanCache = new Map();

/** The outcome of one collection, ready to write. */
interface CollectionOutcome {
  collectionId: string;
  /** The response Collection; its Commands are produced while the response is written when items are fetched lazily. */
  element: StreamElement;
  /** The key the device holds after this response. */
  syncKey: string;
  /** Whether the response carries anything (a new key, items, responses, a non-success status). */
  eventful: boolean;
  folderKey?: string;
  /** The folder state the device is now up to date with (the engine's cursor), for Direct Push. */
  cursor?: string;
  /** The element's items are fetched while the response is written. */
  streamed?: boolean;
}

/**
 * Sync (MS-ASCMD 2.2.1.21): per collection, SyncKey 0 starts over, later keys
 * apply the phone's commands and send one window of server changes (see the
 * engine in eas/sync). An empty request repeats the device's previous one,
 * Partial merges into it. With Wait / HeartbeatInterval and nothing to say,
 * the request hangs until a folder changes (ctx.waitForChanges) and then
 * answers, or answers with an empty body at the deadline.
 */
export async function sync(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const device = `${ctx.user}\u0000${ctx.device.deviceId}`;
  let resolved: CachedSyncRequest<WbxmlElement>;
  try {
    const r = resolveRequest(request.body, requestCache.get(device));
    if (typeof r === "number") return { body: topStatus(r) };
    resolved = r;
  } catch (error) {
    if (error instanceof EasStatusError) return { body: topStatus(error.status, error.message) };
    throw error;
  }
  if (resolved.heartbeatSeconds !== undefined) {
    const s = resolved.heartbeatSeconds;
    if (s < SYNC_LIMITS.minHeartbeatSeconds || s > SYNC_LIMITS.maxHeartbeatSeconds) {
      const limit = s < SYNC_LIMITS.minHeartbeatSeconds
        ? SYNC_LIMITS.minHeartbeatSeconds
        : SYNC_LIMITS.maxHeartbeatSeconds;
      return {
        body: el(
          NS,
          "Sync",
          textEl(NS, "Status", SYNC_STATUS.InvalidWaitOrHeartbeat),
          textEl(NS, "Limit", limit),
        ),
      };
    }
  }
  if (resolved.collections.length > SYNC_LIMITS.maxCollections) {
    return {
      body: el(
        NS,
        "Sync",
        textEl(NS, "Status", SYNC_STATUS.TooManyCollections),
        textEl(NS, "Limit", SYNC_LIMITS.maxCollections),
      ),
    };
  }

  let outcomes = await runCollections(resolved, ctx, true);
  const hanging = resolved.heartbeatSeconds !== undefined;
  if (hanging && !outcomes.some((o) => o.eventful)) {
    const deadline = Date.now() + resolved.heartbeatSeconds! * 1000;
    const folderKeys = outcomes.map((o) => o.folderKey).filter((k): k is string => !!k);
    const current = {
      ...resolved,
      collections: resolved.collections.map((c, i) => ({ ...c, syncKey: outcomes[i]!.syncKey })),
    };
    while (!ctx.signal.aborted) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const changed = ctx.waitForChanges
        ? await ctx.waitForChanges(folderKeys, remaining, ctx.signal)
        : await sleep(Math.min(SYNC_LIMITS.pollMs, remaining), ctx.signal);
      if (ctx.signal.aborted) break;
      if (!changed && ctx.waitForChanges) break;
      outcomes = await runCollections(current, ctx, false);
      if (outcomes.some((o) => o.eventful)) break;
    }
    if (!outcomes.some((o) => o.eventful)) {
      remember(device, resolved, outcomes);
      // Nothing changed during the heartbeat: an empty response (MS-ASCMD 3.2.5.1.2).
      return {};
    }
  }
  remember(device, resolved, outcomes);
  markDelivered(ctx, outcomes);
  const elements = outcomes.map((o) => o.element);
  if (outcomes.some((o) => o.streamed)) {
    // Mail windows leave item by item (encodeStream), never held whole.
    return {
      stream: { ns: NS, name: "Sync", children: [{ ns: NS, name: "Collections", children: elements }] },
    };
  }
  return { body: el(NS, "Sync", el(NS, "Collections", ...elements as WbxmlElement[])) };
}

/**
 * Tells the change hub which folder states this response delivered, so the
 * device's next Ping does not wake for them; the hub marks a folder only while
 * its watcher saw the same state (a later change still wakes the Ping).
 */
function markDelivered(ctx: CommandContext, outcomes: readonly CollectionOutcome[]): void {
  const delivered = outcomes.filter((o) => o.folderKey !== undefined && o.cursor !== undefined);
  if (!ctx.push || delivered.length === 0) return;
  ctx.push.hub.markSeen(
    ctx.user,
    ctx.device.deviceId,
    delivered.map((o) => o.folderKey!),
    delivered.map((o) => o.cursor!),
  );
}

/** Turns the request into the collections to run: itself, the cached one (empty body), or a merge (Partial). */
function resolveRequest(
  body: WbxmlElement | undefined,
  cached: CachedSyncRequest<WbxmlElement> | undefined,
): CachedSyncRequest<WbxmlElement> | number {
  if (!body) return cached ?? SYNC_STATUS.IncompleteRequest;
  if (body.ns !== NS || body.name !== "Sync") return SYNC_STATUS.ProtocolError;
  const partial = child(body, "Partial", NS) !== undefined;
  const collections: CachedCollection<WbxmlElement>[] = [];
  for (const c of childrenNamed(child(body, "Collections", NS), "Collection", NS)) {
    const collectionId = childText(c, "CollectionId", NS);
    const syncKey = childText(c, "SyncKey", NS) ??
      (partial ? cached?.collections.find((x) => x.collectionId === collectionId)?.syncKey : undefined);
    if (collectionId === undefined || syncKey === undefined) return SYNC_STATUS.ProtocolError;
    collections.push({ collectionId, syncKey, element: c });
  }
  const wait = childText(body, "Wait", NS);
  const heartbeat = childText(body, "HeartbeatInterval", NS);
  const windowText = childText(body, "WindowSize", NS);
  let heartbeatSeconds: number | undefined;
  if (wait !== undefined) {
    // Wait is in minutes (MS-ASCMD 2.2.3.197): 1..59.
    if (!/^\d{1,4}$/.test(wait)) return SYNC_STATUS.ProtocolError;
    heartbeatSeconds = Number(wait) * 60;
  } else if (heartbeat !== undefined) {
    if (!/^\d{1,6}$/.test(heartbeat)) return SYNC_STATUS.ProtocolError;
    heartbeatSeconds = Number(heartbeat);
  }
  const out: CachedSyncRequest<WbxmlElement> = { collections };
  if (windowText !== undefined) out.windowSize = Number(windowText);
  if (heartbeatSeconds !== undefined) out.heartbeatSeconds = heartbeatSeconds;
  if (!partial) {
    if (!collections.length) {
      return cached ? { ...cached, ...out, collections: cached.collections } : SYNC_STATUS.IncompleteRequest;
    }
    return out;
  }
  if (!cached) return SYNC_STATUS.IncompleteRequest;
  const merged = cached.collections.map((old) =>
    collections.find((c) => c.collectionId === old.collectionId) ?? old
  );
  for (const c of collections) if (!merged.includes(c)) merged.push(c);
  return {
    collections: merged,
    ...(out.windowSize ?? cached.windowSize) !== undefined
      ? { windowSize: out.windowSize ?? cached.windowSize }
      : {},
    ...(heartbeatSeconds ?? cached.heartbeatSeconds) !== undefined
      ? { heartbeatSeconds: heartbeatSeconds ?? cached.heartbeatSeconds }
      : {},
  };
}

async function runCollections(
  resolved: CachedSyncRequest<WbxmlElement>,
  ctx: CommandContext,
  withCommands: boolean,
): Promise<CollectionOutcome[]> {
  const outcomes: CollectionOutcome[] = [];
  let budget = Math.min(resolved.windowSize || SYNC_LIMITS.maxWindowSize, SYNC_LIMITS.maxWindowSize);
  for (const c of resolved.collections) {
    const outcome = await runCollection(c, ctx, withCommands, Math.max(1, budget));
    budget -= outcome.sent;
    outcomes.push(outcome);
  }
  return outcomes;
}

async function runCollection(
  c: CachedCollection<WbxmlElement>,
  ctx: CommandContext,
  withCommands: boolean,
  budget: number,
): Promise<CollectionOutcome & { sent: number }> {
  const { collectionId, syncKey, element } = c;
  const version = ctx.protocolVersion;
  const failed = (status: number, message?: string) => {
    if (message) ctx.log?.info("sync.collection_status", { collectionId, status, message });
    return {
      collectionId,
      syncKey,
      eventful: true,
      sent: 0,
      element: el(
        NS,
        "Collection",
        textEl(NS, "SyncKey", status === SYNC_STATUS.InvalidSyncKey ? "0" : syncKey),
        textEl(NS, "CollectionId", collectionId),
        textEl(NS, "Status", status),
      ),
    };
  };
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, collectionId);
  // An id the device got from an older hierarchy (or another user's id): it must FolderSync again.
  if (!folderKey) return failed(SYNC_STATUS.FolderHierarchyChanged);
  try {
    const state = ctx.store.syncState.collection(ctx.device.id, collectionId);
    const stored: SyncOptions = state?.options
      ? JSON.parse(state.options) as SyncOptions
      : DEFAULT_SYNC_OPTIONS;
    const itemClass = classOf(ctx, folderKey);
    const optionsEl = childrenNamed(element, "Options", NS).find((o) => {
      const k = childText(o, "Class", NS);
      return k === undefined || k === itemClass;
    });
    const options = parseSyncOptions(optionsEl, stored);
    if (itemClass === "Tasks" && childText(optionsEl, "FilterType", NS) === String(FILTER_INCOMPLETE_TASKS)) {
      options.filterType = FILTER_INCOMPLETE_TASKS;
    }
    const getChanges = syncKey !== "0" && flagValue(element, "GetChanges", true);
    const windowText = childText(element, "WindowSize", NS);
    const window = Math.min(
      windowText !== undefined && /^\d{1,5}$/.test(windowText) && Number(windowText) > 0
        ? Number(windowText)
        : SYNC_LIMITS.defaultWindowSize,
      budget,
      SYNC_LIMITS.maxWindowSize,
      wholeMime(options) ? SYNC_LIMITS.wholeMimeWindowSize : SYNC_LIMITS.maxWindowSize,
    );
    const deletesAsMoves = flagValue(element, "DeletesAsMoves", true);
    const source = sourceFor(ctx, folderKey, collectionId, options, deletesAsMoves);
    const commands = withCommands && syncKey !== "0"
      ? readCommands(element, collectionId, version, itemClass)
      : [];
    const result = await syncCollection<ModelObject>({
      device: ctx.device.id,
      collection: collectionId,
      syncKey,
      getChanges,
      windowSize: window,
      filterType: options.filterType,
      conflict: options.conflict,
      commands,
      options: JSON.stringify(options),
      // Mail windows are fetched while the response is written, item by item (text previews as
      // well as whole MIME): nothing of a window is held beyond the item being written.
      lazy: itemClass === "Email",
    }, {
      store: ctx.store.syncState,
      source,
      plans,
      onSkip: (id, error) =>
        ctx.log?.warn("sync.item_skipped", { user: ctx.user, collectionId, id, error: error.message }),
    });
    while (plans.size > SYNC_LIMITS.pendingPlans) plans.delete(plans.keys().next().value!);
    if (result.status !== SYNC_STATUS.Success) return { ...failed(result.status), folderKey };
    if (itemClass === "Email" && !result.replayed) await placeInvitations(ctx, result.changes);
    const sent = result.changes.length + (result.later?.count ?? 0);
    return {
      collectionId,
      syncKey: result.syncKey,
      folderKey,
      sent,
      eventful: result.syncKey !== syncKey || sent > 0 || result.responses.length > 0 || result.moreAvailable,
      element: result.later
        ? streamedCollection(
          collectionId,
          result,
          version,
          (changes) => result.replayed ? Promise.resolve() : placeInvitations(ctx, changes),
        )
        : collectionElement(collectionId, result, version, CLASS_SCHEMAS[itemClass]),
      ...(result.cursor !== undefined ? { cursor: result.cursor } : {}),
      ...(result.later ? { streamed: true } : {}),
    };
  } catch (error) {
    if (error instanceof EasStatusError) return failed(error.status, error.message);
    if (error instanceof BackendUnavailableError) return failed(SYNC_STATUS.Retry, error.message);
    throw error;
  }
}

/**
 * Invitations, cancellations and replies arriving in mail go into the
 * calendar (invitations shown tentative until answered, canceled meetings
 * marked, attendees' answers in the organizer's copy), as Exchange does when
 * it delivers them (MS-ASCMD 3.1.5.6). Best effort: a calendar failure never
 * fails the mail sync.
 */
async function placeInvitations(ctx: CommandContext, changes: OutChange<ModelObject>[]): Promise<void> {
  const calendar = ctx.backend.sourceOf(ITEM_FOLDER_PREFIX);
  if (!isItemFolderSource(calendar)) return;
  const invitations = changes.flatMap((c) =>
    c.kind === "add" && typeof c.item.meetingIcs === "string" ? [c.item.meetingIcs as string] : []
  );
  if (!invitations.length) return;
  const identity = await identityOf(ctx);
  const selfEmails = [identity.primary, ...identity.aliases].map((a) => a.toLowerCase());
  for (const ics of invitations) {
    try {
      const outcome = await calendar.placeInvitation(ics, selfEmails);
      if (outcome !== "unchanged") ctx.log?.info("sync.invitation_placed", { user: ctx.user, outcome });
    } catch (error) {
      ctx.log?.warn("sync.invitation_not_placed", { user: ctx.user, error: (error as Error).message });
    }
  }
}

/** The class of a folder's items: from its DAV component, a placeholder's type, else mail. */
function classOf(ctx: CommandContext, folderKey: string): SyncClass {
  const owner = ctx.backend.sourceOf(folderKey);
  if (isItemFolderSource(owner)) return owner.folderClassOf(folderKey) ?? "Email";
  const placeholder = PLACEHOLDER_FOLDERS.find((f) => f.key === folderKey);
  return placeholder ? folderClass(placeholder.type) : "Email";
}

/** Whether the device asked for whole MIME messages (type 4 without TruncationSize). */
function wholeMime(options: SyncOptions): boolean {
  const mime = options.bodyPreferences.find((p) => p.type === 4);
  return options.mimeSupport > 0 && mime !== undefined && mime.truncationSize === undefined;
}

/** The collection's items: mail, DAV items, or an empty placeholder folder (no DAV server configured). */
function sourceFor(
  ctx: CommandContext,
  folderKey: string,
  folderServerId: string,
  options: SyncOptions,
  deletesAsMoves: boolean,
): SyncSource<ModelObject> {
  const owner = ctx.backend.sourceOf(folderKey);
  if (isItemFolderSource(owner)) {
    return owner.syncSource(folderKey, {
      bodyPreferences: options.bodyPreferences,
      filterType: options.filterType,
    });
  }
  if (isMailSource(owner)) {
    return mailSyncSource({
      backend: owner,
      folderKey,
      folderServerId,
      version: ctx.protocolVersion,
      options,
      deletesAsMoves,
    });
  }
  return EMPTY_SOURCE;
}

/** A folder without items of its own (the local placeholder folders). */
const EMPTY_SOURCE: SyncSource<ModelObject> = {
  cursor: () => Promise.resolve("empty"),
  scan: () => Promise.resolve({ cursor: "empty", reset: false, full: true, items: [], vanished: [] }),
  // deno-lint-ignore require-yield
  async *fetch() {
    return;
  },
  add: () =>
    Promise.reject(new EasStatusError(SYNC_STATUS.ConversionError, "This folder does not store items")),
  change: () => Promise.resolve(undefined),
  remove: () => Promise.resolve(false),
};

/** Reads the phone's Commands (MS-ASCMD 2.2.3.30.2); unreadable ones are answered with their status. */
function readCommands(
  collection: WbxmlElement,
  collectionId: string,
  version: string,
  itemClass: SyncClass,
): ClientCommand<ModelObject>[] {
  const schema = CLASS_SCHEMAS[itemClass];
  const out: ClientCommand<ModelObject>[] = [];
  for (const command of child(collection, "Commands", NS)?.children ?? []) {
    const serverId = childText(command, "ServerId", NS);
    const id = serverId !== undefined ? itemIdOf(serverId, collectionId) : undefined;
    const data = child(command, "ApplicationData", NS);
    switch (command.name) {
      case "Add": {
        const clientId = childText(command, "ClientId", NS);
        if (!clientId) {
          out.push({ kind: "invalid", command: "add", clientId: "", status: SYNC_STATUS.ProtocolError });
          break;
        }
        // Mail items are created by the phone only as 16.x drafts (MS-ASCMD 2.2.3.7.2);
        // calendar, contacts, tasks and notes items in any version.
        if (itemClass === "Email" && !atLeast(version, "16.0")) {
          out.push({ kind: "invalid", command: "add", clientId, status: SYNC_STATUS.ProtocolError });
          break;
        }
        const item = readItem(data, version, schema);
        out.push(
          item instanceof Error
            ? { kind: "invalid", command: "add", clientId, status: SYNC_STATUS.ConversionError }
            : { kind: "add", clientId, item },
        );
        break;
      }
      case "Change": {
        if (id === undefined) {
          out.push({
            kind: "invalid",
            command: "change",
            id: serverId ?? "",
            status: SYNC_STATUS.ObjectNotFound,
          });
          break;
        }
        const item = readItem(data, version, schema);
        out.push(
          item instanceof Error
            ? { kind: "invalid", command: "change", id, status: SYNC_STATUS.ConversionError }
            : { kind: "change", id, item },
        );
        break;
      }
      case "Delete":
      case "Fetch": {
        const kind = command.name === "Delete" ? "delete" : "fetch";
        if (id === undefined) {
          out.push({
            kind: "invalid",
            command: kind,
            id: serverId ?? "",
            status: SYNC_STATUS.ObjectNotFound,
          });
        } else out.push({ kind, id });
        break;
      }
    }
  }
  return out;
}

function readItem(
  data: WbxmlElement | undefined,
  version: string,
  schema: ObjectSchema,
): ModelObject | Error {
  try {
    return fromElements(schema, data?.children, { version });
  } catch (error) {
    if (error instanceof ModelSyntaxError) return error;
    throw error;
  }
}

/** The item id inside a mail ServerId "<folder>:<uid>" of this collection, or undefined. */
export function itemIdOf(serverId: string, collectionId: string): string | undefined {
  const prefix = `${collectionId}:`;
  if (!serverId.startsWith(prefix)) return undefined;
  const rest = serverId.slice(prefix.length);
  return /^[1-9]\d{0,9}$/.test(rest) ? rest : undefined;
}

function collectionElement(
  collectionId: string,
  result: CollectionResult<ModelObject>,
  version: string,
  schema: ObjectSchema,
): WbxmlElement {
  const sid = (id: string) => serverIdElement(collectionId, id);
  const responses: WbxmlElement[] = [];
  for (const r of result.responses) {
    if (r.kind === "add") {
      responses.push(
        el(
          NS,
          "Add",
          textEl(NS, "ClientId", r.clientId ?? ""),
          r.id !== undefined && r.status === SYNC_STATUS.Success ? sid(r.id) : undefined,
          textEl(NS, "Status", r.status),
        ),
      );
    } else if (r.kind === "fetch") {
      responses.push(
        el(
          NS,
          "Fetch",
          sid(r.id ?? ""),
          textEl(NS, "Status", r.status),
          r.item ? applicationData(r.item, version, schema) : undefined,
        ),
      );
    } else if (r.status !== SYNC_STATUS.Success) {
      // Change and Delete are answered only when they failed (MS-ASCMD 2.2.3.145).
      responses.push(
        el(NS, r.kind === "change" ? "Change" : "Delete", sid(r.id ?? ""), textEl(NS, "Status", r.status)),
      );
    }
  }
  const commands = result.changes.map((c) => commandElement(collectionId, c, version, schema));
  return el(
    NS,
    "Collection",
    // No Class in the response collection, for any version: Microsoft's SyncResponse schema has none.
    textEl(NS, "SyncKey", result.syncKey),
    textEl(NS, "CollectionId", collectionId),
    textEl(NS, "Status", result.status),
    responses.length ? el(NS, "Responses", ...responses) : undefined,
    result.moreAvailable ? el(NS, "MoreAvailable") : undefined,
    commands.length ? el(NS, "Commands", ...commands) : undefined,
  );
}

/** One server change as a Sync command element. */
function commandElement(
  collectionId: string,
  change: OutChange<ModelObject>,
  version: string,
  schema: ObjectSchema,
): WbxmlElement {
  const sid = serverIdElement(collectionId, change.id);
  switch (change.kind) {
    case "add":
      return el(NS, "Add", sid, applicationData(change.item, version, schema));
    case "change":
      return el(NS, "Change", sid, applicationData(change.item, version, schema));
    case "delete":
      return el(NS, "Delete", sid);
    case "softDelete":
      return el(NS, "SoftDelete", sid);
  }
}

/** Item ids are UIDs; a ServerId the device sent that named no item of ours is echoed as it was. */
function serverIdElement(collectionId: string, id: string): WbxmlElement {
  return textEl(NS, "ServerId", /^\d+$/.test(id) ? `${collectionId}:${id}` : id);
}

function applicationData(item: ModelObject, version: string, schema: ObjectSchema): WbxmlElement {
  const children = toElements(schema, item, { version });
  return children.length
    ? { ns: NS, name: "ApplicationData", children }
    : { ns: NS, name: "ApplicationData" };
}

/**
 * A mail Collection whose window is fetched while the response is written: the element is built without its commands, which then
 * come from the engine's lazy items one by one. Invitations among them reach
 * the calendar once the window is written.
 */
function streamedCollection(
  collectionId: string,
  result: CollectionResult<ModelObject>,
  version: string,
  placeInvitations: (changes: OutChange<ModelObject>[]) => Promise<void>,
): StreamElement {
  const later = result.later!;
  const head = collectionElement(collectionId, { ...result, changes: [] }, version, EMAIL_SCHEMA);
  const known = result.changes.map((c) => commandElement(collectionId, c, version, EMAIL_SCHEMA));
  async function* commands(): AsyncGenerator<StreamElement> {
    yield* known;
    const invitations: OutChange<ModelObject>[] = [];
    for await (const change of later.items) {
      yield commandElement(collectionId, change, version, EMAIL_SCHEMA);
      if (change.kind === "add" && typeof change.item.meetingIcs === "string") {
        invitations.push({ kind: "add", id: change.id, item: { meetingIcs: change.item.meetingIcs } });
      }
    }
    if (invitations.length) await placeInvitations(invitations);
  }
  const children: StreamElement[] = [...(head.children ?? [])];
  const commandsAt = children.findIndex((c) => c.name === "MoreAvailable");
  children.splice(commandsAt < 0 ? children.length : commandsAt + 1, 0, {
    ns: NS,
    name: "Commands",
    children: commands(),
  });
  return { ...head, children };
}

function remember(
  device: string,
  resolved: CachedSyncRequest<WbxmlElement>,
  outcomes: CollectionOutcome[],
): void {
  requestCache.set(device, {
    ...resolved,
    collections: resolved.collections.map((c, i) => ({
      collectionId: c.collectionId,
      syncKey: outcomes[i]?.syncKey ?? c.syncKey,
      // Commands are never repeated by an empty request.
      element: { ...c.element, children: (c.element.children ?? []).filter((x) => x.name !== "Commands") },
    })),
  });
}

function topStatus(status: number, message?: string): WbxmlElement {
  void message;
  return el(NS, "Sync", textEl(NS, "Status", status));
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener("abort", stop, { once: true });
  });
}
