import { htmlToText, textToHtml } from "../../mime/mod.ts";
import { child, childrenNamed, childText, el, textEl, type WbxmlElement } from "../../wbxml/tree.ts";
import { atLeast } from "../protocol/versions.ts";
import type { CommandContext, EasRequest, EasResponse } from "./context.ts";

/** Settings statuses (MS-ASCMD 2.2.3.177.15). */
export const SETTINGS_STATUS = {
  Success: 1,
  ProtocolError: 2,
  AccessDenied: 3,
  ServerUnavailable: 4,
  InvalidArguments: 5,
  ConflictingArguments: 6,
  DeniedByPolicy: 7,
} as const;

/** OofState values (MS-ASCMD 2.2.3.119). */
export const OOF_STATE = { Disabled: 0, Global: 1, TimeBased: 2 } as const;

/** One of the three Out of Office messages (MS-ASCMD 2.2.3.120 OofMessage). */
export interface OofMessage {
  enabled: boolean;
  reply: string;
  bodyType: "Text" | "HTML";
}

/** The Out of Office setting as EAS describes it; StartTime/EndTime are ISO 8601 UTC. */
export interface OofSettings {
  state: 0 | 1 | 2;
  startTime?: string;
  endTime?: string;
  internal?: OofMessage;
  externalKnown?: OofMessage;
  externalUnknown?: OofMessage;
}

/** Where a user's Out of Office setting lives (a Sieve vacation script in practice). */
export interface OutOfOfficeService {
  get(): Promise<OofSettings | undefined>;
  set(settings: OofSettings): Promise<void>;
}

/** The mailstore offers no way to keep an Out of Office setting (no ManageSieve). */
export class OofNotOfferedError extends Error {
  constructor(message = "The mailstore offers no ManageSieve service") {
    super(message);
    this.name = "OofNotOfferedError";
  }
}

/** The user's addresses for UserInformation and vacation replies. */
export interface UserIdentity {
  primary: string;
  aliases: string[];
  displayName?: string;
}

/** Whether and how DevicePassword may be kept (MS-ASPROV PasswordRecoveryEnabled). */
export interface PasswordRecovery {
  allowed(user: string, deviceId: string): boolean;
  /** AES-GCM key sealing stored passwords. */
  key: CryptoKey;
}

const NS = "Settings";
const OOF_AUDIENCES = [
  ["AppliesToInternal", "internal"],
  ["AppliesToExternalKnown", "externalKnown"],
  ["AppliesToExternalUnknown", "externalUnknown"],
] as const;

/** Device information fields (MS-ASCMD 2.2.3.51) and their storage names. */
const DEVICE_FIELDS = [
  ["Model", "model"],
  ["IMEI", "imei"],
  ["FriendlyName", "friendlyName"],
  ["OS", "os"],
  ["OSLanguage", "osLanguage"],
  ["PhoneNumber", "phoneNumber"],
  ["UserAgent", "userAgent"],
  ["MobileOperator", "mobileOperator"],
] as const;

/**
 * Settings (MS-ASCMD 2.2.1.18): Oof get/set, DeviceInformation set,
 * DevicePassword set, UserInformation get and RightsManagementInformation get.
 * Each part answers with its own Status; the top-level Status is 1 unless the
 * request is not a Settings request at all.
 */
export async function settings(request: EasRequest, ctx: CommandContext): Promise<EasResponse> {
  const body = request.body;
  if (!body || body.name !== "Settings" || body.ns !== NS) {
    return { body: el(NS, "Settings", textEl(NS, "Status", SETTINGS_STATUS.ProtocolError)) };
  }
  const parts: WbxmlElement[] = [textEl(NS, "Status", SETTINGS_STATUS.Success)];
  for (const part of body.children ?? []) {
    switch (part.name) {
      case "Oof":
        parts.push(await oof(part, ctx));
        break;
      case "DeviceInformation":
        parts.push(deviceInformation(part, ctx));
        break;
      case "DevicePassword":
        parts.push(await devicePassword(part, ctx));
        break;
      case "UserInformation":
        parts.push(await userInformation(part, ctx));
        break;
      case "RightsManagementInformation":
        // No rights management server behind the box: an honest, empty template list (MS-ASRM 2.2.2.14).
        parts.push(
          el(
            NS,
            "RightsManagementInformation",
            textEl(NS, "Status", SETTINGS_STATUS.Success),
            el(NS, "Get", el("RightsManagement", "RightsManagementTemplates")),
          ),
        );
        break;
      default:
        parts[0] = textEl(NS, "Status", SETTINGS_STATUS.ProtocolError);
    }
  }
  return { body: el(NS, "Settings", ...parts) };
}

