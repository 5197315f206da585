import { type ContentStream, isMailSource } from "../../backend/mail.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { encode, type StreamElement } from "../../wbxml/mod.ts";
import { child, childText, el, opaqueEl, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { EMAIL_SCHEMA } from "../model/email.ts";
import { toElements } from "../model/streamer.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { resolveMailRef } from "../sync/mail_refs.ts";
import { parseSyncOptions } from "../sync/options.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

const NS = "ItemOperations";

/** ItemOperations statuses (MS-ASCMD 2.2.3.177.8). */
export const ITEM_OPERATIONS_STATUS = {
  Success: 1,
  ProtocolError: 2,
  ServerError: 3,
  ObjectNotFound: 6,
  ByteRangeInvalid: 8,
  StoreUnknown: 9,
  ConversionFailure: 14,
  InvalidAttachment: 15,
  ActionNotSupported: 156,
} as const;

/** Attachments up to this size go inline as base64 text; larger ones are streamed (opaque chunks or multipart). */
const INLINE_DATA_BYTES = 256 * 1024;

/** A part of a multipart response (MS-ASCMD 2.2.2.10.1) besides the WBXML one. */
interface BinaryPart {
  length: number;
  chunks: () => AsyncIterable<Uint8Array>;
}

/**
 * ItemOperations (MS-ASCMD 2.2.1.10): Fetch of a mail item by ServerId (body
 * preferences or MIME) or of an attachment by FileReference (with Range),
 * and EmptyFolderContents. With "MS-ASAcceptMultiPart: T" binary content goes
 * as parts of a multipart body; otherwise large attachments stream as
 * base64 inside the WBXML. Nothing is held whole in memory.
 */
export async function itemOperations(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  if (!body || body.ns !== NS || body.name !== "ItemOperations" || !body.children?.length) {
    return { body: el(NS, "ItemOperations", textEl(NS, "Status", ITEM_OPERATIONS_STATUS.ProtocolError)) };
  }
  const multipart = request.headers.get("MS-ASAcceptMultiPart")?.toUpperCase() === "T" ||
    request.query.acceptMultiPart === true;
  const parts: BinaryPart[] = [];
  const moves: WbxmlElement[] = [];
  const empties: WbxmlElement[] = [];
  const fetches: StreamElement[] = [];
  for (const operation of body.children) {
    try {
      if (operation.name === "Fetch") fetches.push(await fetchOne(operation, ctx, multipart, parts));
      else if (operation.name === "EmptyFolderContents") empties.push(await emptyFolder(operation, ctx));
      else if (operation.name === "Move") moves.push(await moveConversation(operation, ctx));
      else {
        return {
          body: el(NS, "ItemOperations", textEl(NS, "Status", ITEM_OPERATIONS_STATUS.ActionNotSupported)),
        };
      }
    } catch (error) {
      if (error instanceof BackendUnavailableError) throw error;
      if (!(error instanceof EasStatusError)) throw error;
      const status = textEl(NS, "Status", error.status);
      if (operation.name === "Fetch") fetches.push(el(NS, "Fetch", status));
      else if (operation.name === "Move") {
        const id = child(operation, "ConversationId", NS);
        moves.push(
          el(NS, "Move", status, id ? opaqueEl(NS, "ConversationId", conversationBytes(id)) : undefined),
        );
      } else empties.push(el(NS, "EmptyFolderContents", status));
    }
  }
  const tree: StreamElement = {
    ns: NS,
    name: "ItemOperations",
    children: [
      textEl(NS, "Status", ITEM_OPERATIONS_STATUS.Success),
      // The schema's order: Move, EmptyFolderContents, Fetch.
      { ns: NS, name: "Response", children: [...moves, ...empties, ...fetches] },
    ],
  };
  if (multipart) {
    return {
      raw: { contentType: "application/vnd.ms-sync.multipart", body: multipartBody(encodeTree(tree), parts) },
    };
  }
  return { stream: tree };
}

async function fetchOne(
  operation: WbxmlElement,
  ctx: CommandContext,
  multipart: boolean,
  parts: BinaryPart[],
): Promise<StreamElement> {
  const store = childText(operation, "Store", NS);
  if (store !== undefined && store.toLowerCase() !== "mailbox") {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.StoreUnknown, `Store '${store}' is not supported`);
  }
  const options = child(operation, "Options", NS);
  const resolver = {
    backendKeyOf: (id: string) => ctx.store.folders.backendKeyOf(ctx.user, id),
    sourceOf: (key: string) => ctx.backend.sourceOf(key),
  };
  const fileReference = childText(operation, "FileReference", "AirSyncBase");
  if (fileReference !== undefined) {
    const ref = resolveMailRef(fileReference, resolver, true);
    if (!ref) {
      throw new EasStatusError(ITEM_OPERATIONS_STATUS.InvalidAttachment, "FileReference is not valid");
    }
    const content = await ref.backend.fetchAttachment(ref.folderKey, ref.id, ref.section!);
    if (!content) throw new EasStatusError(ITEM_OPERATIONS_STATUS.InvalidAttachment, "Attachment not found");
    const range = parseRange(childText(options, "Range", NS), content.size);
    const properties: StreamElement[] = [textEl("AirSyncBase", "ContentType", content.contentType)];
    if (range.explicit) {
      properties.push(textEl(NS, "Range", `${range.offset}-${range.offset + range.length - 1}`));
    }
    properties.push(textEl(NS, "Total", content.size));
    properties.push(await dataElement(content, range, multipart, parts));
    return {
      ns: NS,
      name: "Fetch",
      children: [
        textEl(NS, "Status", ITEM_OPERATIONS_STATUS.Success),
        textEl("AirSyncBase", "FileReference", fileReference),
        { ns: NS, name: "Properties", children: properties },
      ],
    };
  }
  const collectionId = childText(operation, "CollectionId", "AirSync");
  const serverId = childText(operation, "ServerId", "AirSync");
  if (collectionId === undefined || serverId === undefined) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ProtocolError, "Fetch names no item");
  }
  const ref = resolveMailRef(serverId, resolver, false);
  if (!ref || ref.folderServerId !== collectionId) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ObjectNotFound, `Item '${serverId}' not found`);
  }
  const sync = parseSyncOptions(options, { ...parseSyncOptions(undefined), mimeSupport: 0 });
  let properties: WbxmlElement[] | undefined;
  for await (
    const got of ref.backend.fetchEmails(ref.folderKey, [ref.id], {
      version: ctx.protocolVersion,
      bodyPreferences: sync.bodyPreferences,
      bodyPartPreferences: sync.bodyPartPreferences,
      mimeSupport: sync.mimeSupport,
      folderServerId: ref.folderServerId,
    })
  ) {
    if ("error" in got) {
      throw new EasStatusError(ITEM_OPERATIONS_STATUS.ConversionFailure, got.error.message);
    }
    properties = toElements(EMAIL_SCHEMA, got.email, { version: ctx.protocolVersion });
  }
  if (!properties) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ObjectNotFound, `Item '${serverId}' not found`);
  }
  return el(
    NS,
    "Fetch",
    textEl(NS, "Status", ITEM_OPERATIONS_STATUS.Success),
    textEl("AirSync", "CollectionId", collectionId),
    textEl("AirSync", "ServerId", serverId),
    textEl("AirSync", "Class", "Email"),
    { ns: NS, name: "Properties", children: properties },
  );
}

