/**
 * Pure MIME library shared by the IMAP bridge (MIME to EAS) and the SMTP bridge (building
 * replies, forwards and iMIP messages): parsing with byte offsets into the input, on-demand
 * decoding, RFC 2047/2231 headers, address lists, HTML/text conversion and message building.
 * No I/O, no `Deno.*`.
 *
 * @module
 */

export { MimeSyntaxError } from "./errors.ts";
export { MIME_LIMITS } from "./limits.ts";
export { decodeCharset, normalizeCharset } from "./charset.ts";
export { decodeHeaderValue, encodeHeaderValue, encodeWords, foldHeader } from "./encoded_words.ts";
export { type HeaderField, HeaderMap, type ParameterizedValue, parseParameterized } from "./headers.ts";
export {
  type ContentDisposition,
  type ContentType,
  isMessage,
  isMultipart,
  type MimePart,
  parseMessage,
  type ParseOptions,
  rawBody,
  walkParts,
} from "./parse.ts";
export { decodeBody, decodeText, estimateDecodedSize } from "./decode.ts";
export { type Address, formatAddress, formatAddressList, parseAddressList } from "./address.ts";
export { ATTACHMENT_METHOD, type AttachmentInfo, type MessageSummary, summarize } from "./summarize.ts";
export { decodeEntities, escapeHtml, htmlToText, textToHtml } from "./html_text.ts";
export {
  type AttachmentInput,
  buildMessage,
  type BuildNode,
  type BuildOptions,
  type CalendarInput,
  formatDate,
  type HeaderLine,
  newMessageId,
  serializeNode,
} from "./build.ts";
export { buildReplyOrForward, type ReplyForwardOptions } from "./reply_forward.ts";
export { type HeaderEnvelope, headerEnvelope, prependHeaderFields, removeHeaderFields } from "./envelope.ts";
