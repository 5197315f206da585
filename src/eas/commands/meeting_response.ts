import { type MeetingAnswer, MeetingRequestError, type Partstat } from "../../backend/items.ts";
import { isMailSource } from "../../backend/mail.ts";
import { SubmissionError } from "../../backend/submission.ts";
import { BackendUnavailableError } from "../../backend/types.ts";
import { buildMessage, decodeText, MimeSyntaxError, parseMessage, summarize } from "../../mime/mod.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { atLeast } from "../protocol/versions.ts";
import { itemSourceOf } from "./_folder_change.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";
import { identityOf } from "./settings.ts";
import { itemIdOf } from "./sync.ts";

const NS = "MeetingResponse";
const ASB = "AirSyncBase";

/** MeetingResponse statuses (MS-ASCMD 2.2.3.177.9). */
export const MEETING_RESPONSE_STATUS = {
  Success: 1,
  /** Not a meeting request, the user organizes it, or an InstanceId on a mail item. */
  InvalidMeetingRequest: 2,
  /** The mailbox or calendar server failed; the phone may retry. */
  MailboxError: 3,
} as const;

/** UserResponse values (MS-ASCMD 2.2.3.194) and the PARTSTAT each one means (RFC 5545 3.2.12). */
export const USER_RESPONSE: Readonly<Record<string, Partstat>> = {
  "1": "ACCEPTED",
  "2": "TENTATIVE",
  "3": "DECLINED",
};

/** Subject prefixes of the reply mail, as Outlook and Exchange write them. */
const REPLY_PREFIX: Readonly<Record<Partstat | "COUNTER", string>> = {
  ACCEPTED: "Accepted",
  TENTATIVE: "Tentative",
  DECLINED: "Declined",
  COUNTER: "New Time Proposed",
};

/**
 * MeetingResponse (MS-ASCMD 2.2.1.11): accepts, tentatively accepts or
 * declines a meeting request found in a mail folder (its iMIP part) or in a
 * calendar folder. The answer goes into the CalDAV calendar (PARTSTAT; a
 * declined meeting is removed). The iTIP REPLY (RFC 5546, over iMIP RFC 6047)
 * is sent by the server only when a 16.x phone asks for it with SendResponse;
 * earlier phones send their own reply mail through SendMail, so the server
 * must not send a second one (MS-ASCMD 2.2.3.163).
 */
export async function meetingResponse(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  const requests = childrenNamed(body, "Request", NS);
  if (body?.ns !== NS || body.name !== "MeetingResponse" || !requests.length) {
    return {
      body: el(
        NS,
        "MeetingResponse",
        el(NS, "Result", textEl(NS, "Status", MEETING_RESPONSE_STATUS.InvalidMeetingRequest)),
      ),
    };
  }
  const results: WbxmlElement[] = [];
  for (const r of requests) results.push(await answerOne(r, ctx));
  return { body: el(NS, "MeetingResponse", ...results) };
}

