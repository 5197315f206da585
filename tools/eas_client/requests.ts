import { el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";

const AS = "AirSync";

/** A Sync request of one collection (MS-ASCMD 2.2.1.21), with extra Collection children (Options, Commands...). */
export function syncRequest(collectionId: string, syncKey: string, extra: WbxmlElement[] = []): WbxmlElement {
  return el(
    AS,
    "Sync",
    el(
      AS,
      "Collections",
      el(
        AS,
        "Collection",
        textEl(AS, "SyncKey", syncKey),
        textEl(AS, "CollectionId", collectionId),
        ...extra,
      ),
    ),
  );
}

/** What a mail collection's Sync Options ask for. */
export interface MailOptions {
  /** AirSyncBase body type (MS-ASAIRS 2.2.2.22.2): 1 plain text, 2 HTML, 4 MIME. */
  bodyType: number;
  /** TruncationSize in bytes; none for whole bodies. */
  truncation?: number;
  /** FilterType (MS-ASCMD 2.2.3.70.1); left out (the server's default) when undefined. */
  filterType?: number;
}

/**
 * Sync Options of a mail collection (MS-ASCMD 2.2.3.125): FilterType, MIMESupport (2, all
 * messages, for type 4, else 0) and one BodyPreference (MS-ASAIRS 2.2.2.7).
 */
export function mailOptions(options: MailOptions): WbxmlElement {
  return el(
    AS,
    "Options",
    options.filterType !== undefined ? textEl(AS, "FilterType", options.filterType) : undefined,
    textEl(AS, "MIMESupport", options.bodyType === 4 ? 2 : 0),
    el(
      "AirSyncBase",
      "BodyPreference",
      textEl("AirSyncBase", "Type", options.bodyType),
      options.truncation !== undefined
        ? textEl("AirSyncBase", "TruncationSize", options.truncation)
        : undefined,
    ),
  );
}
