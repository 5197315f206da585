/**
 * Helpers shared by the send, move and folder integration tests: FolderSync
 * to learn folder ids, UIDs and flags read with the harness's independent
 * IMAP peek, polling for asynchronous delivery, and response checks with
 * libwbxml and Microsoft's schemas.
 */
import assert from "node:assert/strict";
import { childrenNamed, childText, el, textEl } from "../../src/wbxml/mod.ts";
import type { EasClient, EasReply } from "../../tools/eas_client/client.ts";
import { imapCommand, messageCount } from "../harness/imap_peek.ts";
import type { Mailstore } from "../harness/mod.ts";
import { decodeWithLibwbxml, validateWithXsd } from "./eas_checks.ts";

/** FolderSync from 0: the new key and a name -> ServerId map of every folder. */
export async function syncFolders(client: EasClient): Promise<{ key: string; ids: Map<string, string> }> {
  const reply = await client.command(
    "FolderSync",
    el("FolderHierarchy", "FolderSync", textEl("FolderHierarchy", "SyncKey", "0")),
  );
  const changes = childrenNamed(reply.body, "Changes")[0];
  const ids = new Map(
    childrenNamed(changes, "Add").map((a) => [childText(a, "DisplayName")!, childText(a, "ServerId")!]),
  );
  return { key: childText(reply.body, "SyncKey")!, ids };
}

/** UIDs of a mailbox, from an independent IMAP session. */
export async function uidsOf(store: Mailstore, user: string, mailbox = "INBOX"): Promise<number[]> {
  const transcript = await imapCommand(store, user, [`SELECT "${mailbox}"`, "UID SEARCH ALL"]);
  const line = /\* SEARCH([\d ]*)/.exec(transcript)?.[1] ?? "";
  return line.trim().split(/\s+/).filter(Boolean).map(Number);
}

/** The flags and the whole text of one message, without setting \Seen. */
export async function peekMessage(
  store: Mailstore,
  user: string,
  mailbox: string,
  uid: number,
): Promise<{ flags: string; text: string }> {
  const transcript = await imapCommand(store, user, [
    `EXAMINE "${mailbox}"`,
    `UID FETCH ${uid} (FLAGS BODY.PEEK[])`,
  ]);
  return { flags: /FLAGS \(([^)]*)\)/.exec(transcript)?.[1] ?? "", text: transcript };
}

/** Waits until `mailbox` of `user` holds at least `count` messages (delivery through Postfix is asynchronous). */
export async function waitForCount(
  store: Mailstore,
  user: string,
  count: number,
  mailbox = "INBOX",
): Promise<number> {
  let seen = 0;
  for (let i = 0; i < 100; i++) {
    seen = await messageCount(store, user, mailbox);
    if (seen >= count) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
  return seen;
}

/** Asserts the response decodes with libwbxml and is valid against Microsoft's schema. */
export async function assertValidResponse(reply: EasReply): Promise<string> {
  assert.equal(reply.status, 200);
  const xml = await decodeWithLibwbxml(reply.raw);
  const xsd = await validateWithXsd(reply.raw);
  assert.ok(xsd.valid, `${xsd.messages}\n${xml}`);
  return xml;
}
