/**
 * The shared engine of SendMail (MS-ASCMD 2.2.1.17), SmartForward (2.2.1.19)
 * and SmartReply (2.2.1.20): request parsing for both forms, deduplication,
 * building the outgoing message, submission with the user's credentials,
 * and the follow-ups (flag the original, save to Sent).
 *
 * Two request forms exist:
 * - 14.0 and later: a WBXML body in the ComposeMail namespace with ClientId,
 *   SaveInSentItems, ReplaceMime, Source and the MIME as opaque data.
 * - 12.1 and earlier (MS-ASHTTP 2.2.1.1.1.2): the body is the message/rfc822
 *   MIME itself; ItemId, CollectionId and SaveInSent come from the query.
 *
 * Deduplication (ARCHITECTURE: "SendMail deduplicated by ClientId"): a send
 * claims a key (ClientId per device, else the Message-ID, else the MIME
 * digest) as "submitting" before the SMTP transaction, records "data-sent"
 * right before the end of the message data is written, "data-written" right
 * after, and "sent" in the very turn the server's 250 is read (before QUIT, the Sent copy or anything else);
 * a refused submission releases the claim. A retry of a sent message answers
 * success without submitting. A claim left behind by a crash (or by a broken
 * connection) decides the retry by what it proves:
 * - "submitting": the server never saw the end of the data, and a server
 *   processes a transaction only at its end (RFC 5321 4.1.1.4; a dropped
 *   connection cancels it): nothing was sent, submit again.
 * - "data-written": the end of the data was written to the connection
 *   before the box died. The kernel still sends what was written, and the
 *   server processes a complete transaction whatever its client does next
 *   (RFC 5321 4.1.1.4), so the message is treated as sent: recorded, and the
 *   follow-ups (Sent copy, flag on the original) done, without a second
 *   submission. Only a server that refused the message at its end, in the
 *   same few milliseconds the box died in, makes this a lost mail; a
 *   connection that broke while the box lived goes back to "data-sent".
 * - "data-sent": the box died between recording that the end was about to be
 *   written and writing it (microseconds), or the connection broke after it:
 *   the gap RFC 5321 section 6.1 describes (and RFC 1047): the server may
 *   have accepted the message and its reply never arrived, and SMTP has no
 *   way to ask afterwards. The evidence left is the Message-ID in the Sent
 *   folder (servers that file submitted mail themselves); without it the
 *   message is submitted again, because a lost mail is worse than a
 *   duplicate. Both copies carry the same Message-ID, so recipients' clients
 *   collapse them.
 */
import type { Envelope } from "../../backend/submission.ts";
import { SubmissionError, type SubmissionProgress } from "../../backend/submission.ts";
import { MailFolderError, type MailOperations } from "../../backend/mail_operations.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { buildReplyOrForward, headerEnvelope, MimeSyntaxError, prependHeaderFields } from "../../mime/mod.ts";
import { child, childText, el, textEl, type WbxmlElement } from "../../wbxml/mod.ts";
import { EasHttpError } from "../protocol/errors.ts";
import { COMMON_STATUS } from "../protocol/status.ts";
import { atLeast } from "../protocol/versions.ts";
import { messageIdOf, sha256Hex, topHeaders } from "./_compose_mime.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { type ItemRef, parseItemId } from "./_item_id.ts";

const NS = "ComposeMail";

/** Which of the three compose commands is running. */
export type ComposeCommand = "SendMail" | "SmartReply" | "SmartForward";

/** A compose request in either form, normalized. */
export interface ComposeRequest {
  command: ComposeCommand;
  /** The client's message id (14.0+; required there, MS-ASCMD 2.2.3.28.1). */
  clientId?: string;
  saveInSent: boolean;
  /** The phone sent the whole message: nothing of the original is added (MS-ASCMD 2.2.3.146). */
  replaceMime: boolean;
  /** The original of a reply or forward: "<folder ServerId>:<UID>" plus the folder id when given apart. */
  source?: { folderId?: string; itemId?: string; longId?: string; instanceId?: string };
  mime: Uint8Array;
}

/** Flag set on the original after a reply or forward, so Sync reports LastVerbExecuted (MS-ASEMAIL 2.2.2.40). */
export const ORIGINAL_FLAG = {
  SmartReply: "\\Answered",
  SmartForward: "$Forwarded",
} as const;

/** ClientId: up to 40 characters (MS-ASCMD 2.2.3.28.1); printable so it can sit in a key. */
const CLIENT_ID = /^[\x21-\x7e]{1,40}$/;

/** A failure with its 14.0+ ComposeMail status and the HTTP status 12.1 and earlier get instead. */
class ComposeFailure extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "ComposeFailure";
  }
}

/**
 * Parses either request form. Throws ComposeFailure for an unusable request
 * (Status 103 / 107 / 101).
 */
