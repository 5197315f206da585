import type { ItemState } from "../../backend/mail.ts";
import type { CollectionState, ItemRecord } from "../../store/sync_state.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { ModelSyntaxError } from "../model/streamer.ts";
import { CONFLICT, filterCutoff, SYNC_STATUS } from "./status.ts";
import { formatSyncKey, generationOf, newEpoch } from "./sync_key.ts";
import type {
  ClientCommand,
  ClientResponse,
  CollectionRequest,
  CollectionResult,
  OutChange,
  ReplayRecord,
  SyncSource,
  SyncStore,
} from "./types.ts";

/** What the engine is given besides the request. */
export interface EngineDeps<T> {
  store: SyncStore;
  source: SyncSource<T>;
  now?: () => number;
  /** Told about items skipped because they failed to convert (loop detection). */
  onSkip?: (id: string, error: Error) => void;
  /** Remaining plans of pending (MoreAvailable) collections, kept by the caller between requests. */
  plans?: PlanCache;
}

/** What is left to send of a collection after a window, valid while the folder's fingerprint holds. */
export interface PendingPlan {
  epoch: string;
  generation: number;
  windowTag: string;
  fingerprint: string;
  ordered: PlannedChange[];
  states: Map<string, ItemState>;
}

/** Pending plans by device and collection; a Map is enough, bounded by the caller. */
export type PlanCache = Map<string, PendingPlan>;

const EMPTY_REPLAY: ReplayRecord = {
  adds: [],
  changes: [],
  deletes: [],
  softDeletes: [],
  responses: [],
  more: false,
};

/**
 * One collection of a Sync request (MS-ASCMD 2.2.1.21, 3.1.5.9):
 * - SyncKey 0 starts a new epoch and answers the first key with no items;
 * - the latest key: apply the phone's commands, diff the backend against what
 *   the device holds, send one window (deletes and changes first, then adds
 *   newest first), and store the new generation in one transaction;
 * - the previous key (the last response was lost): send THAT response again,
 *   same ServerIds and the same Responses for Adds matched by ClientId;
 * - anything else: Status 3.
 * Nothing is written when nothing changed, so the key stays the same.
 */
