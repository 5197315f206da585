/**
 * Request bodies the integration tests build beyond what tools/eas_client/requests.ts offers.
 */
import { el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";

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
