import { MailFolderError } from "../../backend/mail_operations.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { isMailKey, itemSourceOf } from "./_folder_change.ts";
import { parseItemId } from "./_item_id.ts";
import type { ItemRecord } from "../../store/sync_state.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "Move";

/** MoveItems statuses (MS-ASCMD 2.2.3.177.9). */
export const MOVE_STATUS = {
  /** Invalid source collection ID or invalid source item ID. */
  InvalidSource: 1,
  /** Invalid destination collection ID. */
  InvalidDestination: 2,
  Success: 3,
  /** Source and destination collection IDs are the same. */
  SameFolder: 4,
  /** The move failed: more than one destination, or the item or folder is locked; the client may retry. */
  Failure: 5,
  /** Source or destination item was locked (a transient server condition). */
  Locked: 7,
} as const;

/** Most Move elements in one request; phones move a selection of tens, never thousands. */
export const MAX_MOVES = 512;

/**
 * MoveItems (MS-ASCMD 2.2.1.12): moves mail between the user's folders with
 * IMAP MOVE (or COPY + delete where the server lacks MOVE) and answers each
 * item's new ServerId "<destination ServerId>:<new UID>" from COPYUID. Folder
 * ids resolve only through the user's own ids. Calendar, contacts, tasks and
 * notes items move between folders of their class through the item source
 * (DAV: PUT into the destination, DELETE from the source). The device's sync
 * state follows the move, so its next Sync does not undo or duplicate what
 * it did itself.
 */
export async function moveItems(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  const moves = childrenNamed(body, "Move", NS);
  if (
    !body || body.name !== "MoveItems" || body.ns !== NS || moves.length === 0 || moves.length > MAX_MOVES
  ) {
    // The top-level Status is only for a request that cannot be processed at all.
    return { body: el(NS, "MoveItems", textEl(NS, "Status", MOVE_STATUS.Failure)) };
  }
  const responses: WbxmlElement[] = [];
  const held = new HeldItems(ctx);
  for (const move of moves) {
    const srcMsgId = childText(move, "SrcMsgId", NS) ?? "";
    const result = await moveOne(
      ctx,
      srcMsgId,
      childText(move, "SrcFldId", NS) ?? "",
      childText(move, "DstFldId", NS) ?? "",
      held,
    );
    responses.push(
      el(
        NS,
        "Response",
        // The schema bounds SrcMsgId to 1..64 characters; ours are far shorter, a junk id is echoed cut.
        textEl(NS, "SrcMsgId", srcMsgId.slice(0, 64) || "0"),
        textEl(NS, "Status", result.status),
        result.dstMsgId !== undefined && textEl(NS, "DstMsgId", result.dstMsgId),
      ),
    );
  }
  return { body: el(NS, "MoveItems", ...responses) };
}

/** One Move element's outcome. */
async function moveOne(
  ctx: CommandContext,
  srcMsgId: string,
  srcFldId: string,
  dstFldId: string,
  held: HeldItems,
): Promise<{ status: number; dstMsgId?: string }> {
  const source = parseItemId(ctx, srcMsgId, srcFldId || undefined);
  if (!source) return { status: MOVE_STATUS.InvalidSource };
  const dstKey = dstFldId ? ctx.store.folders.backendKeyOf(ctx.user, dstFldId) : undefined;
  if (dstKey === undefined) return { status: MOVE_STATUS.InvalidDestination };
  if (dstKey === source.folderKey) return { status: MOVE_STATUS.SameFolder };
  // Calendar, contacts, tasks and notes items move only into another folder of the same class.
  const items = isMailKey(source.folderKey) ? undefined : itemSourceOf(ctx, source.folderKey);
  if (!isMailKey(source.folderKey) && !items) return { status: MOVE_STATUS.Failure };
  const fits = items
    ? itemSourceOf(ctx, dstKey) === items &&
      items.folderClassOf(dstKey) === items.folderClassOf(source.folderKey)
    : isMailKey(dstKey);
  if (!fits) return { status: MOVE_STATUS.InvalidDestination };
  if (!items && !ctx.mailOps) return { status: MOVE_STATUS.Failure };
  try {
    const uid = items
      ? Number(await items.moveItem(source.folderKey, String(source.uid), dstKey))
      : await ctx.mailOps!.moveMessage(source.folderKey, source.uid, dstKey);
    const result: { status: number; dstMsgId?: string } = { status: MOVE_STATUS.Success };
    // Without UIDPLUS the new UID is unknown: the phone learns it from the next Sync of the destination.
    if (uid !== undefined) {
      result.dstMsgId = `${dstFldId}:${uid}`;
      held.move(source.folderId, source.uid, dstFldId, uid);
    }
    return result;
  } catch (error) {
    if (error instanceof MailFolderError) {
      if (error.failure === "not-found") return { status: MOVE_STATUS.InvalidSource };
      if (error.failure === "parent-not-found") return { status: MOVE_STATUS.InvalidDestination };
      return { status: MOVE_STATUS.Failure };
    }
    // The mailstore is unreachable or busy: the phone retries the move later.
    if (error instanceof BackendUnavailableError) return { status: MOVE_STATUS.Locked };
    throw error;
  }
}

/**
 * Carries the moved item in this device's sync state from the source
 * collection to the destination under its new id, as the phone itself moved
 * it: the next Sync then neither deletes it from the source nor adds it to
 * the destination a second time. Other devices learn of the move by Sync as
 * usual. Item maps are loaded once per collection and request.
 */
class HeldItems {
  readonly #maps = new Map<string, Map<string, ItemRecord>>();
  constructor(private readonly ctx: CommandContext) {}

  move(srcCollection: string, uid: number, dstCollection: string, newUid: number): void {
    const sync = this.ctx.store.syncState;
    const device = this.ctx.device.id;
    const src = sync.collection(device, srcCollection);
    if (!src) return;
    let items = this.#maps.get(srcCollection);
    if (!items) this.#maps.set(srcCollection, items = sync.items(device, srcCollection));
    const record = items.get(String(uid));
    if (!record) return;
    items.delete(String(uid));
    const dst = sync.collection(device, dstCollection);
    this.ctx.store.db.transaction(() => {
      sync.commit(device, srcCollection, { state: src, upserts: [], removes: [record.id], clientIds: [] });
      if (dst) {
        const moved = { ...record, id: String(newUid) };
        sync.commit(device, dstCollection, { state: dst, upserts: [moved], removes: [], clientIds: [] });
        this.#maps.get(dstCollection)?.set(moved.id, moved);
      }
    });
  }
}
