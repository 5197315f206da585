import { BackendUnavailableError, type Credentials, type LoginCheck } from "../../backend/types.ts";
import type { MailstoreUrl } from "../../config/settings.ts";
import type { Logger } from "../../log/logger.ts";
import { ImapAuthError, ImapClient } from "./imap_client.ts";

/** How the pool reaches the office IMAP server. */
export interface ImapPoolOptions {
  url: MailstoreUrl;
  caCerts?: string[];
  log: Logger;
  /** Close a user's connection after this long without use. */
  idleCloseMs?: number;
  /** Per-command timeout. */
  timeoutMs?: number;
}

interface Session {
  client: ImapClient;
  passwordDigest: string;
  /** Serializes mailbox-selecting work: one SELECT state per connection. */
  queue: Promise<unknown>;
  lastUsed: number;
  /** Holders of a lease (the user's push watcher): the connection stays open while held. */
  leases: number;
}

/**
 * A long hold on a user's pooled connection, taken by the push watcher
 * (watcher.ts) so that NOTIFY/IDLE and the user's requests share one
 * connection. Requests end the watcher's IDLE themselves: ImapClient sends
 * DONE before any other command and the watcher re-enters IDLE afterwards.
 */
export interface ImapLease {
  readonly client: ImapClient;
  /** Runs `work` in the connection's queue (like withClient), on this very connection. */
  exclusive<T>(work: (client: ImapClient) => Promise<T>): Promise<T>;
  /** Ends the hold; the connection stays for the user's requests until it idles out. */
  release(): void;
}

/** Default: a connection closes 5 minutes after its user's last request. */
const IDLE_CLOSE_MS = 5 * 60 * 1000;

/**
 * One IMAP connection per active user, shared by all of that user's devices
 * and requests (ARCHITECTURE: "one IMAP connection per active user"). Work on
 * a connection is serialized because SELECT state is per connection.
 */
export class ImapConnectionPool {
  readonly #options: ImapPoolOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #connecting = new Map<string, Promise<Session>>();
  readonly #timer: ReturnType<typeof setInterval>;
  /** Connections opened since start (benchmarks read this). */
  opened = 0;

  constructor(options: ImapPoolOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#closeIdle(), 30_000);
    Deno.unrefTimer(this.#timer as unknown as number);
  }

  /** Live connections now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Checks credentials with an IMAP LOGIN; a success keeps the connection for the user's requests. */
  async checkLogin(credentials: Credentials): Promise<LoginCheck> {
    try {
      await this.#session(credentials);
      return "ok";
    } catch (error) {
      if (error instanceof ImapAuthError) return "denied";
      this.#options.log.warn("imap.login_unavailable", { user: credentials.user, error });
      return "unavailable";
    }
  }

  /**
   * Runs `work` on the user's connection, after any work already queued on it.
   * Connection failures become BackendUnavailableError (503 / retry later).
   */
  async withClient<T>(credentials: Credentials, work: (client: ImapClient) => Promise<T>): Promise<T> {
    let session: Session;
    try {
      session = await this.#session(credentials);
    } catch (error) {
      if (error instanceof ImapAuthError) throw error;
      throw new BackendUnavailableError(`IMAP server '${this.#options.url.href}' is unreachable`, error);
    }
    return await enqueue(session, work);
  }

  /**
   * Holds the user's connection (opening it when needed) for the push watcher.
   * Errors are the client's own (ImapAuthError, ImapConnectionError): the
   * watcher reports them and retries with backoff.
   */
  async lease(credentials: Credentials): Promise<ImapLease> {
    const session = await this.#session(credentials);
    session.leases++;
    let held = true;
    return {
      client: session.client,
      exclusive: (work) => enqueue(session, work),
      release: () => {
        if (!held) return;
        held = false;
        session.leases--;
        session.lastUsed = Date.now();
      },
    };
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    const sessions = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.allSettled(sessions.map((s) => s.client.logout()));
  }

  async #session(credentials: Credentials): Promise<Session> {
    const digest = await digestOf(credentials);
    const existing = this.#sessions.get(credentials.user);
    if (existing && existing.passwordDigest === digest && !existing.client.isClosed) {
      existing.lastUsed = Date.now();
      return existing;
    }
    const key = `${credentials.user}\0${digest}`;
    const pending = this.#connecting.get(key);
    if (pending) return await pending;
    const connecting = this.#open(credentials, digest);
    this.#connecting.set(key, connecting);
    try {
      const session = await connecting;
      const old = this.#sessions.get(credentials.user);
      this.#sessions.set(credentials.user, session);
      if (old && old !== session) old.client.logout().catch(() => {});
      return session;
    } finally {
      this.#connecting.delete(key);
    }
  }

  async #open(credentials: Credentials, digest: string): Promise<Session> {
    const { url, caCerts, timeoutMs } = this.#options;
    const client = await ImapClient.connect({
      url: `${url.implicitTls ? "imaps" : "imap"}://${url.hostname}:${url.port}`,
      ...(caCerts ? { tls: { caCerts } } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    this.opened++;
    try {
      await client.login(credentials.user, credentials.password);
    } catch (error) {
      client.close();
      throw error;
    }
    return { client, passwordDigest: digest, queue: Promise.resolve(), lastUsed: Date.now(), leases: 0 };
  }

  #closeIdle(): void {
    const limit = this.#options.idleCloseMs ?? IDLE_CLOSE_MS;
    const now = Date.now();
    for (const [user, session] of this.#sessions) {
      if (session.client.isClosed || (session.leases === 0 && now - session.lastUsed > limit)) {
        this.#sessions.delete(user);
        session.client.logout().catch(() => {});
      }
    }
  }
}

/** Runs `work` on the session's connection after the work already queued on it. */
async function enqueue<T>(session: Session, work: (client: ImapClient) => Promise<T>): Promise<T> {
  const run = session.queue.then(() => work(session.client), () => work(session.client));
  session.queue = run.catch(() => {});
  try {
    return await run;
  } finally {
    session.lastUsed = Date.now();
  }
}

async function digestOf(credentials: Credentials): Promise<string> {
  const data = new TextEncoder().encode(`${credentials.user}\0${credentials.password}`);
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
}
