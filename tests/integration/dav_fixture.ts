/** Helpers of the DAV integration tests: Sync round trips checked against the XSDs, DAV listings. */
import assert from "node:assert/strict";
import { child, childText, el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";
import type { DavClient } from "../../src/bridge/dav/dav_client.ts";
import type { EasClient } from "../../tools/eas_client/client.ts";
import { syncRequest } from "../../tools/eas_client/requests.ts";
import { validateWithXsd } from "./eas_checks.ts";

const AS = "AirSync";
const ASB = "AirSyncBase";

/** One collection of a Sync response. */
export interface CollectionReply {
  status: number;
  syncKey: string;
  commands: WbxmlElement[];
  responses: WbxmlElement[];
  raw: Uint8Array;
}

/** Options with a Class and a plain-text body preference. */
export const plainOptions = (cls: string) =>
  el(AS, "Options", textEl(AS, "Class", cls), el(ASB, "BodyPreference", textEl(ASB, "Type", 1)));

/** One Sync round trip; every response is checked against Microsoft's schemas. */
export async function syncOnce(
  client: EasClient,
  collectionId: string,
  key: string,
  extra: WbxmlElement[] = [],
): Promise<CollectionReply> {
  const reply = await client.command("Sync", syncRequest(collectionId, key, extra));
  assert.equal(reply.status, 200, new TextDecoder().decode(reply.raw));
  const check = await validateWithXsd(reply.raw);
  assert.ok(check.valid, check.messages);
  const c = child(child(reply.body, "Collections", AS), "Collection", AS);
  assert.ok(c, "the response has a collection");
  return {
    status: Number(childText(c, "Status", AS)),
    syncKey: childText(c, "SyncKey", AS)!,
    commands: child(c, "Commands", AS)?.children ?? [],
    responses: child(c, "Responses", AS)?.children ?? [],
    raw: reply.raw,
  };
}

/** SyncKey 0 and then the first window of items. */
export async function initialSync(client: EasClient, collectionId: string, cls: string) {
  const first = await syncOnce(client, collectionId, "0", [plainOptions(cls)]);
  assert.equal(first.status, 1);
  return await syncOnce(client, collectionId, first.syncKey, [plainOptions(cls)]);
}

/** The ApplicationData of an Add or Change. */
export const data = (command: WbxmlElement) => child(command, "ApplicationData", AS);

/** The hrefs of a collection's resources, listed by the test's own PROPFIND. */
export async function listing(dav: DavClient, href: string): Promise<string[]> {
  const responses = await dav.propfind(href, [["DAV:", "getetag"]], 1);
  return responses.map((r) => r.href).filter((h) => !h.endsWith("/")).sort();
}
