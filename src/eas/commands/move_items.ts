import { MailFolderError } from "../../backend/mail_operations.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { isMailKey } from "./_folder_change.ts";
import { parseItemId } from "./_item_id.ts";
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
 * ids resolve only through the user's own ids. Moves of calendar, contacts
 * and tasks items are not offered yet (DAV bridge): they answer Status 5
 * rather than pretending to succeed.
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
  for (const move of moves) {
    const srcMsgId = childText(move, "SrcMsgId", NS) ?? "";
    const result = await moveOne(
      ctx,
      srcMsgId,
      childText(move, "SrcFldId", NS) ?? "",
      childText(move, "DstFldId", NS) ?? "",
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
): Promise<{ status: number; dstMsgId?: string }> {
  const source = parseItemId(ctx, srcMsgId, srcFldId || undefined);
  if (!source) return { status: MOVE_STATUS.InvalidSource };
  const dstKey = dstFldId ? ctx.store.folders.backendKeyOf(ctx.user, dstFldId) : undefined;
  if (dstKey === undefined) return { status: MOVE_STATUS.InvalidDestination };
  if (dstKey === source.folderKey) return { status: MOVE_STATUS.SameFolder };
  if (!isMailKey(source.folderKey)) return { status: MOVE_STATUS.Failure };
  // Mail cannot go into a calendar or contacts folder.
  if (!isMailKey(dstKey)) return { status: MOVE_STATUS.InvalidDestination };
  if (!ctx.mailOps) return { status: MOVE_STATUS.Failure };
  try {
    const uid = await ctx.mailOps.moveMessage(source.folderKey, source.uid, dstKey);
    const result: { status: number; dstMsgId?: string } = { status: MOVE_STATUS.Success };
    // Without UIDPLUS the new UID is unknown: the phone learns it from the next Sync of the destination.
    if (uid !== undefined) result.dstMsgId = `${dstFldId}:${uid}`;
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
