import { EasHttpError } from "../protocol/errors.ts";
import { resolveMailRef } from "../sync/mail_refs.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/**
 * GetAttachment (MS-ASCMD 2.2.1.8, protocol 12.1 and earlier): the attachment
 * named by the AttachmentName query parameter (our FileReference
 * "<folder>:<uid>:<section>") as the raw response body, streamed. A missing
 * attachment is HTTP 500, as the spec has no in-band status for it.
 */
export async function getAttachment(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const name = request.query.attachmentName;
  if (!name) throw new EasHttpError(400, "Query parameter 'AttachmentName' is missing");
  const ref = resolveMailRef(name, {
    backendKeyOf: (id) => ctx.store.folders.backendKeyOf(ctx.user, id),
    sourceOf: (key) => ctx.backend.sourceOf(key),
  }, true);
  if (!ref) throw new EasHttpError(500, `Attachment '${name}' does not exist`);
  const content = await ref.backend.fetchAttachment(ref.folderKey, ref.id, ref.section!);
  if (!content) throw new EasHttpError(500, `Attachment '${name}' does not exist`);
  const body = ReadableStream.from(content.open());
  return {
    raw: { contentType: content.contentType, body },
    headers: { "Content-Length": String(content.size) },
  };
}
