import type { CompositeBackend } from "../../backend/composite.ts";
import type { MailOperations } from "../../backend/mail_operations.ts";
import type { MailSubmitter } from "../../backend/submission.ts";
import type { Credentials } from "../../backend/types.ts";
import type { Logger } from "../../log/logger.ts";
import type { PushContext } from "../../push/push_context.ts";
import type { Store } from "../../store/mod.ts";
import type { DeviceRecord } from "../../store/devices.ts";
import type { OutOfOfficeService, PasswordRecovery, UserIdentity } from "./settings.ts";
import type { GalDirectory, MailSearch } from "./search.ts";
import type { ProvisioningHooks } from "./provision.ts";
import type { AvailabilityLookup, ContactLookup } from "./resolve_recipients.ts";
import type { EasQuery } from "../protocol/query.ts";
import type { StreamElement, WbxmlElement } from "../../wbxml/mod.ts";

/** A decoded EAS request as a handler sees it. */
export interface EasRequest {
  /** The decoded WBXML body; undefined for an empty body or a non-WBXML body. */
  body: WbxmlElement | undefined;
  /** The raw body (MIME for SendMail in 12.1 and earlier). */
  raw: Uint8Array;
  contentType: string;
  query: EasQuery;
  /** Request headers (X-MS-PolicyKey, MS-ASAcceptMultiPart, ...). */
  headers: Headers;
}

/** What a handler answers. */
export interface EasResponse {
  /** A WBXML response body; absent for an empty 200. */
  body?: WbxmlElement;
  /** A large WBXML response produced lazily (initial Sync windows, attachment fetches). */
  stream?: StreamElement;
  /** A non-WBXML body (multipart ItemOperations, GetAttachment). */
  raw?: { contentType: string; body: Uint8Array | ReadableStream<Uint8Array> };
  headers?: Record<string, string>;
}

/** Everything a command may use; built per request by the HTTP layer. */
export interface CommandContext {
  /** The normalized user name (state key) and the credentials (memory only). */
  user: string;
  credentials: Credentials;
  device: DeviceRecord;
  protocolVersion: string;
  store: Store;
  backend: CompositeBackend;
  /** Aborted when the client goes away or a newer request supersedes this one. */
  signal: AbortSignal;
  /** SMTP submission (SendMail, SmartReply, SmartForward); absent when no SMTP server is configured. */
  submitter?: MailSubmitter;
  /** The user's mail operations beyond sync (move, folder changes, originals, Sent); absent without IMAP. */
  mailOps?: MailOperations;
  /**
   * Hanging Sync (Wait / HeartbeatInterval, MS-ASCMD 2.2.3.197, 2.2.3.90):
   * resolves true when one of the folders (backend keys) changed, false when
   * `timeoutMs` passed; provided by the push hub. Without it Sync polls.
   */
  waitForChanges?: (folderKeys: string[], timeoutMs: number, signal: AbortSignal) => Promise<boolean>;
  /** Structured log of the request (skipped items, backend trouble); absent in unit tests. */
  log?: Logger;
  /** The user's Out of Office setting (Sieve vacation over ManageSieve); absent without one. */
  oof?: OutOfOfficeService;
  /** The user's addresses and display name (UserInformation, vacation :addresses). */
  identity?: () => Promise<UserIdentity>;
  /** Whether DevicePassword may be kept and the key sealing it; absent means refused. */
  passwordRecovery?: PasswordRecovery;
  /** The Global Address List (Search GAL, Find GAL, ResolveRecipients). */
  gal?: GalDirectory;
  /** The user's own contacts (CardDAV address books) for ResolveRecipients; absent without a DAV server. */
  contacts?: ContactLookup;
  /** Free/busy for ResolveRecipients Availability (CalDAV); absent without a DAV server. */
  availability?: AvailabilityLookup;
  /** Mailbox search over IMAP (Search Mailbox, Find mailbox). */
  mailSearch?: MailSearch;
  /** Direct Push (Ping): the change hub, storm guard and heartbeat bounds; absent in unit tests of other commands. */
  push?: PushContext;
  /** Policies and remote wipe for Provision (MS-ASPROV); absent in unit tests of other commands. */
  provisioning?: ProvisioningHooks;
}

/** The contract of every command module: `(request, context) => Promise<response>`. */
export type CommandHandler = (request: EasRequest, context: CommandContext) => Promise<EasResponse>;
