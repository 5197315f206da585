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

/**
 * A Ping (MS-ASCMD 2.2.1.13) holding `folders` for `heartbeat` seconds: a folder is its id (Class
 * Email) or its id and Class.
 */
export function pingRequest(
  heartbeat: number,
  folders: (string | [id: string, folderClass: string])[],
): WbxmlElement {
  const folder = (f: string | [string, string]) => {
    const [id, folderClass] = typeof f === "string" ? [f, "Email"] : f;
    return el("Ping", "Folder", textEl("Ping", "Id", id), textEl("Ping", "Class", folderClass));
  };
  return el(
    "Ping",
    "Ping",
    textEl("Ping", "HeartbeatInterval", heartbeat),
    el("Ping", "Folders", ...folders.map(folder)),
  );
}

/**
 * A GetItemEstimate (MS-ASCMD 2.2.1.9) of one collection at `syncKey`, with the AirSync Options
 * children given (none: no Options element).
 */
export function estimateRequest(
  collectionId: string,
  syncKey: string,
  options: WbxmlElement[] = [],
): WbxmlElement {
  const GIE = "GetItemEstimate";
  const collection = [
    textEl("AirSync", "SyncKey", syncKey),
    textEl(GIE, "CollectionId", collectionId),
    options.length > 0 && el("AirSync", "Options", ...options),
  ];
  return el(GIE, "GetItemEstimate", el(GIE, "Collections", el(GIE, "Collection", ...collection)));
}