function status(name: string, code: number, ...rest: WbxmlElement[]): WbxmlElement {
  return el(NS, name, textEl(NS, "Status", code), ...rest);
}

async function oof(part: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  if (!ctx.oof) return status("Oof", SETTINGS_STATUS.AccessDenied);
  const get = child(part, "Get");
  const set = child(part, "Set");
  try {
    if (get) {
      const wanted = childText(get, "BodyType")?.toUpperCase() === "HTML" ? "HTML" : "Text";
      const current = await ctx.oof.get() ?? { state: OOF_STATE.Disabled };
      return status("Oof", SETTINGS_STATUS.Success, oofGet(current, wanted));
    }
    if (set) {
      const parsed = parseOofSet(set);
      if (typeof parsed === "number") return status("Oof", parsed);
      const merged = await mergeWithStored(parsed, ctx.oof);
      await ctx.oof.set(merged);
      return status("Oof", SETTINGS_STATUS.Success);
    }
    return status("Oof", SETTINGS_STATUS.ProtocolError);
  } catch (error) {
    ctx.log?.warn("settings.oof_failed", { user: ctx.user, error });
    if (error instanceof OofNotOfferedError) return status("Oof", SETTINGS_STATUS.AccessDenied);
    if (error instanceof RangeError) return status("Oof", SETTINGS_STATUS.InvalidArguments);
    return status("Oof", SETTINGS_STATUS.ServerUnavailable);
  }
}

/** Messages a Set leaves out keep their stored text (phones often send only the state). */
async function mergeWithStored(update: OofSettings, service: OutOfOfficeService): Promise<OofSettings> {
  const missing = OOF_AUDIENCES.some(([, key]) => !update[key]);
  if (!missing) return update;
  const stored = await service.get();
  const merged: OofSettings = { ...update };
  for (const [, key] of OOF_AUDIENCES) {
    const old = stored?.[key];
    if (!merged[key] && old) merged[key] = old;
  }
  return merged;
}

function oofGet(current: OofSettings, bodyType: "Text" | "HTML"): WbxmlElement {
  const messages = OOF_AUDIENCES.map(([tag, key]) => {
    const message = current[key];
    if (!message) return undefined;
    const reply = message.bodyType === bodyType
      ? message.reply
      : bodyType === "Text"
      ? htmlToText(message.reply)
      : textToHtml(message.reply);
    return el(
      NS,
      "OofMessage",
      el(NS, tag),
      textEl(NS, "Enabled", message.enabled),
      textEl(NS, "ReplyMessage", reply),
      textEl(NS, "BodyType", bodyType),
    );
  });
  return el(
    NS,
    "Get",
    textEl(NS, "OofState", current.state),
    current.startTime ? textEl(NS, "StartTime", easDate(current.startTime)) : undefined,
    current.endTime ? textEl(NS, "EndTime", easDate(current.endTime)) : undefined,
    ...messages,
  );
}

/** EAS dateTime form (MS-ASDTYPE 2.3: "2026-11-21T10:00:00.000Z"). */
function easDate(iso: string): string {
  return new Date(iso).toISOString();
}

/** Reads an Oof Set; a number is the Status to answer instead. */
export function parseOofSet(set: WbxmlElement): OofSettings | number {
  const stateText = childText(set, "OofState");
  const state = Number(stateText);
  if (stateText === undefined || ![0, 1, 2].includes(state)) return SETTINGS_STATUS.InvalidArguments;
  const result: OofSettings = { state: state as OofSettings["state"] };
  const start = childText(set, "StartTime");
  const end = childText(set, "EndTime");
  if (state === OOF_STATE.TimeBased) {
    if (!start || !end) return SETTINGS_STATUS.InvalidArguments;
    const from = Date.parse(start);
    const to = Date.parse(end);
    if (Number.isNaN(from) || Number.isNaN(to)) return SETTINGS_STATUS.InvalidArguments;
    if (to <= from) return SETTINGS_STATUS.ConflictingArguments;
  }
  if (start && !Number.isNaN(Date.parse(start))) result.startTime = new Date(start).toISOString();
  if (end && !Number.isNaN(Date.parse(end))) result.endTime = new Date(end).toISOString();
  for (const message of childrenNamed(set, "OofMessage")) {
    const audience = OOF_AUDIENCES.find(([tag]) => child(message, tag));
    if (!audience) return SETTINGS_STATUS.InvalidArguments;
    const type = (childText(message, "BodyType") ?? "Text").toUpperCase();
    if (type !== "TEXT" && type !== "HTML") return SETTINGS_STATUS.InvalidArguments;
    result[audience[1]] = {
      enabled: childText(message, "Enabled") === "1",
      reply: childText(message, "ReplyMessage") ?? "",
      bodyType: type === "HTML" ? "HTML" : "Text",
    };
  }
  return result;
}

