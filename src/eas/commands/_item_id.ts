import type { CommandContext } from "./context.ts";

/** A mail item ServerId resolved to the user's folder key and UID. */
export interface ItemRef {
  itemId: string;
  folderId: string;
  folderKey: string;
  uid: number;
}

/**
 * Resolves "<folder ServerId>:<UID>" through the user's own folder ids, so a
 * crafted id never reaches another user's mailbox. The LongId of a search
 * result has the same form. A FolderId given apart must agree.
 */
export function parseItemId(ctx: CommandContext, itemId: string, folderId?: string): ItemRef | undefined {
  const match = /^([^:]{1,64}):([1-9]\d{0,9})$/.exec(itemId);
  if (!match) return undefined;
  const [, itemFolder, uidText] = match;
  if (folderId !== undefined && folderId !== itemFolder) return undefined;
  const uid = Number(uidText);
  if (uid > 0xffffffff) return undefined;
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, itemFolder!);
  if (folderKey === undefined) return undefined;
  return { itemId, folderId: itemFolder!, folderKey, uid };
}
