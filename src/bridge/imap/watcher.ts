import type { MailstoreUrl } from "../../config/settings.ts";
import type { Logger } from "../../log/logger.ts";
import { PUSH_LIMITS } from "../../push/limits.ts";
import type { FolderWatcher, WatchCredentials, WatcherFactory, WatchSink } from "../../push/watcher.ts";
import { mailboxArg } from "./_imap_command.ts";
import { onMailboxRead } from "./_mail_session_imap.ts";
import { IMAP_PREFIX, mailboxOfKey } from "./folder_mapping.ts";
import type { ImapConnectionPool, ImapLease } from "./connection_pool.ts";
import {
  type IdleHandle,
  ImapAuthError,
  ImapClient,
  type MailboxStatus,
  type UntaggedEvent,
} from "./imap_client.ts";

/** How the watchers reach the IMAP server. */
export interface ImapWatcherOptions {
  url: MailstoreUrl;
  caCerts?: string[];
  log: Logger;
  /** STATUS poll interval of non-INBOX folders without NOTIFY; default {@link PUSH_LIMITS.imapStatusPollMs}. */
  statusPollMs?: number;
  /** Ignore NOTIFY even where offered (benchmarks and tests of the IDLE path). */
  disableNotify?: boolean;
  /**
   * The user's connection pool: the watcher then works on the user's pooled
   * connection instead of a connection of its own (one IMAP connection per
   * active user). Without it each watcher opens its own connection.
   */
  pool?: ImapConnectionPool;
  /** Connects a logged-in client of the watcher's own; replaced by tests that inject faults. */
  connect?: (credentials: WatchCredentials) => Promise<ImapClient>;
}

/**
 * Opens one IMAP watcher per user for the change hub (src/push): a single
 * connection of its own per active user, whatever the number of devices,
 * requests and pinged folders.
 *
 * - Where the server offers NOTIFY (RFC 5465), one `NOTIFY SET (mailboxes
 *   ...)` covers every pinged folder and the connection sits in IDLE; the
 *   server's STATUS notifications name the changed mailbox.
 * - Otherwise INBOX is EXAMINEd and IDLEd on, and the other pinged folders
 *   are checked with STATUS (UIDNEXT, MESSAGES, HIGHESTMODSEQ) every poll
 *   interval on the same connection: never a connection per folder.
 *
 * Every observation is reported as a state token
 * `UIDVALIDITY:UIDNEXT:MESSAGES:HIGHESTMODSEQ`, so the hub tells each device
 * of a change once. A lost connection is reopened with doubling backoff while
 * held requests keep waiting; the watcher state shows "unreachable" meanwhile.
 *
 * With a pool the watcher leases the user's pooled connection: it sits in
 * IDLE between requests, a request's first command ends the IDLE (DONE, sent
 * by ImapClient), and the watcher re-enters IDLE in the pool's queue after the
 * request's work. With NOTIFY, changes of other mailboxes are reported while
 * requests run too; without it INBOX is EXAMINEd again before each IDLE when a
 * request selected another mailbox.
 */
export class ImapWatcherFactory implements WatcherFactory {
  readonly prefix = IMAP_PREFIX;
  readonly #options: ImapWatcherOptions;
  /** Connections of the watchers' own opened since start (none with a pool; benchmarks read this). */
  opened = 0;
  /** Watchers open now. */
  live = 0;

  constructor(options: ImapWatcherOptions) {
    this.#options = options;
  }

  /** Opens a watcher; it connects in the background and reports through `sink`. */
  open(credentials: WatchCredentials, sink: WatchSink): FolderWatcher {
    const pool = this.#options.connect ? undefined : this.#options.pool;
    const connect = this.#options.connect ?? ((c) => this.#connect(c));
    this.live++;
    return new ImapWatcher(credentials, sink, {
      connect: pool ? (c) => pool.lease(c) : async (c) => {
        const client = await connect(c);
        this.opened++;
        return ownLease(client);
      },
      log: this.#options.log,
      pollMs: this.#options.statusPollMs ?? PUSH_LIMITS.imapStatusPollMs,
      useNotify: !this.#options.disableNotify,
      onClose: () => this.live--,
    });
  }

  async #connect(credentials: WatchCredentials): Promise<ImapClient> {
    const { url, caCerts } = this.#options;
    const client = await ImapClient.connect({
      url: `${url.implicitTls ? "imaps" : "imap"}://${url.hostname}:${url.port}`,
      ...(caCerts ? { tls: { caCerts } } : {}),
    });
    try {
      await client.login(credentials.user, credentials.password);
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }
}

/** A lease on a connection of the watcher's own: released by logging out. */
function ownLease(client: ImapClient): ImapLease {
  return { client, exclusive: (work) => work(client), release: () => void client.logout() };
}