export async function syncCollection<T>(
  request: CollectionRequest<T>,
  deps: EngineDeps<T>,
): Promise<CollectionResult<T>> {
  const { store, source } = deps;
  const now = deps.now?.() ?? Date.now();
  const { device, collection } = request;

  if (request.syncKey === "0") {
    const epoch = newEpoch();
    store.commit(device, collection, {
      state: {
        epoch,
        generation: 1,
        cursor: "",
        pending: false,
        options: request.options,
        replay: JSON.stringify(EMPTY_REPLAY),
      },
      upserts: [],
      removes: [],
      clientIds: [],
      resetItems: true,
    });
    return result(SYNC_STATUS.Success, formatSyncKey(epoch, 1), request.options);
  }

  const state = store.collection(device, collection);
  const generation = state ? generationOf(request.syncKey, state.epoch) : undefined;
  if (
    !state || generation === undefined ||
    (generation !== state.generation && generation !== state.generation - 1)
  ) {
    return result(SYNC_STATUS.InvalidSyncKey, request.syncKey, request.options);
  }
  const options = request.options || state.options;
  const latestKey = formatSyncKey(state.epoch, state.generation);
  if (generation === state.generation - 1) return await replay(request, deps, state, options, latestKey);

  const cutoff = filterCutoff(request.filterType, now);
  const windowTag = `|${request.filterType}:${cutoff ? Math.floor(cutoff.getTime() / 3_600_000) : 0}`;

  // Fast path: nothing to apply, nothing pending, the folder's fingerprint is unchanged.
  if (request.commands.length === 0 && !state.pending && state.cursor !== "") {
    if (!request.getChanges) return result(SYNC_STATUS.Success, latestKey, options);
    const fingerprint = await source.cursor();
    if (fingerprint + windowTag === state.cursor) {
      if (options !== state.options) store.commit(device, collection, sameGeneration(state, options));
      return result(SYNC_STATUS.Success, latestKey, options);
    }
  }

  // While a long initial sync is pending, the plan of the first scan stays valid as long as the
  // folder's fingerprint is unchanged: later windows skip the scan and the diff (one STATUS each).
  const planKey = `${device}\u0000${collection}`;
  const cached = deps.plans?.get(planKey);
  deps.plans?.delete(planKey);
  let reuse = false;
  if (
    cached && state.pending && request.commands.length === 0 && request.getChanges &&
    cached.epoch === state.epoch && cached.generation === state.generation && cached.windowTag === windowTag
  ) {
    reuse = (await source.cursor()) === cached.fingerprint;
  }

  let scanCursor: string;
  let current: Map<string, ItemState>;
  let applied: Applied<T>;
  let ordered: PlannedChange[] = [];
  const removes: string[] = [];
  if (reuse && cached) {
    scanCursor = cached.fingerprint;
    current = cached.states;
    applied = { responses: [], upserts: [], removes: [], clientIds: [], touched: new Set() };
    ordered = cached.ordered;
  } else {
    const known = store.items(device, collection);
    const storedCursor = state.cursor.endsWith(windowTag)
      ? state.cursor.slice(0, -windowTag.length)
      : undefined;
    const scan = await source.scan(cutoff, state.pending ? undefined : storedCursor);
    if (scan.reset) {
      // UIDVALIDITY changed: every id the device holds is void; it starts over from SyncKey 0.
      store.commit(device, collection, {
        state: { ...state, epoch: newEpoch(), generation: 1, cursor: "", pending: false, options },
        upserts: [],
        removes: [],
        clientIds: [],
        resetItems: true,
      });
      return result(SYNC_STATUS.InvalidSyncKey, request.syncKey, options);
    }
    scanCursor = scan.cursor;
    current = new Map(scan.items.map((i) => [i.id, i]));
    applied = await applyCommands(request, deps, known, current, options);
    if (request.getChanges) {
      const plan = planChanges(known, current, scan.full, scan.vanished, cutoff, applied.touched);
      removes.push(...plan.silentRemoves);
      ordered = plan.ordered;
    }
  }

  const changes: OutChange<T>[] = [];
  const upserts = [...applied.upserts];
  removes.push(...applied.removes);
  let more = false;
  let remaining: PlannedChange[] = [];
  let later: (CollectionResult<T>["later"] & { ids: { add: string[]; change: string[] } }) | undefined;
  if (request.getChanges) {
    const window = Math.max(1, request.windowSize);
    const chosen = ordered.slice(0, window);
    remaining = ordered.slice(chosen.length);
    more = remaining.length > 0;
    const fetchIds = { add: [] as string[], change: [] as string[] };
    for (const c of chosen) {
      if (c.kind === "add" || c.kind === "change") fetchIds[c.kind].push(c.id);
      else {
        changes.push({ kind: c.kind, id: c.id });
        removes.push(c.id);
      }
    }
    if (request.lazy) {
      // Recorded with the scan's states: a flag that changes before the fetch comes as a Change next time.
      for (const id of [...fetchIds.change, ...fetchIds.add]) {
        const seen = current.get(id);
        if (seen) upserts.push(record(seen));
      }
      fetchIds.add.sort((a, b) => (current.get(b)?.date ?? 0) - (current.get(a)?.date ?? 0));
      // A failed Add is marked as such after the fact, as the eager path does (loop detection):
      // only while this window's generation is still the latest one.
      const markFailed = (id: string) => {
        const seen = current.get(id);
        const latest = store.collection(device, collection);
        if (!seen || latest?.epoch !== state.epoch || latest.generation !== state.generation + 1) return;
        store.commit(device, collection, {
          state: latest,
          upserts: [{ ...record(seen), failed: true }],
          removes: [],
          clientIds: [],
        });
      };
      later = {
        count: fetchIds.change.length + fetchIds.add.length,
        items: fetchLater(source, fetchIds, deps.onSkip, markFailed),
        ids: fetchIds,
      };
    }
    for (const mode of ["change", "add"] as const) {
      if (!fetchIds[mode].length || later) continue;
      for await (const got of source.fetch(fetchIds[mode], mode)) {
        const seen = current.get(got.id);
        if ("error" in got) {
          // Loop detection: remember the token it failed at, so the folder is not retried forever.
          deps.onSkip?.(got.id, got.error);
          if (seen) upserts.push({ ...record(seen), failed: mode === "add" });
          continue;
        }
        changes.push({ kind: mode, id: got.id, item: got.item });
        upserts.push(record(got.state));
      }
    }
    // Adds newest first within the window (the order the device shows them in while the window fills).
    changes.sort((a, b) => order(a, current) - order(b, current));
  }

  const fetched = await fetchResponses(applied.responses, source);
  const cursor = more || !request.getChanges ? state.cursor : scanCursor + windowTag;
  const nothing = changes.length === 0 && !later?.count && request.commands.length === 0;
  if (nothing) {
    if (cursor !== state.cursor || options !== state.options || upserts.length || removes.length) {
      store.commit(device, collection, {
        state: { ...state, cursor, pending: more, options },
        upserts,
        removes,
        clientIds: [],
      });
    }
    return {
      ...result(SYNC_STATUS.Success, latestKey, options),
      moreAvailable: more,
      ...upToDate(more, request, scanCursor),
    };
  }
  const replayRecord: ReplayRecord = {
    adds: changes.filter((c) => c.kind === "add").map((c) => c.id).concat(later?.ids.add ?? []),
    changes: changes.filter((c) => c.kind === "change").map((c) => c.id).concat(later?.ids.change ?? []),
    deletes: changes.filter((c) => c.kind === "delete").map((c) => c.id),
    softDeletes: changes.filter((c) => c.kind === "softDelete").map((c) => c.id),
    responses: applied.responses.map(({ kind, clientId, id, status }) => ({
      kind,
      status,
      ...(clientId !== undefined ? { clientId } : {}),
      ...(id !== undefined ? { id } : {}),
    })),
    more,
  };
  const next = state.generation + 1;
  store.commit(device, collection, {
    state: {
      epoch: state.epoch,
      generation: next,
      cursor,
      pending: more,
      options,
      replay: JSON.stringify(replayRecord),
    },
    upserts,
    removes,
    clientIds: applied.clientIds,
  });
  if (more && deps.plans) {
    deps.plans.set(planKey, {
      epoch: state.epoch,
      generation: next,
      windowTag,
      fingerprint: scanCursor,
      ordered: remaining,
      states: current,
    });
  }
  return {
    status: SYNC_STATUS.Success,
    syncKey: formatSyncKey(state.epoch, next),
    responses: fetched,
    changes,
    moreAvailable: more,
    replayed: false,
    options,
    ...upToDate(more, request, scanCursor),
    ...(later ? { later: { count: later.count, items: later.items } } : {}),
  };
}

