import type { BodyPreference } from "../../backend/mail.ts";
import { child, childrenNamed, childText, type WbxmlElement } from "../../wbxml/tree.ts";
import { EasStatusError } from "../protocol/errors.ts";
import { CONFLICT, FILTER_DAYS, SYNC_STATUS } from "./status.ts";

/** A collection's Options as the engine and the converters use them (sticky per collection). */
export interface SyncOptions {
  filterType: number;
  conflict: number;
  /** MIMESupport (MS-ASCMD 2.2.3.100.3): 0 never, 1 S/MIME only, 2 always. */
  mimeSupport: number;
  bodyPreferences: BodyPreference[];
  bodyPartPreferences: BodyPreference[];
  /** 2.5 Truncation and MIMETruncation as byte limits (undefined = no limit). */
  truncation25?: number | undefined;
  mimeTruncation25?: number | undefined;
}

/** Options when a device sends none: everything, server wins, plain text. */
export const DEFAULT_SYNC_OPTIONS: SyncOptions = {
  filterType: 0,
  conflict: CONFLICT.ServerWins,
  mimeSupport: 0,
  bodyPreferences: [],
  bodyPartPreferences: [],
};

/**
 * Truncation and MIMETruncation codes of 2.5/12.x (MS-ASCMD 2.2.3.181,
 * 2.2.3.104) as byte limits; 8 means no truncation.
 */
export const TRUNCATION_BYTES: Readonly<Record<number, number | undefined>> = {
  0: 0,
  1: 4096,
  2: 5120,
  3: 7168,
  4: 10240,
  5: 20480,
  6: 51200,
  7: 102400,
  8: undefined,
};

/**
 * Reads an Options element (AirSync in Sync and GetItemEstimate, ItemOperations
 * in ItemOperations; the children keep their AirSync / AirSyncBase pages).
 * Values out of range are a protocol error (Status 4) rather than a guess.
 */
export function parseSyncOptions(
  options: WbxmlElement | undefined,
  base: SyncOptions = DEFAULT_SYNC_OPTIONS,
): SyncOptions {
  if (!options) return base;
  const out: SyncOptions = { ...base };
  const filter = childText(options, "FilterType");
  if (filter !== undefined) out.filterType = intIn(filter, "FilterType", 0, 8);
  if (out.filterType in FILTER_DAYS === false) out.filterType = 0;
  const conflict = childText(options, "Conflict");
  if (conflict !== undefined) out.conflict = intIn(conflict, "Conflict", 0, 1);
  const mime = childText(options, "MIMESupport");
  if (mime !== undefined) out.mimeSupport = intIn(mime, "MIMESupport", 0, 2);
  const truncation = childText(options, "Truncation");
  if (truncation !== undefined) out.truncation25 = TRUNCATION_BYTES[intIn(truncation, "Truncation", 0, 8)];
  const mimeTruncation = childText(options, "MIMETruncation");
  if (mimeTruncation !== undefined) {
    out.mimeTruncation25 = TRUNCATION_BYTES[intIn(mimeTruncation, "MIMETruncation", 0, 8)];
  }
  const prefs = childrenNamed(options, "BodyPreference", "AirSyncBase");
  if (prefs.length) out.bodyPreferences = prefs.map(parseBodyPreference);
  const partPrefs = childrenNamed(options, "BodyPartPreference", "AirSyncBase");
  if (partPrefs.length) out.bodyPartPreferences = partPrefs.map(parseBodyPreference);
  return out;
}

/** One BodyPreference / BodyPartPreference (MS-ASAIRS 2.2.2.8). */
export function parseBodyPreference(element: WbxmlElement): BodyPreference {
  const type = childText(element, "Type");
  if (type === undefined) throw new EasStatusError(SYNC_STATUS.ProtocolError, "BodyPreference has no 'Type'");
  const pref: BodyPreference = { type: intIn(type, "Type", 1, 4) };
  const size = childText(element, "TruncationSize");
  if (size !== undefined) pref.truncationSize = intIn(size, "TruncationSize", 0, 0xffffffff);
  const allOrNone = childText(element, "AllOrNone");
  if (allOrNone !== undefined) pref.allOrNone = allOrNone === "1";
  const preview = childText(element, "Preview");
  if (preview !== undefined) pref.preview = intIn(preview, "Preview", 0, 255);
  return pref;
}

function intIn(text: string, name: string, min: number, max: number): number {
  const value = /^\d{1,10}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!(value >= min && value <= max)) {
    throw new EasStatusError(SYNC_STATUS.ProtocolError, `Value '${text}' of '${name}' is out of range`);
  }
  return value;
}

/** Whether a element carries a truthy EAS boolean (an empty tag counts as true). */
export function flagValue(parent: WbxmlElement | undefined, name: string, fallback: boolean): boolean {
  const el = child(parent, name);
  if (!el) return fallback;
  const text = el.text ?? "";
  return text === "" || text === "1";
}