async function emptyFolder(operation: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  const collectionId = childText(operation, "CollectionId", "AirSync") ?? "";
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, collectionId);
  const source = folderKey ? ctx.backend.sourceOf(folderKey) : undefined;
  if (!folderKey || !isMailSource(source)) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ObjectNotFound, `Folder '${collectionId}' not found`);
  }
  const deleteSubfolders = child(child(operation, "Options", NS), "DeleteSubFolders", NS) !== undefined;
  await source.emptyFolder(folderKey, { deleteSubfolders });
  return el(
    NS,
    "EmptyFolderContents",
    textEl(NS, "Status", ITEM_OPERATIONS_STATUS.Success),
    textEl("AirSync", "CollectionId", collectionId),
  );
}

/**
 * Move of a conversation (MS-ASCMD 2.2.3.110.1): every message with the
 * ConversationId goes to DstFldId. MoveAlways (moving future messages too)
 * is not kept: IMAP has no rule store for it.
 */
async function moveConversation(operation: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  const idElement = child(operation, "ConversationId", NS);
  const destination = childText(operation, "DstFldId", NS);
  if (!idElement || destination === undefined) {
    throw new EasStatusError(
      ITEM_OPERATIONS_STATUS.ProtocolError,
      "Move needs 'ConversationId' and 'DstFldId'",
    );
  }
  const conversationId = conversationBytes(idElement);
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, destination);
  const source = folderKey ? ctx.backend.sourceOf(folderKey) : undefined;
  if (!folderKey || !isMailSource(source)) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ObjectNotFound, `Folder '${destination}' not found`);
  }
  await source.moveConversation(conversationId, folderKey);
  return el(
    NS,
    "Move",
    textEl(NS, "Status", ITEM_OPERATIONS_STATUS.Success),
    opaqueEl(NS, "ConversationId", conversationId),
  );
}

