import type { FolderScan, ItemState } from "../../backend/mail.ts";
import type { CollectionCommit, CollectionState, ItemRecord } from "../../store/sync_state.ts";

/** One item fetched for a device: the converted object, or why it could not be converted. */
export type SourceItem<T> = { id: string; item: T; state: ItemState } | { id: string; error: Error };

/**
 * What the engine needs from a folder of one class (mail, later calendar,
 * contacts...): change detection, fetch, and the phone's writes. Commands
 * adapt a backend to this per collection.
 */
export interface SyncSource<T> {
  /** Cheap fingerprint of the folder; equal to the stored one means nothing changed. */
  cursor(): Promise<string>;
  scan(since: Date | undefined, cursor: string | undefined): Promise<FolderScan>;
  /** Converted items; ids that no longer exist are left out. `mode` "change" may fetch less. */
  fetch(ids: string[], mode: "add" | "change"): AsyncIterable<SourceItem<T>>;
  add(item: T): Promise<ItemState>;
  change(id: string, item: T): Promise<ItemState | undefined>;
  remove(id: string): Promise<boolean>;
}

/** The state the engine reads and writes (SyncStateRepository implements it). */
export interface SyncStore {
  collection(device: number, collection: string): CollectionState | undefined;
  items(device: number, collection: string): Map<string, ItemRecord>;
  itemForClientId(device: number, collection: string, clientId: string): string | undefined;
  commit(device: number, collection: string, change: CollectionCommit): void;
}

/** A command from the phone inside a collection (MS-ASCMD 2.2.3.30 Commands). */
export type ClientCommand<T> =
  | { kind: "add"; clientId: string; item: T }
  | { kind: "change"; id: string; item: T }
  | { kind: "delete"; id: string }
  | { kind: "fetch"; id: string }
  /** A command the adapter could not read (bad values): answered with `status`. */
  | {
    kind: "invalid";
    command: "add" | "change" | "delete" | "fetch";
    id?: string;
    clientId?: string;
    status: number;
  };

/** The answer to one phone command (Responses). */
export interface ClientResponse<T> {
  kind: "add" | "change" | "delete" | "fetch";
  clientId?: string;
  id?: string;
  status: number;
  /** The fetched item (Fetch only). */
  item?: T;
}

/** A change the server sends the phone. */
export type OutChange<T> =
  | { kind: "add" | "change"; id: string; item: T }
  | { kind: "delete" | "softDelete"; id: string };

/** One collection of a Sync request, as the engine takes it. */
export interface CollectionRequest<T> {
  device: number;
  /** The collection's ServerId (state key). */
  collection: string;
  syncKey: string;
  getChanges: boolean;
  windowSize: number;
  filterType: number;
  /** CONFLICT value. */
  conflict: number;
  commands: ClientCommand<T>[];
  /** Options to keep for the collection (JSON), "" to keep the stored ones. */
  options: string;
  /**
   * Fetch the window's added and changed items while the response is written
   * (mail: a window is never held whole, memory stays per item). The result's `later`
   * yields them; the window is committed with the scan's item states.
   */
  lazy?: boolean;
}

/** The engine's answer for one collection. */
export interface CollectionResult<T> {
  status: number;
  syncKey: string;
  responses: ClientResponse<T>[];
  changes: OutChange<T>[];
  moreAvailable: boolean;
  /** The response repeats the previous one (the device resent its previous key). */
  replayed: boolean;
  /** Options stored for the collection (JSON), for the caller to reuse. */
  options: string;
  /** With `lazy`: the window's adds and changes, fetched one by one as they are read (after `changes`). */
  later?: { count: number; items: AsyncIterable<OutChange<T>> };
  /**
   * The source cursor the device is now up to date with, when this response
   * ended the folder's changes (no MoreAvailable); Direct Push marks it seen.
   */
  cursor?: string;
}

/** What a replay needs to rebuild a response (stored per generation, ids only). */
export interface ReplayRecord {
  adds: string[];
  changes: string[];
  deletes: string[];
  softDeletes: string[];
  responses: { kind: ClientResponse<unknown>["kind"]; clientId?: string; id?: string; status: number }[];
  more: boolean;
}
