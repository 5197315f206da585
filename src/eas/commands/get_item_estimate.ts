import { FILTER_INCOMPLETE_TASKS, isItemFolderSource } from "../../backend/items.ts";
import { isMailSource } from "../../backend/mail.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { estimateChanges } from "../sync/engine.ts";
import { mailSyncSource } from "../sync/mail_source.ts";
import { DEFAULT_SYNC_OPTIONS, parseSyncOptions, type SyncOptions } from "../sync/options.ts";
import type { SyncSource } from "../sync/types.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "GetItemEstimate";

/** GetItemEstimate statuses (MS-ASCMD 2.2.3.177.6). */
export const ESTIMATE_STATUS = {
  Success: 1,
  InvalidCollection: 2,
  SyncStateNotPrimed: 3,
  InvalidSyncKey: 4,
} as const;

/**
 * GetItemEstimate (MS-ASCMD 2.2.1.9): how many changes the next Sync of each
 * collection would bring, without changing any state. Reads both request
 * forms: 12.x puts FilterType (and Class) in the collection, 14.x in AirSync
 * Options.
 */
export async function getItemEstimate(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const collections = childrenNamed(child(request.body, "Collections", NS), "Collection", NS);
  if (request.body?.name !== NS || !collections.length) {
    return { body: el(NS, NS, el(NS, "Response", textEl(NS, "Status", ESTIMATE_STATUS.InvalidCollection))) };
  }
  const responses: WbxmlElement[] = [];
  for (const collection of collections) {
    const collectionId = childText(collection, "CollectionId", NS) ?? "";
    const answer = (status: number, estimate?: number) =>
      el(
        NS,
        "Response",
        textEl(NS, "Status", status),
        el(
          NS,
          "Collection",
          textEl(NS, "CollectionId", collectionId),
          estimate !== undefined ? textEl(NS, "Estimate", estimate) : undefined,
        ),
      );
    responses.push(await estimateOne(collection, collectionId, ctx, answer));
  }
  return { body: el(NS, NS, ...responses) };
}

async function estimateOne(
  collection: WbxmlElement,
  collectionId: string,
  ctx: CommandContext,
  answer: (status: number, estimate?: number) => WbxmlElement,
): Promise<WbxmlElement> {
  const syncKey = childText(collection, "SyncKey", "AirSync");
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, collectionId);
  if (!folderKey || syncKey === undefined) return answer(ESTIMATE_STATUS.InvalidCollection);
  if (syncKey === "0") return answer(ESTIMATE_STATUS.SyncStateNotPrimed);
  const state = ctx.store.syncState.collection(ctx.device.id, collectionId);
  if (!state) return answer(ESTIMATE_STATUS.SyncStateNotPrimed);
  let options: SyncOptions = state.options ? JSON.parse(state.options) as SyncOptions : DEFAULT_SYNC_OPTIONS;
  try {
    // 12.x: AirSync:FilterType directly in the collection; 14.x: in AirSync:Options.
    options = parseSyncOptions(collection, options);
    options = parseSyncOptions(child(collection, "Options", "AirSync"), options);
  } catch (error) {
    if (error instanceof EasStatusError) return answer(ESTIMATE_STATUS.InvalidCollection);
    throw error;
  }
  const owner = ctx.backend.sourceOf(folderKey);
  let source: SyncSource<unknown>;
  if (isItemFolderSource(owner)) {
    // FilterType 8 means incomplete tasks in a Tasks collection (MS-ASCMD 2.2.3.71.1); the shared parser drops it.
    const filters = [collection, child(collection, "Options", "AirSync")].map((e) =>
      childText(e, "FilterType", "AirSync")
    );
    if (owner.folderClassOf(folderKey) === "Tasks" && filters.includes(String(FILTER_INCOMPLETE_TASKS))) {
      options = { ...options, filterType: FILTER_INCOMPLETE_TASKS };
    }
    source = owner.syncSource(folderKey, {
      bodyPreferences: options.bodyPreferences,
      filterType: options.filterType,
    });
  } else if (isMailSource(owner)) {
    source = mailSyncSource({
      backend: owner,
      folderKey,
      folderServerId: collectionId,
      version: ctx.protocolVersion,
      options,
      deletesAsMoves: true,
    });
  } else return answer(ESTIMATE_STATUS.Success, 0);
  const estimate = await estimateChanges(
    { device: ctx.device.id, collection: collectionId, syncKey, filterType: options.filterType },
    { store: ctx.store.syncState, source },
  );
  return estimate === undefined
    ? answer(ESTIMATE_STATUS.InvalidSyncKey)
    : answer(ESTIMATE_STATUS.Success, estimate);
}