/**
 * The lazily fetched part of a window: changed items, then added ones, each
 * converted when the response writer asks for it and dropped once written.
 * An item that fails now is left out of the response and comes again only
 * when it changes (the skip is logged; a failed Add is marked failed, so it
 * is sent as an Add then, and its deletion is not announced).
 */
async function* fetchLater<T>(
  source: SyncSource<T>,
  ids: { add: string[]; change: string[] },
  onSkip: EngineDeps<T>["onSkip"],
  markFailed?: (id: string) => void,
): AsyncGenerator<OutChange<T>> {
  for (const mode of ["change", "add"] as const) {
    if (!ids[mode].length) continue;
    for await (const got of source.fetch(ids[mode], mode)) {
      if ("error" in got) {
        onSkip?.(got.id, got.error);
        if (mode === "add") {
          try {
            markFailed?.(got.id);
          } catch {
            // Best effort: the store may be unavailable now; the item was logged as skipped.
          }
        }
      } else yield { kind: mode, id: got.id, item: got.item };
    }
  }
}

/** The cursor a complete response brought the device up to (none while windows are pending). */
function upToDate(more: boolean, request: { getChanges: boolean }, scanCursor: string): { cursor?: string } {
  return more || !request.getChanges ? {} : { cursor: scanCursor };
}

/**
 * Counts what a Sync would send now (GetItemEstimate, MS-ASCMD 2.2.1.9),
 * without writing anything. Undefined when the key is unknown.
 */
export async function estimateChanges<T>(
  request: { device: number; collection: string; syncKey: string; filterType: number },
  deps: EngineDeps<T>,
): Promise<number | undefined> {
  const now = deps.now?.() ?? Date.now();
  const state = deps.store.collection(request.device, request.collection);
  if (!state) return undefined;
  const generation = generationOf(request.syncKey, state.epoch);
  if (generation !== state.generation) return undefined;
  const cutoff = filterCutoff(request.filterType, now);
  const known = deps.store.items(request.device, request.collection);
  const scan = await deps.source.scan(cutoff, undefined);
  if (scan.reset) return undefined;
  const current = new Map(scan.items.map((i) => [i.id, i]));
  return planChanges(known, current, true, [], cutoff, new Set()).ordered.length;
}

interface Applied<T> {
  responses: ClientResponse<T>[];
  upserts: ItemRecord[];
  removes: string[];
  clientIds: { clientId: string; itemId: string }[];
  touched: Set<string>;
}