function conversationBytes(element: WbxmlElement): Uint8Array {
  return element.opaque ?? new TextEncoder().encode(element.text ?? "");
}

/** A byte range "first-last" (MS-ASCMD 2.2.3.143.1), clipped to the content; the whole content when absent. */
export function parseRange(
  text: string | undefined,
  total: number,
): { offset: number; length: number; explicit: boolean } {
  if (text === undefined) return { offset: 0, length: total, explicit: false };
  const match = /^(\d{1,12})-(\d{1,12})$/.exec(text.trim());
  if (!match) {
    throw new EasStatusError(ITEM_OPERATIONS_STATUS.ByteRangeInvalid, `Range '${text}' is not valid`);
  }
  const first = Number(match[1]);
  const last = Math.min(Number(match[2]), total - 1);
  if (first > last || first >= total) {
    if (total === 0 && first === 0) return { offset: 0, length: 0, explicit: true };
    throw new EasStatusError(
      ITEM_OPERATIONS_STATUS.ByteRangeInvalid,
      `Range '${text}' is outside the content`,
    );
  }
  return { offset: first, length: last - first + 1, explicit: true };
}

/**
 * The Data of an attachment: a Part number in multipart mode; base64 text
 * otherwise, streamed as OPAQUE chunks when large (a string element may be
 * written as OPAQUE, MS-ASWBXML 2.1.2.1.2).
 */
async function dataElement(
  content: ContentStream,
  range: { offset: number; length: number; explicit: boolean },
  multipart: boolean,
  parts: BinaryPart[],
): Promise<StreamElement> {
  const open = () => content.open(range.explicit ? range : undefined);
  if (multipart) {
    parts.push({ length: range.length, chunks: open });
    return textEl(NS, "Part", parts.length);
  }
  if (range.length <= INLINE_DATA_BYTES) {
    const chunks: Uint8Array[] = [];
    for await (const chunk of base64Chunks(open())) chunks.push(chunk);
    return textEl(NS, "Data", chunks.map((c) => new TextDecoder().decode(c)).join(""));
  }
  return {
    ns: NS,
    name: "Data",
    opaque: { length: Math.ceil(range.length / 3) * 4, chunks: base64Chunks(open()) },
  };
}

/** Base64 of a byte stream, chunk by chunk (3-byte groups carried over between chunks). */
export async function* base64Chunks(source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  let carry = new Uint8Array(0);
  for await (const chunk of source) {
    const joined = new Uint8Array(carry.length + chunk.length);
    joined.set(carry);
    joined.set(chunk, carry.length);
    const usable = joined.length - (joined.length % 3);
    if (usable) yield new TextEncoder().encode(toBase64(joined.subarray(0, usable)));
    carry = joined.slice(usable);
  }
  if (carry.length) yield new TextEncoder().encode(toBase64(carry));
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function encodeTree(tree: StreamElement): Uint8Array {
  // In multipart mode the WBXML part holds no streamed content: Data became Part numbers.
  return encode(tree as WbxmlElement);
}

/**
 * The multipart body (MS-ASCMD 2.2.2.10.1): part count, then (offset, length)
 * pairs as little-endian 32-bit integers, then the parts; part 0 is the WBXML
 * response. Streams the binary parts as they are read.
 */
export function multipartBody(wbxml: Uint8Array, parts: BinaryPart[]): ReadableStream<Uint8Array> {
  const count = parts.length + 1;
  const header = new Uint8Array(4 + 8 * count);
  const view = new DataView(header.buffer);
  view.setInt32(0, count, true);
  let offset = header.length;
  const lengths = [wbxml.length, ...parts.map((p) => p.length)];
  lengths.forEach((length, i) => {
    view.setInt32(4 + 8 * i, offset, true);
    view.setInt32(8 + 8 * i, length, true);
    offset += length;
  });
  async function* all(): AsyncIterable<Uint8Array> {
    yield header;
    yield wbxml;
    for (const part of parts) yield* part.chunks();
  }
  return ReadableStream.from(all());
}