export function parseComposeRequest(command: ComposeCommand, request: EasRequest): ComposeRequest {
  const body = request.body;
  if (body) {
    if (body.name !== command || body.ns !== NS) {
      throw new ComposeFailure(COMMON_STATUS.InvalidXML, `Request body is not a ${command} element`);
    }
    const mime = child(body, "Mime", NS);
    const mimeBytes = mime?.opaque ??
      (mime?.text !== undefined ? new TextEncoder().encode(mime.text) : undefined);
    if (!mimeBytes || mimeBytes.length === 0) {
      throw new ComposeFailure(COMMON_STATUS.InvalidContent, `${command} has no Mime`);
    }
    const clientId = childText(body, "ClientId", NS);
    if (clientId === undefined || !CLIENT_ID.test(clientId)) {
      throw new ComposeFailure(
        COMMON_STATUS.InvalidContent,
        clientId === undefined
          ? `${command} has no ClientId`
          : `ClientId '${clientId.slice(0, 60)}' is not valid`,
      );
    }
    const parsed: ComposeRequest = {
      command,
      clientId,
      saveInSent: child(body, "SaveInSentItems", NS) !== undefined,
      replaceMime: child(body, "ReplaceMime", NS) !== undefined,
      mime: mimeBytes,
    };
    const source = child(body, "Source", NS);
    if (source) {
      parsed.source = {};
      for (const [tag, key] of SOURCE_FIELDS) {
        const value = childText(source, tag, NS);
        if (value) parsed.source[key] = value;
      }
    }
    return parsed;
  }
  if (request.raw.length === 0) {
    throw new ComposeFailure(COMMON_STATUS.InvalidContent, `${command} has no body`);
  }
  const parsed: ComposeRequest = {
    command,
    saveInSent: request.query.saveInSent,
    replaceMime: false,
    mime: request.raw,
  };
  const { itemId, collectionId, longId } = request.query;
  if (itemId || longId) {
    parsed.source = {};
    if (itemId) parsed.source.itemId = itemId;
    if (collectionId) parsed.source.folderId = collectionId;
    if (longId) parsed.source.longId = longId;
  }
  return parsed;
}

const SOURCE_FIELDS = [
  ["FolderId", "folderId"],
  ["ItemId", "itemId"],
  ["LongId", "longId"],
  ["InstanceId", "instanceId"],
] as const;

/** Runs one compose command and answers in the form the protocol version expects. */
export async function handleCompose(
  command: ComposeCommand,
  request: EasRequest,
  ctx: CommandContext,
): Promise<EasResponse> {
  const xmlForm = request.body !== undefined || atLeast(ctx.protocolVersion, "14.0");
  try {
    await compose(parseComposeRequest(command, request), ctx);
    // Success is an empty 200 in every version (MS-ASCMD 2.2.1.17.2).
    return {};
  } catch (error) {
    const status = statusOf(error);
    if (xmlForm) return { body: statusResponse(command, status) };
    // 12.1 and earlier have no ComposeMail status: Exchange 2007 answered failures with HTTP statuses.
    if (status === COMMON_STATUS.ServerErrorRetryLater) {
      throw new EasHttpError(503, errorMessage(error), { "Retry-After": "30" });
    }
    throw new EasHttpError(500, errorMessage(error));
  }
}

/** The response body carrying a failure status. */
export function statusResponse(command: ComposeCommand, status: number): WbxmlElement {
  return el(NS, command, textEl(NS, "Status", status));
}