async function applyCommands<T>(
  request: CollectionRequest<T>,
  deps: EngineDeps<T>,
  known: Map<string, ItemRecord>,
  current: Map<string, ItemState> | undefined,
  _options: string,
): Promise<Applied<T>> {
  const { store, source } = deps;
  const out: Applied<T> = { responses: [], upserts: [], removes: [], clientIds: [], touched: new Set() };
  for (const command of request.commands) {
    out.responses.push(await applyOne(command));
  }
  return out;

  async function applyOne(command: ClientCommand<T>): Promise<ClientResponse<T>> {
    if (command.kind === "invalid") {
      return {
        kind: command.command,
        status: command.status,
        ...(command.id !== undefined ? { id: command.id } : {}),
        ...(command.clientId !== undefined ? { clientId: command.clientId } : {}),
      };
    }
    try {
      switch (command.kind) {
        case "add": {
          // A retried Add (same ClientId) gets the item the first one created, never a duplicate.
          const earlier = store.itemForClientId(request.device, request.collection, command.clientId) ??
            out.clientIds.find((c) => c.clientId === command.clientId)?.itemId;
          if (earlier !== undefined) {
            out.touched.add(earlier);
            return { kind: "add", clientId: command.clientId, id: earlier, status: SYNC_STATUS.Success };
          }
          const added = await source.add(command.item);
          out.upserts.push(record(added));
          out.clientIds.push({ clientId: command.clientId, itemId: added.id });
          out.touched.add(added.id);
          return { kind: "add", clientId: command.clientId, id: added.id, status: SYNC_STATUS.Success };
        }
        case "change": {
          const held = known.get(command.id);
          const now = current?.get(command.id);
          if (
            request.conflict !== CONFLICT.ClientWins && held && now && !held.failed &&
            held.token !== now.token
          ) {
            // Server wins (the default): the server's version goes out in this response.
            return { kind: "change", id: command.id, status: SYNC_STATUS.Conflict };
          }
          const changed = await source.change(command.id, command.item);
          if (!changed) return { kind: "change", id: command.id, status: SYNC_STATUS.ObjectNotFound };
          out.upserts.push(record(changed));
          out.touched.add(command.id);
          return { kind: "change", id: command.id, status: SYNC_STATUS.Success };
        }
        case "delete": {
          const removed = await source.remove(command.id);
          out.removes.push(command.id);
          out.touched.add(command.id);
          return {
            kind: "delete",
            id: command.id,
            status: removed ? SYNC_STATUS.Success : SYNC_STATUS.ObjectNotFound,
          };
        }
        case "fetch":
          return { kind: "fetch", id: command.id, status: SYNC_STATUS.Success };
      }
    } catch (error) {
      const status = error instanceof EasStatusError
        ? error.status
        : error instanceof ModelSyntaxError
        ? SYNC_STATUS.ConversionError
        : undefined;
      if (status === undefined) throw error;
      const base = { kind: command.kind, status } as ClientResponse<T>;
      if ("id" in command) base.id = command.id;
      if ("clientId" in command) base.clientId = command.clientId;
      return base;
    }
  }
}

/** Fills the items of Fetch responses (Status 8 when the item is gone). */
async function fetchResponses<T>(
  responses: ClientResponse<T>[],
  source: SyncSource<T>,
): Promise<ClientResponse<T>[]> {
  const wanted = responses.filter((r) => r.kind === "fetch" && r.status === SYNC_STATUS.Success).map((r) =>
    r.id!
  );
  if (!wanted.length) return responses;
  const items = new Map<string, T>();
  for await (const got of source.fetch(wanted, "add")) {
    if (!("error" in got)) items.set(got.id, got.item);
  }
  return responses.map((r) => {
    if (r.kind !== "fetch" || r.status !== SYNC_STATUS.Success) return r;
    const item = items.get(r.id!);
    return item === undefined ? { ...r, status: SYNC_STATUS.ObjectNotFound } : { ...r, item };
  });
}

/** One change the engine plans to send. */
export interface PlannedChange {
  kind: OutChange<unknown>["kind"];
  id: string;
  date: number;
}