async function answerOne(r: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  const requestId = childText(r, "RequestId", NS);
  const instanceId = childText(r, "InstanceId", NS);
  const result = (status: number, calendarId?: string) =>
    el(
      NS,
      "Result",
      requestId !== undefined ? textEl(NS, "RequestId", requestId) : undefined,
      textEl(NS, "Status", status),
      calendarId !== undefined ? textEl(NS, "CalendarId", calendarId) : undefined,
      instanceId !== undefined ? textEl(NS, "InstanceId", instanceId) : undefined,
    );
  const invalid = (message: string) => {
    ctx.log?.info("meeting_response.invalid", { requestId, message });
    return result(MEETING_RESPONSE_STATUS.InvalidMeetingRequest);
  };
  const partstat = USER_RESPONSE[childText(r, "UserResponse", NS) ?? ""];
  if (!partstat) return invalid("UserResponse is missing or not 1, 2 or 3");
  // A search result (search:LongId) names no folder of ours.
  const collectionId = childText(r, "CollectionId", NS);
  if (collectionId === undefined || requestId === undefined) {
    return invalid("CollectionId or RequestId is missing");
  }
  const folderKey = ctx.store.folders.backendKeyOf(ctx.user, collectionId);
  const itemId = itemIdOf(requestId, collectionId);
  if (!folderKey || itemId === undefined) return invalid(`Item '${requestId}' does not exist`);

  const sendResponse = atLeast(ctx.protocolVersion, "16.0") ? child(r, "SendResponse", NS) : undefined;
  const proposed = proposedTimes(sendResponse);
  if (proposed === null) return invalid("ProposedStartTime and ProposedEndTime are not a valid range");
  const calendar = itemSourceOf(ctx);
  try {
    let invitation: MeetingAnswer["invitation"];
    let instanceMs: number | undefined;
    if (itemSourceOf(ctx, folderKey)) {
      invitation = { folderKey, itemId };
      if (instanceId !== undefined) {
        // InstanceId: the occurrence's start as an EAS date-time (MS-ASCMD 2.2.3.92.1).
        instanceMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/.test(instanceId)
          ? Date.parse(instanceId)
          : NaN;
        if (!Number.isFinite(instanceMs)) return invalid(`InstanceId '${instanceId}' is not a date-time`);
      }
    } else {
      // MS-ASCMD 2.2.3.177.9: an InstanceId with a mail meeting request is Status 2.
      if (instanceId !== undefined) return invalid("InstanceId names no occurrence of a mail item");
      const ics = await invitationOfMail(ctx, folderKey, Number(itemId));
      if (ics === undefined) return invalid(`Item '${requestId}' is no meeting request`);
      invitation = { ics };
    }
    if (!calendar) throw new BackendUnavailableError("No CalDAV server is configured");
    const identity = await identityOf(ctx);
    const answer = await calendar.answerMeeting({
      invitation,
      partstat,
      selfEmails: [identity.primary, ...identity.aliases].map((a) => a.toLowerCase()),
      ...(proposed ? { proposed } : {}),
      ...(instanceMs !== undefined ? { instanceMs } : {}),
    });
    if (sendResponse) {
      if (!ctx.submitter) throw new BackendUnavailableError("No SMTP server is configured");
      const note = childText(child(sendResponse, "Body", ASB), "Data", ASB);
      const message = buildMessage({
        from: { name: identity.displayName ?? "", address: answer.self },
        to: [{ name: "", address: answer.organizer }],
        subject: `${
          REPLY_PREFIX[answer.reply.method === "COUNTER" ? "COUNTER" : partstat]
        }: ${answer.summary}`,
        text: note ?? "",
        calendar: { method: answer.reply.method, content: answer.reply.ics },
      });
      await ctx.submitter.submit(
        ctx.credentials,
        { from: answer.self, recipients: [answer.organizer] },
        message,
      );
      await ctx.mailOps?.saveToSent(message).catch((error) =>
        ctx.log?.warn("meeting_response.sent_copy_failed", { error: (error as Error).message })
      );
    }
    const calendarId = answer.calendar
      ? `${ctx.store.folders.serverIdFor(ctx.user, answer.calendar.folderKey)}:${answer.calendar.itemId}`
      : undefined;
    return result(MEETING_RESPONSE_STATUS.Success, calendarId);
  } catch (error) {
    if (error instanceof MeetingRequestError) return invalid(error.message);
    if (
      error instanceof BackendUnavailableError || error instanceof SubmissionError ||
      error instanceof EasStatusError
    ) {
      ctx.log?.warn("meeting_response.failed", { requestId, error: error.message });
      return result(MEETING_RESPONSE_STATUS.MailboxError);
    }
    throw error;
  }
}

/** The iMIP text/calendar of a mail item, or undefined when it has none or is no invitation. */
async function invitationOfMail(
  ctx: CommandContext,
  folderKey: string,
  uid: number,
): Promise<string | undefined> {
  if (!isMailSource(ctx.backend.sourceOf(folderKey)) || !ctx.mailOps) return undefined;
  const raw = await ctx.mailOps.fetchMessage(folderKey, uid);
  if (!raw) return undefined;
  try {
    const part = summarize(parseMessage(raw)).calendar;
    return part ? decodeText(part) : undefined;
  } catch (error) {
    if (error instanceof MimeSyntaxError) return undefined;
    throw error;
  }
}

/**
 * 16.x ProposedStartTime / ProposedEndTime (MS-ASCMD 2.2.3.141, 2.2.3.140),
 * compact UTC "20300101T090000Z": undefined when absent, null when unusable.
 */
function proposedTimes(
  sendResponse: WbxmlElement | undefined,
): { startMs: number; endMs: number } | undefined | null {
  const start = childText(sendResponse, "ProposedStartTime", NS);
  const end = childText(sendResponse, "ProposedEndTime", NS);
  if (start === undefined && end === undefined) return undefined;
  const parse = (t: string | undefined) => {
    const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(t ?? "");
    return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : NaN;
  };
  const startMs = parse(start);
  const endMs = parse(end);
  return Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs ? { startMs, endMs } : null;
}
