/**
 * Request bodies the integration tests build beyond what tools/eas_client/requests.ts offers.
 */
import { el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";

/**
 * A Ping (MS-ASCMD 2.2.1.13) holding `ids` for `heartbeat` seconds, each folder with the Class
 * given (Email unless said otherwise).
 */
export function pingRequest(heartbeat: number, ids: string[], folderClass = "Email"): WbxmlElement {
  return el(
    "Ping",
    "Ping",
    textEl("Ping", "HeartbeatInterval", heartbeat),
    el(
      "Ping",
      "Folders",
      ...ids.map((id) =>
        el("Ping", "Folder", textEl("Ping", "Id", id), textEl("Ping", "Class", folderClass))
      ),
    ),
  );
}