/** The ComposeMail status for an error of any layer. */
function statusOf(error: unknown): number {
  if (error instanceof ComposeFailure) return error.status;
  if (error instanceof SubmissionError) {
    switch (error.failure) {
      case "recipient-rejected":
        return COMMON_STATUS.MessageRecipientUnresolved;
      case "too-large":
        return COMMON_STATUS.AttachmentIsTooLarge;
      case "quota":
        return COMMON_STATUS.SendQuotaExceeded;
      case "temporary":
      case "unconfirmed":
        return COMMON_STATUS.ServerErrorRetryLater;
      default:
        return COMMON_STATUS.MailSubmissionFailed;
    }
  }
  if (error instanceof MimeSyntaxError) return COMMON_STATUS.InvalidMIME;
  if (error instanceof BackendUnavailableError) return COMMON_STATUS.ServerErrorRetryLater;
  return COMMON_STATUS.ServerError;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What the dedup claim decided for this attempt: submit; nothing to do (sent
 * and answered before); or finish an attempt a crash cut short after the
 * server had the whole message (record it sent, do the follow-ups).
 */
type Outcome = "submit" | "done" | "finish";

async function compose(request: ComposeRequest, ctx: CommandContext): Promise<void> {
  const { submitter, mailOps } = ctx;
  if (!submitter) {
    throw new ComposeFailure(COMMON_STATUS.MailSubmissionFailed, "No SMTP submission server is configured");
  }
  const headers = topHeaders(request.mime);
  const phoneMessageId = messageIdOf(headers);
  const mimeDigest = await sha256Hex(request.mime);
  const dedupKey = await sha256Hex(
    request.clientId !== undefined
      ? `client:${ctx.device.deviceId}:${request.clientId}`
      : phoneMessageId !== undefined
      ? `mid:${phoneMessageId}`
      : `mime:${mimeDigest}`,
  );
  // The same Message-ID on every attempt of one message, also when the phone gave none.
  const messageId = phoneMessageId ??
    `<${dedupKey.slice(0, 32)}@${domainOf(headerEnvelope(request.mime).from)}>`;

  const outcome = await claim(ctx, request, dedupKey, mimeDigest, messageId, mailOps);
  if (outcome === "done") return;

  const sentMail = ctx.store.sentMail;
  let accepted = false;
  let unconfirmed = false;
  /** Runs in the turn the server's 250 is read; the message is out, so a failing record only logs. */
  const recordAccepted = () => {
    if (accepted) return;
    accepted = true;
    try {
      sentMail.markSent(ctx.user, dedupKey);
    } catch (error) {
      ctx.log?.error("compose.sent_record_failed", { user: ctx.user, error: errorMessage(error) });
    }
  };
  const progress: SubmissionProgress = {
    // Throws when the store cannot take it: the submission then stops before the end of the data.
    dataEnd: () => sentMail.markDataSent(ctx.user, dedupKey),
    // The message is out whatever happens now: a failing record only logs (the retry then resends).
    dataWritten: () => {
      try {
        sentMail.markDataWritten(ctx.user, dedupKey);
      } catch (error) {
        ctx.log?.error("compose.data_written_record_failed", { user: ctx.user, error: errorMessage(error) });
      }
    },
    accepted: recordAccepted,
  };
  // The server had this message when the box died: it is sent; only the follow-ups are left.
  if (outcome === "finish") recordAccepted();
  try {
    const original = request.command === "SendMail" ? undefined : await readOriginal(request, ctx, mailOps);
    let outgoing = phoneMessageId
      ? request.mime
      : prependHeaderFields(request.mime, [`Message-ID: ${messageId}`]);
    if (original) {
      try {
        // With ReplaceMime the phone's MIME is complete; only threading headers are added.
        outgoing = buildReplyOrForward({
          phoneMime: outgoing,
          original: original.message,
          mode: request.command === "SmartReply" ? "reply" : "forward",
          replaceMime: request.replaceMime,
        });
      } catch (error) {
        throw new ComposeFailure(
          COMMON_STATUS.MessageReplyFailed,
          `Original cannot be quoted: ${errorMessage(error)}`,
        );
      }
    }
    const { from, recipients, message } = headerEnvelope(outgoing);
    if (outcome === "submit") {
      await submitter.submit(ctx.credentials, checkEnvelope({ from, recipients }, ctx), message, progress);
    }
    // A submitter that does not report progress: accepted once it resolved.
    recordAccepted();
    await followUps(request, original, outgoing, ctx);
  } catch (error) {
    unconfirmed = error instanceof SubmissionError && error.failure === "unconfirmed";
    throw error;
  } finally {
    // Unknown outcome: the record stays "data-sent" for the retry to decide; refused: forgotten.
    if (unconfirmed) sentMail.abandon(ctx.user, dedupKey);
    else if (!accepted) sentMail.release(ctx.user, dedupKey);
  }
}

/** Claims the dedup key; "done" when an earlier attempt already sent this message. */
async function claim(
  ctx: CommandContext,
  request: ComposeRequest,
  dedupKey: string,
  mimeDigest: string,
  messageId: string,
  mailOps: MailOperations | undefined,
): Promise<Outcome> {
  const found = ctx.store.sentMail.claim(ctx.user, dedupKey, mimeDigest, messageId);
  switch (found.kind) {
    case "claimed":
      return "submit";
    case "sent":
      // A retry whose first answer was lost: it is sent, say so. A different
      // message under an already used ClientId is what MessagePreviouslySent
      // is for (MS-ASCMD 2.2.2: "a message with a duplicate ClientId").
      if (found.sameMessage || request.clientId === undefined) return "done";
      throw new ComposeFailure(
        COMMON_STATUS.MessagePreviouslySent,
        `ClientId '${request.clientId}' was already used for another message`,
      );
    case "in-flight":
      throw new ComposeFailure(
        COMMON_STATUS.ServerErrorRetryLater,
        "The same message is being submitted right now",
      );
    case "stale": {
      // The earlier attempt stopped before the end of the data: the server discarded it.
      if (!found.dataSent) return "submit";
      // The end of the data had been written: the server has the message and processes it
      // though the client went silent (RFC 5321 4.1.1.4); sending again would duplicate it.
      if (found.dataWritten) {
        ctx.log?.warn("compose.finish_after_crash", { user: ctx.user, messageId: found.messageId });
        return "finish";
      }
      // The RFC 5321 6.1 gap (see the module doc): the Sent folder is the only evidence.
      let alreadySent: boolean;
      try {
        alreadySent = mailOps ? await mailOps.sentContains(found.messageId) : false;
      } catch (error) {
        // IMAP down: the record stays "data-sent" and the next retry looks again.
        ctx.store.sentMail.abandon(ctx.user, dedupKey);
        throw error;
      }
      if (!alreadySent) {
        ctx.log?.warn("compose.resubmit_unconfirmed", { user: ctx.user, messageId: found.messageId });
        return "submit";
      }
      ctx.store.sentMail.markSent(ctx.user, dedupKey);
      return "done";
    }
  }
}

/** The original message of a SmartReply/SmartForward, read through the user's own IMAP session. */
async function readOriginal(
  request: ComposeRequest,
  ctx: CommandContext,
  mailOps: MailOperations | undefined,
): Promise<{ folderKey: string; uid: number; message: Uint8Array }> {
  const ref = resolveItem(ctx, request.source);
  if (!ref) throw new ComposeFailure(COMMON_STATUS.ItemNotFound, "Source item is missing or unknown");
  if (!mailOps) throw new ComposeFailure(COMMON_STATUS.ServerError, "No IMAP server is configured");
  try {
    const message = await mailOps.fetchMessage(ref.folderKey, ref.uid);
    if (!message) {
      throw new ComposeFailure(COMMON_STATUS.ItemNotFound, `Source item '${ref.itemId}' does not exist`);
    }
    return { folderKey: ref.folderKey, uid: ref.uid, message };
  } catch (error) {
    if (error instanceof MailFolderError && error.failure === "not-found") {
      throw new ComposeFailure(COMMON_STATUS.ItemNotFound, `Source item '${ref.itemId}' does not exist`);
    }
    throw error;
  }
}

function resolveItem(ctx: CommandContext, source: ComposeRequest["source"]): ItemRef | undefined {
  if (!source) return undefined;
  if (source.itemId) return parseItemId(ctx, source.itemId, source.folderId);
  if (source.longId) return parseItemId(ctx, source.longId);
  return undefined;
}

/** The envelope to submit; refuses a message without recipients (119) or sender (107). */
function checkEnvelope(envelope: Envelope, ctx: CommandContext): Envelope {
  if (envelope.recipients.length === 0) {
    throw new ComposeFailure(COMMON_STATUS.MessageHasNoRecipient, "Message has no To, Cc or Bcc recipient");
  }
  if (envelope.from) return envelope;
  // Phones always write From; a message without one is sent as the login when that is an address.
  if (!ctx.credentials.user.includes("@")) {
    throw new ComposeFailure(COMMON_STATUS.InvalidMIME, "Message has no From address");
  }
  return { from: ctx.credentials.user, recipients: envelope.recipients };
}

/**
 * After the message is out: flag the original and save a copy in Sent. These
 * are best effort: the phone must hear "sent" because it was, and a retry
 * would not send again anyway; a failure is logged, and the phone sees the
 * Sent copy (or its absence) at the next Sync.
 */
async function followUps(
  request: ComposeRequest,
  original: { folderKey: string; uid: number } | undefined,
  outgoing: Uint8Array,
  ctx: CommandContext,
): Promise<void> {
  const mailOps = ctx.mailOps;
  if (!mailOps) return;
  const tasks: [string, Promise<unknown>][] = [];
  if (original && request.command !== "SendMail") {
    tasks.push([
      "flag_original",
      mailOps.addFlag(original.folderKey, original.uid, ORIGINAL_FLAG[request.command]),
    ]);
  }
  if (request.saveInSent) tasks.push(["save_in_sent", mailOps.saveToSent(outgoing)]);
  const results = await Promise.allSettled(tasks.map(([, task]) => task));
  results.forEach((result, i) => {
    if (result.status === "rejected") {
      ctx.log?.warn(`compose.${tasks[i]![0]}_failed`, { user: ctx.user, error: errorMessage(result.reason) });
    } else if (result.value === false) {
      ctx.log?.warn(`compose.${tasks[i]![0]}_failed`, {
        user: ctx.user,
        error: "The account has no Sent folder",
      });
    }
  });
}

function domainOf(address: string): string {
  const at = address.lastIndexOf("@");
  const domain = at >= 0 ? address.slice(at + 1).replace(/[^A-Za-z0-9.-]/g, "") : "";
  return domain || "pushbridge.invalid";
}
