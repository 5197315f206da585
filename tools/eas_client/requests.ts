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
