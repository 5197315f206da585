/**
 * Mailbox search (Search Store "Mailbox", Find) over the user's shared IMAP
 * connection: UID SEARCH (ESEARCH where offered) per folder, then the
 * INTERNALDATE of the hits to merge folders newest first.
 *
 * @module
 */

import type { Credentials } from "../../backend/types.ts";
import type { MailCriteria, MailHit, MailSearch } from "../../eas/commands/search.ts";
import type { ImapConnectionPool } from "./connection_pool.ts";
import { mailboxOfKey } from "./folder_mapping.ts";
import { compressSequenceSet } from "./_imap_fetch.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** RFC 3501 date (day granularity; the exact bound is checked on INTERNALDATE afterwards). */
function imapDate(date: Date): string {
  return `${date.getUTCDate()}-${MONTHS[date.getUTCMonth()]}-${date.getUTCFullYear()}`;
}

/** An IMAP quoted string; CR, LF and NUL cannot be searched for and become spaces. */
function quoted(text: string): string {
  return `"${text.replace(/[\r\n\0]/g, " ").replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * The UID SEARCH criteria: every word of the free text must occur in the
 * subject, a sender or recipient, or the body (OR of SUBJECT FROM TO CC
 * BODY, RFC 3501 6.4.4); dates by SINCE/BEFORE widened by a day, since IMAP
 * compares dates only.
 */
export function searchCriteria(criteria: MailCriteria): { charset: boolean; text: string } {
  const parts: string[] = ["NOT DELETED"];
  const words = (criteria.freeText ?? "").split(/\s+/).filter(Boolean).slice(0, 8);
  for (const word of words) {
    const q = quoted(word);
    parts.push(`OR OR OR OR SUBJECT ${q} FROM ${q} TO ${q} CC ${q} BODY ${q}`);
  }
  if (criteria.after) parts.push(`SINCE ${imapDate(criteria.after)}`);
  if (criteria.before) parts.push(`BEFORE ${imapDate(new Date(criteria.before.getTime() + 86_400_000))}`);
  // deno-lint-ignore no-control-regex
  const charset = /[^\x00-\x7f]/.test(criteria.freeText ?? "");
  return { charset, text: parts.join(" ") };
}

/** Mailbox search of one user through the connection pool. */
export class ImapMailSearch implements MailSearch {
  constructor(private readonly pool: ImapConnectionPool, private readonly credentials: Credentials) {}

  /** Hits of every folder, newest first, then by folder and UID for a stable order. */
  async search(folderKeys: string[], criteria: MailCriteria, limit: number): Promise<MailHit[]> {
    const { charset, text } = searchCriteria(criteria);
    const hits: MailHit[] = [];
    for (const key of folderKeys) {
      const mailbox = mailboxOfKey(key);
      if (mailbox === undefined) continue;
      const found = await this.pool.withClient(this.credentials, async (client) => {
        await client.examine(mailbox);
        const uids = await client.search(charset ? `CHARSET UTF-8 ${text}` : text);
        if (uids.length === 0) return [];
        // The newest UIDs are the likeliest newest messages: fetch dates of a bounded tail only.
        const tail = uids.sort((a, b) => a - b).slice(-limit);
        const rows = await client.fetchAll(compressSequenceSet(tail), "(UID INTERNALDATE)");
        return rows.filter((row) => row.uid !== undefined).map((row) => ({
          folderKey: key,
          id: String(row.uid),
          date: row.internalDate?.getTime() ?? 0,
        }));
      });
      for (const hit of found) {
        if (criteria.after && hit.date <= criteria.after.getTime()) continue;
        if (criteria.before && hit.date >= criteria.before.getTime()) continue;
        hits.push(hit);
      }
    }
    hits.sort((a, b) =>
      b.date - a.date || a.folderKey.localeCompare(b.folderKey) || Number(b.id) - Number(a.id)
    );
    return hits.slice(0, limit);
  }
}