/** Orders what the device lacks: deletes, soft deletes and changes first (small), then adds newest first. */
function planChanges(
  known: Map<string, ItemRecord>,
  current: Map<string, ItemState>,
  full: boolean,
  vanished: string[],
  cutoff: Date | undefined,
  touched: Set<string>,
): { ordered: PlannedChange[]; silentRemoves: string[] } {
  const limit = cutoff?.getTime() ?? -Infinity;
  const removals: PlannedChange[] = [];
  const updates: PlannedChange[] = [];
  const adds: PlannedChange[] = [];
  const silentRemoves: string[] = [];
  const gone = new Set(vanished);
  for (const held of known.values()) {
    if (touched.has(held.id)) continue;
    const missing = full ? !current.has(held.id) : gone.has(held.id);
    if (missing || held.date < limit) {
      if (held.failed) silentRemoves.push(held.id);
      else {removals.push({
          kind: missing && held.date >= limit ? "delete" : "softDelete",
          id: held.id,
          date: held.date,
        });}
    }
  }
  for (const item of current.values()) {
    if (touched.has(item.id) || item.date < limit) continue;
    const held = known.get(item.id);
    if (!held) adds.push({ kind: "add", id: item.id, date: item.date });
    else if (held.token !== item.token) {
      updates.push({ kind: held.failed ? "add" : "change", id: item.id, date: item.date });
    }
  }
  const retried = updates.filter((u) => u.kind === "add");
  const allAdds = [...adds, ...retried].sort((a, b) => b.date - a.date || Number(b.id) - Number(a.id));
  return { ordered: [...removals, ...updates.filter((u) => u.kind === "change"), ...allAdds], silentRemoves };
}

async function replay<T>(
  request: CollectionRequest<T>,
  deps: EngineDeps<T>,
  state: CollectionState,
  options: string,
  latestKey: string,
): Promise<CollectionResult<T>> {
  const stored = JSON.parse(state.replay || JSON.stringify(EMPTY_REPLAY)) as ReplayRecord;
  const responses: ClientResponse<T>[] = stored.responses.map((r) => ({ ...r }));
  // Commands the lost response did not cover (rare: the device changed its request) are applied now.
  const fresh = request.commands.filter((c) =>
    !stored.responses.some((r) =>
      c.kind === "add" ? r.clientId === c.clientId : "id" in c && c.id !== undefined && r.id === c.id
    )
  );
  const known = deps.store.items(request.device, request.collection);
  const applied = await applyCommands({ ...request, commands: fresh }, deps, known, undefined, options);
  if (applied.upserts.length || applied.removes.length || applied.clientIds.length) {
    deps.store.commit(request.device, request.collection, {
      state: { ...state, options },
      upserts: applied.upserts,
      removes: applied.removes,
      clientIds: applied.clientIds,
    });
  }
  responses.push(...applied.responses);
  const changes: OutChange<T>[] = [];
  for (const id of stored.deletes) changes.push({ kind: "delete", id });
  for (const id of stored.softDeletes) changes.push({ kind: "softDelete", id });
  let later: CollectionResult<T>["later"];
  if (request.lazy) {
    // The lost window again, fetched while it is written, as the first time.
    later = {
      count: stored.adds.length + stored.changes.length,
      items: fetchLater(deps.source, { add: stored.adds, change: stored.changes }, deps.onSkip),
    };
  } else {
    for (const mode of ["change", "add"] as const) {
      const ids = mode === "add" ? stored.adds : stored.changes;
      if (!ids.length) continue;
      const got = new Map<string, T>();
      for await (const item of deps.source.fetch(ids, mode)) {
        if (!("error" in item)) got.set(item.id, item.item);
      }
      for (const id of ids) {
        const item = got.get(id);
        if (item !== undefined) changes.push({ kind: mode, id, item });
      }
    }
  }
  return {
    status: SYNC_STATUS.Success,
    syncKey: latestKey,
    responses: await fetchResponses(responses, deps.source),
    changes,
    moreAvailable: stored.more,
    replayed: true,
    options,
    ...(later ? { later } : {}),
  };
}

function sameGeneration(state: CollectionState, options: string) {
  return { state: { ...state, options }, upserts: [], removes: [], clientIds: [] };
}

function record(state: ItemState): ItemRecord {
  return { id: state.id, token: state.token, date: state.date, failed: false };
}

function order<T>(change: OutChange<T>, current: Map<string, ItemState>): number {
  const rank = { delete: 0, softDelete: 1, change: 2, add: 3 }[change.kind];
  return rank * 1e15 - (change.kind === "add" ? current.get(change.id)?.date ?? 0 : 0);
}

function result<T>(status: number, syncKey: string, options: string): CollectionResult<T> {
  return { status, syncKey, responses: [], changes: [], moreAvailable: false, replayed: false, options };
}
