import { FOLDER_TYPE, type FolderType } from "../../eas/protocol/folder_types.ts";
import type { BackendFolder } from "../../backend/types.ts";

/** One LIST answer line as the IMAP client returns it (names already decoded from modified UTF-7). */
export interface ListedMailbox {
  name: string;
  delimiter: string | null;
  flags: string[];
}

/** Key prefix of IMAP folders. */
export const IMAP_PREFIX = "imap:";

/** SPECIAL-USE attributes (RFC 6154 2) and the EAS folder type they become. */
const SPECIAL_USE_TYPES: Record<string, FolderType> = {
  "\\drafts": FOLDER_TYPE.Drafts,
  "\\trash": FOLDER_TYPE.DeletedItems,
  "\\sent": FOLDER_TYPE.SentItems,
};

/**
 * Names servers without SPECIAL-USE commonly give these folders
 * (Courier, Cyrus and Outlook defaults; German and French desktop clients).
 */
const NAME_FALLBACKS: [FolderType, RegExp][] = [
  [FOLDER_TYPE.Drafts, /^(drafts?|entw(ü|ue)rfe|brouillons)$/i],
  [
    FOLDER_TYPE.DeletedItems,
    /^(trash|deleted items|deleted messages|papierkorb|gel(ö|oe)schte elemente|corbeille)$/i,
  ],
  [
    FOLDER_TYPE.SentItems,
    /^(sent|sent items|sent messages|sent mail|gesendet|gesendete elemente|envoy(é|e)s)$/i,
  ],
  [FOLDER_TYPE.Outbox, /^(outbox|postausgang)$/i],
];

/**
 * Maps IMAP mailboxes to EAS folders: INBOX is the Inbox (2); SPECIAL-USE
 * attributes decide Drafts, Deleted Items and Sent Items, names are the
 * fallback; everything else is a user mail folder (12). \Noselect levels are
 * not folders (their children hang from the nearest listed parent), and the
 * virtual \All and \Flagged views are left out because they would show every
 * message twice.
 */
export function mapImapFolders(mailboxes: ListedMailbox[]): BackendFolder[] {
  const selectable = mailboxes.filter((m) => !hasFlag(m, "\\noselect") && !hasFlag(m, "\\nonexistent"));
  const listed = selectable.filter((m) => !hasFlag(m, "\\all") && !hasFlag(m, "\\flagged"));
  const names = new Set(listed.map((m) => m.name));
  const typeOf = new Map<string, FolderType>();
  const taken = new Set<FolderType>();

  for (const m of listed) {
    if (m.name.toUpperCase() === "INBOX") {
      typeOf.set(m.name, FOLDER_TYPE.Inbox);
      taken.add(FOLDER_TYPE.Inbox);
    }
  }
  for (const m of listed) {
    if (typeOf.has(m.name)) continue;
    const special = m.flags.map((f) => SPECIAL_USE_TYPES[f.toLowerCase()]).find((t) => t !== undefined);
    if (special !== undefined && !taken.has(special)) {
      typeOf.set(m.name, special);
      taken.add(special);
    }
  }
  for (const [type, pattern] of NAME_FALLBACKS) {
    if (taken.has(type)) continue;
    const match = listed.find((m) => !typeOf.has(m.name) && pattern.test(leafName(m)) && depthOf(m) === 0);
    if (match) {
      typeOf.set(match.name, type);
      taken.add(type);
    }
  }

  return listed.map((m) => {
    const parent = parentName(m, names);
    return {
      key: IMAP_PREFIX + m.name,
      parentKey: parent === null ? null : IMAP_PREFIX + parent,
      displayName: leafName(m),
      type: typeOf.get(m.name) ?? FOLDER_TYPE.UserMail,
    };
  });
}

/** The mailbox name behind an IMAP folder key. */
export function mailboxOfKey(key: string): string | undefined {
  return key.startsWith(IMAP_PREFIX) ? key.slice(IMAP_PREFIX.length) : undefined;
}

function hasFlag(m: ListedMailbox, flag: string): boolean {
  return m.flags.some((f) => f.toLowerCase() === flag);
}

function leafName(m: ListedMailbox): string {
  if (!m.delimiter) return m.name;
  const parts = m.name.split(m.delimiter);
  return parts[parts.length - 1] || m.name;
}

function depthOf(m: ListedMailbox): number {
  return m.delimiter ? m.name.split(m.delimiter).length - 1 : 0;
}

/** Nearest listed ancestor, or null at the root. */
function parentName(m: ListedMailbox, names: Set<string>): string | null {
  if (!m.delimiter) return null;
  const parts = m.name.split(m.delimiter);
  for (let n = parts.length - 1; n > 0; n--) {
    const candidate = parts.slice(0, n).join(m.delimiter);
    if (names.has(candidate)) return candidate;
  }
  return null;
}