interface WatcherDeps {
  connect: (credentials: WatchCredentials) => Promise<ImapLease>;
  log: Logger;
  pollMs: number;
  useNotify: boolean;
  onClose: () => void;
}

/**
 * The state token of a mailbox: it changes whenever mail arrives, leaves, or
 * (with CONDSTORE) flags change. It is the text of the mail backend's folder
 * cursor (ImapMailBackend.folderCursor), so a Sync can tell the hub which
 * state it delivered (ChangeHub.markSeen).
 */
export function statusToken(status: MailboxStatus): string {
  return `${status.uidValidity ?? ""}:${status.uidNext ?? ""}:${status.messages ?? ""}:${
    status.highestModSeq ?? ""
  }`;
}

class ImapWatcher implements FolderWatcher {
  /** Watched mailboxes (Unicode names) by key. */
  #mailboxes = new Map<string, string>();
  /** Mailboxes whose state must be read before the next IDLE. */
  readonly #dirty = new Set<string>();
  /** When the server first said a dirty mailbox changed: the status page's push latency starts there. */
  readonly #noticed = new Map<string, number>();
  #keysChanged = false;
  #closed = false;
  #lease: ImapLease | undefined;
  #idle: IdleHandle | undefined;
  #wake: (() => void) | undefined;

  constructor(
    private readonly credentials: WatchCredentials,
    private readonly sink: WatchSink,
    private readonly deps: WatcherDeps,
  ) {
    void this.#run();
  }

  watch(keys: readonly string[]): void {
    for (const key of keys) {
      const mailbox = mailboxOfKey(key);
      if (mailbox === undefined || this.#mailboxes.has(key)) continue;
      this.#mailboxes.set(key, mailbox);
      this.#dirty.add(key);
      this.#keysChanged = true;
    }
    this.#wake?.();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deps.onClose();
    this.#wake?.();
    const lease = this.#lease;
    this.#lease = undefined;
    if (lease) void this.#release(lease, this.#idle);
  }

  /** Leaves IDLE and, on a shared connection, stops NOTIFY events before handing the connection back. */
  async #release(lease: ImapLease, idle: IdleHandle | undefined): Promise<void> {
    try {
      await idle?.done();
      if (!lease.client.isClosed && lease.client.capabilities.has("NOTIFY") && this.deps.useNotify) {
        await lease.exclusive((client) => client.notify("NONE"));
      }
    } catch { /* the connection is going away anyway */ }
    lease.release();
  }

  async #run(): Promise<void> {
    let delay: number = PUSH_LIMITS.reconnectMinMs;
    while (!this.#closed) {
      this.sink.state("connecting");
      let lease: ImapLease | undefined;
      try {
        lease = await this.deps.connect(this.credentials);
        if (this.#closed) {
          lease.release();
          return;
        }
        this.#lease = lease;
        // After a reconnect every folder is read again: changes while away are not lost.
        for (const key of this.#mailboxes.keys()) this.#dirty.add(key);
        this.#keysChanged = true;
        await this.#watchOn(lease, () => {
          delay = PUSH_LIMITS.reconnectMinMs;
        });
      } catch (error) {
        if (this.#closed) return;
        const detail = error instanceof Error ? error.message : String(error);
        this.sink.state("unreachable", detail);
        this.deps.log.warn("push.imap_watcher_down", {
          user: this.credentials.user,
          error: detail,
          retryMs: delay,
          auth: error instanceof ImapAuthError,
        });
      } finally {
        if (lease && this.#lease === lease) {
          this.#lease = undefined;
          void this.#release(lease, this.#idle);
        }
      }
      if (this.#closed) return;
      await this.#sleep(delay);
      delay = Math.min(delay * 2, PUSH_LIMITS.reconnectMaxMs);
    }
  }