function deviceInformation(part: WbxmlElement, ctx: CommandContext): WbxmlElement {
  const set = child(part, "Set");
  if (!set) return status("DeviceInformation", SETTINGS_STATUS.ProtocolError);
  const info: Record<string, string | boolean> = {};
  for (const [tag, key] of DEVICE_FIELDS) {
    const value = childText(set, tag);
    // DeviceInformationStringType is at most 1024 characters (Settings.xsd).
    if (value !== undefined) info[key] = value.slice(0, 1024);
  }
  const sms = childText(set, "EnableOutboundSMS");
  if (sms !== undefined) info.enableOutboundSms = sms === "1";
  ctx.store.deviceInformation.save(ctx.device.id, info);
  return status("DeviceInformation", SETTINGS_STATUS.Success);
}

async function devicePassword(part: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  const password = childText(child(part, "Set"), "Password");
  if (password === undefined) return status("DevicePassword", SETTINGS_STATUS.ProtocolError);
  const recovery = ctx.passwordRecovery;
  if (!recovery || !recovery.allowed(ctx.user, ctx.device.deviceId)) {
    return status("DevicePassword", SETTINGS_STATUS.DeniedByPolicy);
  }
  if (password.length > 255) return status("DevicePassword", SETTINGS_STATUS.InvalidArguments);
  ctx.store.deviceInformation.savePassword(ctx.device.id, await sealPassword(recovery.key, password));
  return status("DevicePassword", SETTINGS_STATUS.Success);
}

/** AES-GCM sealing of a recovery password: base64 of the 12-byte IV followed by the ciphertext. */
export async function sealPassword(key: CryptoKey, password: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(password)),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return btoa(String.fromCharCode(...out));
}

/** Opens a sealed recovery password (for the administrator's recovery screen). */
export async function openPassword(key: CryptoKey, sealed: string): Promise<string> {
  const bytes = Uint8Array.from(atob(sealed), (c) => c.charCodeAt(0));
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.subarray(0, 12) },
    key,
    bytes.subarray(12),
  );
  return new TextDecoder().decode(plain);
}

/** The user's identity from the context's resolver, or the login name itself. */
export async function identityOf(ctx: CommandContext): Promise<UserIdentity> {
  if (ctx.identity) return await ctx.identity();
  return { primary: ctx.user, aliases: [] };
}

async function userInformation(part: WbxmlElement, ctx: CommandContext): Promise<WbxmlElement> {
  if (!child(part, "Get")) return status("UserInformation", SETTINGS_STATUS.ProtocolError);
  const identity = await identityOf(ctx);
  const all = [
    identity.primary,
    ...identity.aliases.filter((a) => a.toLowerCase() !== identity.primary.toLowerCase()),
  ];
  const smtp = all.map((address) => textEl(NS, "SMTPAddress", address));
  if (!atLeast(ctx.protocolVersion, "14.1")) {
    return status(
      "UserInformation",
      SETTINGS_STATUS.Success,
      el(NS, "Get", el(NS, "EmailAddresses", ...smtp)),
    );
  }
  // 14.1 account layout (MS-ASCMD 2.2.3.2 Accounts): one account, the primary address named apart.
  const account = el(
    NS,
    "Account",
    identity.displayName ? textEl(NS, "UserDisplayName", identity.displayName) : undefined,
    el(NS, "EmailAddresses", ...smtp, textEl(NS, "PrimarySmtpAddress", identity.primary)),
  );
  return status("UserInformation", SETTINGS_STATUS.Success, el(NS, "Get", el(NS, "Accounts", account)));
}
