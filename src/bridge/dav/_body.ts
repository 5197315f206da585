import type { BodyPreference } from "../../backend/mail.ts";
import { type Body, BODY_TYPE } from "../../eas/model/airsyncbase.ts";

/**
 * The AirSyncBase Body of a DESCRIPTION/NOTE text: plain text (type 1), cut
 * at the device's TruncationSize for plain text (or its first preference's)
 * in UTF-8 bytes without splitting a character (MS-ASAIRS 2.2.2.40.1).
 */
export function bodyOf(text: string, preferences: readonly BodyPreference[]): Body {
  const bytes = new TextEncoder().encode(text);
  const pref = preferences.find((p) => p.type === BODY_TYPE.PlainText) ?? preferences[0];
  const limit = pref?.truncationSize;
  if (limit === undefined || bytes.length <= limit) {
    return { type: BODY_TYPE.PlainText, estimatedDataSize: bytes.length, truncated: false, data: text };
  }
  let end = limit;
  while (end > 0 && (bytes[end]! & 0xC0) === 0x80) end--;
  return {
    type: BODY_TYPE.PlainText,
    estimatedDataSize: bytes.length,
    truncated: true,
    data: new TextDecoder().decode(bytes.subarray(0, end)),
  };
}

/**
 * The text of a Body the phone sent, or undefined when it must not replace
 * the stored text (a truncated body, or none). HTML is reduced to text.
 */
export function textOfBody(body: Body | undefined): string | undefined {
  if (!body || body.truncated || body.data === undefined) return undefined;
  const data = typeof body.data === "string" ? body.data : new TextDecoder().decode(body.data);
  if (body.type === BODY_TYPE.Html) {
    return data.replace(/<br\s*\/?>/gi, "\n").replace(/<\/p>/gi, "\n").replace(/<[^>]*>/g, "")
      .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&nbsp;/g, " ")
      .replace(/&amp;/g, "&").trim();
  }
  return data.replace(/\r\n/g, "\n");
}
