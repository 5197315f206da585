import type { MailstoreUrl } from "../../config/settings.ts";
import type { Logger } from "../../log/logger.ts";
import { PUSH_LIMITS } from "../../push/limits.ts";
import type { FolderWatcher, WatchCredentials, WatcherFactory, WatchSink } from "../../push/watcher.ts";
import { mailboxArg } from "./_imap_command.ts";
import { IMAP_PREFIX, mailboxOfKey } from "./folder_mapping.ts";
import { ImapAuthError, ImapClient, type MailboxStatus, type UntaggedEvent } from "./imap_client.ts";

/** How the watchers reach the IMAP server. */
export interface ImapWatcherOptions {
  url: MailstoreUrl;
  caCerts?: string[];
  log: Logger;
  /** STATUS poll interval of non-INBOX folders without NOTIFY; default {@link PUSH_LIMITS.imapStatusPollMs}. */
  statusPollMs?: number;
  /** Ignore NOTIFY even where offered (benchmarks and tests of the IDLE path). */
  disableNotify?: boolean;
  /** Connects a logged-in client; replaced by tests that inject faults. */
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
 * `UIDVALIDITY.UIDNEXT.MESSAGES.HIGHESTMODSEQ`, so the hub tells each device
 * of a change once. A lost connection is reopened with doubling backoff while
 * held requests keep waiting; the watcher state shows "unreachable" meanwhile.
 *
 * It is a second connection beside the user's pool connection: the pool
 * serializes SELECT-dependent work and cannot be interrupted by an IDLE
 * owned by someone else.
 */
export class ImapWatcherFactory implements WatcherFactory {
  readonly prefix = IMAP_PREFIX;
  readonly #options: ImapWatcherOptions;
  /** Connections opened since start (benchmarks read this). */
  opened = 0;
  /** Watchers open now. */
  live = 0;

  constructor(options: ImapWatcherOptions) {
    this.#options = options;
  }

  /** Opens a watcher; it connects in the background and reports through `sink`. */
  open(credentials: WatchCredentials, sink: WatchSink): FolderWatcher {
    const connect = this.#options.connect ?? ((c) => this.#connect(c));
    this.live++;
    return new ImapWatcher(credentials, sink, {
      connect: async (c) => {
        const client = await connect(c);
        this.opened++;
        return client;
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

interface WatcherDeps {
  connect: (credentials: WatchCredentials) => Promise<ImapClient>;
  log: Logger;
  pollMs: number;
  useNotify: boolean;
  onClose: () => void;
}

/** The state token of a mailbox: it changes whenever mail arrives, leaves, or (with CONDSTORE) flags change. */
export function statusToken(status: MailboxStatus): string {
  return `${status.uidValidity ?? ""}.${status.uidNext ?? ""}.${status.messages ?? ""}.${
    status.highestModSeq ?? ""
  }`;
}

class ImapWatcher implements FolderWatcher {
  /** Watched mailboxes (Unicode names) by key. */
  #mailboxes = new Map<string, string>();
  /** Mailboxes whose state must be read before the next IDLE. */
  readonly #dirty = new Set<string>();
  #keysChanged = false;
  #closed = false;
  #client: ImapClient | undefined;
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
    const client = this.#client;
    this.#client = undefined;
    client?.logout().catch(() => {});
  }

  async #run(): Promise<void> {
    let delay: number = PUSH_LIMITS.reconnectMinMs;
    while (!this.#closed) {
      this.sink.state("connecting");
      let client: ImapClient | undefined;
      try {
        client = await this.deps.connect(this.credentials);
        if (this.#closed) {
          client.logout().catch(() => {});
          return;
        }
        this.#client = client;
        // After a reconnect every folder is read again: changes while away are not lost.
        for (const key of this.#mailboxes.keys()) this.#dirty.add(key);
        this.#keysChanged = true;
        await this.#watchOn(client, () => {
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
        if (client && this.#client === client) this.#client = undefined;
        client?.close();
      }
      if (this.#closed) return;
      await this.#sleep(delay);
      delay = Math.min(delay * 2, PUSH_LIMITS.reconnectMaxMs);
    }
  }

  /** Watches on one connection until it fails or the watcher closes. */
  async #watchOn(client: ImapClient, healthy: () => void): Promise<void> {
    const notify = this.deps.useNotify && client.capabilities.has("NOTIFY");
    const byMailbox = (name: string) => {
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
      else if (event.type === "exists" || event.type === "expunge" || event.type === "fetch") {
        key = inboxKey();
      } else if (event.type === "vanished") key = inboxKey();
      if (key === undefined) return;
      this.#dirty.add(key);
      this.#wake?.();
    });
    let examined = false;
    let nextPoll = Date.now() + this.deps.pollMs;
    try {
      while (!this.#closed && !client.isClosed) {
        if (this.#keysChanged) {
          this.#keysChanged = false;
          if (notify) {
            const names = [...this.#mailboxes.values()].map(mailboxText);
            if (names.length > 0) {
              await client.notify(
                `SET (mailboxes (${names.join(" ")}) (MessageNew MessageExpunge FlagChange))`,
              );
            }
          } else if (!examined && inboxKey() !== undefined) {
            await client.examine("INBOX");
            examined = true;
          }
        }
        if (!notify && Date.now() >= nextPoll) {
          for (const key of this.#mailboxes.keys()) if (key !== inboxKey()) this.#dirty.add(key);
          nextPoll = Date.now() + this.deps.pollMs;
        }
        if (this.#dirty.size > 0) await this.#readStatus(client);
        this.sink.state("watching");
        healthy();
        if (this.#dirty.size > 0 || this.#keysChanged) continue;
        const idle = await client.idle();
        const wait = notify ? PUSH_LIMITS.imapIdleRestartMs : Math.max(0, nextPoll - Date.now());
        await Promise.race([idle.ended, this.#sleep(Math.min(wait, PUSH_LIMITS.imapIdleRestartMs))]);
        await idle.done();
      }
    } finally {
      unsubscribe();
    }
    if (!this.#closed) throw new Error("IMAP connection closed");
  }

  async #readStatus(client: ImapClient): Promise<void> {
    const keys = [...this.#dirty];
    this.#dirty.clear();
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
    if (read.length > 0 && !this.#closed) this.sink.changed(read, tokens);
  }

  /** Sleeps until `ms` passed or something wakes the watcher (new keys, a change, close). */
  #sleep(ms: number): Promise<void> {
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