  /** Watches on one connection until it fails or the watcher closes. */
  async #watchOn(lease: ImapLease, healthy: () => void): Promise<void> {
    const client = lease.client;
    const notify = this.deps.useNotify && client.capabilities.has("NOTIFY");
    const byMailbox = (name: string | null) => {
      if (name === null) return undefined;
      for (const [key, mailbox] of this.#mailboxes) {
        if (mailbox === name || (mailbox.toUpperCase() === "INBOX" && name.toUpperCase() === "INBOX")) {
          return key;
        }
      }
      return undefined;
    };
    const inboxKey = () => byMailbox("INBOX");
    const unsubscribe = client.onUntagged((event: UntaggedEvent) => {
      let key: string | undefined;
      if (event.type === "status") key = byMailbox(event.mailbox);
      else if (
        event.type === "exists" || event.type === "expunge" || event.type === "fetch" ||
        event.type === "vanished"
      ) {
        // Events of the selected mailbox: the watcher's INBOX, or whatever a request of the
        // user selected on the shared connection.
        key = byMailbox(client.selected);
      }
      if (key === undefined) return;
      this.#dirty.add(key);
      if (!this.#noticed.has(key)) this.#noticed.set(key, Date.now());
      this.#wake?.();
    });
    // A request's SELECT or STATUS of a watched mailbox may have consumed the event: its answer is the new state.
    const unobserve = onMailboxRead(client, (mailbox, status) => {
      const key = byMailbox(mailbox);
      if (key !== undefined && !this.#closed) this.sink.changed([key], [statusToken(status)]);
    });
    let nextPoll = Date.now() + this.deps.pollMs;
    try {
      while (!this.#closed && !client.isClosed) {
        if (this.#keysChanged) {
          this.#keysChanged = false;
          const names = [...this.#mailboxes.values()].map(mailboxText);
          if (notify && names.length > 0) {
            // "selected" too: a request of the user may select a watched mailbox (RFC 5465 6).
            await lease.exclusive((c) =>
              c.notify(
                `SET (selected (MessageNew MessageExpunge FlagChange)) ` +
                  `(mailboxes (${names.join(" ")}) (MessageNew MessageExpunge FlagChange))`,
              )
            );
          }
        }
        if (!notify && Date.now() >= nextPoll) {
          for (const key of this.#mailboxes.keys()) if (key !== inboxKey()) this.#dirty.add(key);
          nextPoll = Date.now() + this.deps.pollMs;
        }
        if (this.#dirty.size > 0) await lease.exclusive((c) => this.#readStatus(c));
        this.sink.state("watching");
        healthy();
        if (this.#dirty.size > 0 || this.#keysChanged || this.#closed) continue;
        // IDLE starts in the pool's queue, so never in the middle of a request's SELECT and FETCH.
        const idle = await lease.exclusive(async (c) => {
          const inbox = inboxKey();
          if (!notify && inbox !== undefined && c.selected !== "INBOX") await this.#examineInbox(c, inbox);
          return this.#closed ? undefined : await c.idle();
        });
        if (idle === undefined) continue;
        this.#idle = idle;
        const wait = notify ? PUSH_LIMITS.imapIdleRestartMs : Math.max(0, nextPoll - Date.now());
        await Promise.race([idle.ended, this.#sleep(Math.min(wait, PUSH_LIMITS.imapIdleRestartMs))]);
        await idle.done();
        this.#idle = undefined;
      }
    } finally {
      unsubscribe();
      unobserve();
    }
    if (!this.#closed) throw new Error("IMAP connection closed");
  }

  /**
   * EXAMINE INBOX for IDLE without NOTIFY. Its answer is INBOX's state token,
   * reported at once: INBOX changes while a request had another mailbox selected
   * are not lost.
   */
  async #examineInbox(client: ImapClient, key: string): Promise<void> {
    const condstore = client.capabilities.has("CONDSTORE") || client.capabilities.has("QRESYNC");
    const info = await client.examine("INBOX", condstore ? { condstore } : {});
    const status: MailboxStatus = {
      uidValidity: info.uidValidity,
      uidNext: info.uidNext,
      messages: info.exists,
    };
    if (info.highestModSeq !== undefined) status.highestModSeq = info.highestModSeq;
    if (!this.#closed) this.sink.changed([key], [statusToken(status)]);
  }

  async #readStatus(client: ImapClient): Promise<void> {
    const keys = [...this.#dirty];
    this.#dirty.clear();
    // Taken now: an event during the STATUS below starts a new notice.
    const noticedAt = new Map(keys.map((key) => [key, this.#noticed.get(key) ?? Date.now()]));
    for (const key of keys) this.#noticed.delete(key);
    const tokens: string[] = [];
    const read: string[] = [];
    for (const key of keys) {
      const mailbox = this.#mailboxes.get(key);
      if (mailbox === undefined) continue;
      try {
        tokens.push(
          statusToken(await client.status(mailbox, ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "HIGHESTMODSEQ"])),
        );
        read.push(key);
      } catch (error) {
        // A folder deleted on the server: it can no longer change; FolderSync will tell the phone.
        if (client.isClosed) throw error;
        this.deps.log.debug("push.imap_status_failed", { user: this.credentials.user, key, error });
      }
    }
    if (read.length > 0 && !this.#closed) {
      this.sink.changed(
        read,
        tokens,
        read.map((key) => noticedAt.get(key)!),
      );
    }
  }

  /** Sleeps until `ms` passed or something wakes the watcher (new keys, a change, close). */
  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

function mailboxText(name: string): string {
  const arg = mailboxArg(name);
  if (typeof arg !== "string") throw new TypeError(`Mailbox name "${name}" is too long for NOTIFY`);
  return arg;
}
