/**
 * Integration test harness: starts real Dovecot (IMAP, submission, LMTP, ManageSieve), Postfix and
 * Radicale on random loopback ports with throwaway configs in a temp dir.
 *
 * Always stop the store, also when the test fails:
 * ```ts
 * const store = await startMailstore();
 * try {
 *   await store.deliver("bob", "Subject: hi\r\n\r\nhello\r\n");
 *   // ... talk to store.imapUrl as "bob" / DEFAULT_USERS[1].password
 * } finally {
 *   await store.stop();
 * }
 * ```
 *
 * @module
 */

import { type HarnessUser, startDovecot, validateUsers } from "./_dovecot.ts";
import { startPostfix } from "./_postfix.ts";
import { startRadicale } from "./_radicale.ts";
import { type ServerProcess, stopServer } from "./_process.ts";
import { generateCert } from "./_tls.ts";
import { freePorts } from "./free_port.ts";
import { deliverLmtp } from "./lmtp.ts";

export type { HarnessUser } from "./_dovecot.ts";
export { SPECIAL_USE_MAILBOXES } from "./_dovecot.ts";

/** alice, bob and carol at example.test; the password is the name followed by "-secret". */
export const DEFAULT_USERS: HarnessUser[] = ["alice", "bob", "carol"].map((name) => ({
  name,
  password: `${name}-secret`,
  email: `${name}@example.test`,
}));

/** A running set of servers on 127.0.0.1; stop() it in a finally block. */
export interface Mailstore {
  host: "127.0.0.1";
  /** IMAP with STARTTLS offered (self-signed cert); plain LOGIN allowed without TLS. */
  imapPort: number;
  /** `imap://127.0.0.1:PORT` */
  imapUrl: string;
  /** IMAP over implicit TLS. */
  imapsPort: number;
  /** `imaps://127.0.0.1:PORT` */
  imapsUrl: string;
  /** Dovecot submission: AUTH PLAIN with or without STARTTLS; relays to Postfix. */
  submissionPort: number;
  /** `smtp://127.0.0.1:PORT` (the submission port) */
  smtpUrl: string;
  /** Dovecot LMTP over TCP. */
  lmtpPort: number;
  /** ManageSieve (only listening when started with sieve: true, the default). */
  sievePort: number;
  /** Postfix smtpd that Dovecot submission relays to (only listening with postfix: true, the default). */
  smtpRelayPort: number;
  /** Radicale root `http://127.0.0.1:PORT/` when started with dav: true. */
  davUrl?: string;
  users: HarnessUser[];
  /** Temp dir holding configs, mail, queues and logs; removed by stop(). */
  dir: string;
  /** PEM of the throwaway CA that signed the certificate of all TLS ports (for Deno's `caCerts`). */
  caPem: string;
  /** Path of that CA certificate (for clients that take a file). */
  caFile: string;
  /** Delivers a message to a user (login name or email) via LMTP; seeds mail for tests. */
  deliver(to: string, message: string | Uint8Array): Promise<void>;
  /** Main process of each started server (children of Dovecot and Postfix are not listed). */
  processes: { name: string; pid: number }[];
  /** Kills all processes and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

/** What to start besides Dovecot. */
export interface MailstoreOptions {
  /** Accounts; DEFAULT_USERS when omitted. */
  users?: HarnessUser[];
  /** Start Radicale (default false). */
  dav?: boolean;
  /** Start Postfix as the submission relay (default true; needs root). */
  postfix?: boolean;
  /** Enable ManageSieve and Sieve filtering at LMTP delivery (default true). */
  sieve?: boolean;
  /** Keep the temp dir after stop() for debugging (also set by HARNESS_KEEP=1). */
  keepDir?: boolean;
}

/** Starts the servers; on any startup failure everything already started is stopped again. */
export async function startMailstore(options: MailstoreOptions = {}): Promise<Mailstore> {
  const users = options.users ?? DEFAULT_USERS;
  validateUsers(users);
  const sieve = options.sieve ?? true;
  const dir = await Deno.makeTempDir({ prefix: "pushbridge-harness-" });
  // Dovecot's auth and Postfix's daemons run as unprivileged users and must reach their files.
  await Deno.chmod(dir, 0o755);
  const servers: ServerProcess[] = [];
  let stopped = false;
  const keepDir = options.keepDir ?? Deno.env.get("HARNESS_KEEP") === "1";
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const server of servers.reverse()) await stopServer(server);
    if (!keepDir) await Deno.remove(dir, { recursive: true });
  };
  try {
    const [imap, imaps, submission, lmtp, sievePort, relay, dav] = freePorts(7) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const cert = await generateCert(dir);
    servers.push(
      await startDovecot({
        dir,
        users,
        sieve,
        certFile: cert.certFile,
        keyFile: cert.keyFile,
        ports: { imap, imaps, submission, lmtp, sieve: sievePort, relay },
      }),
    );
    const extra: Promise<ServerProcess>[] = [];
    if (options.postfix ?? true) extra.push(startPostfix({ dir, users, smtpPort: relay, lmtpPort: lmtp }));
    if (options.dav) extra.push(startRadicale({ dir, users, port: dav }));
    const results = await Promise.allSettled(extra);
    for (const result of results) if (result.status === "fulfilled") servers.push(result.value);
    const failure = results.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
    const store: Mailstore = {
      host: "127.0.0.1",
      imapPort: imap,
      imapUrl: `imap://127.0.0.1:${imap}`,
      imapsPort: imaps,
      imapsUrl: `imaps://127.0.0.1:${imaps}`,
      submissionPort: submission,
      smtpUrl: `smtp://127.0.0.1:${submission}`,
      lmtpPort: lmtp,
      sievePort,
      smtpRelayPort: relay,
      users,
      dir,
      caPem: cert.caPem,
      caFile: cert.caFile,
      processes: servers.map((server) => ({ name: server.name, pid: server.child.pid })),
      deliver: async (to, message) =>
        await deliverLmtp(lmtp, "harness@example.test", [recipient(users, to)], message),
      stop,
    };
    if (options.dav) store.davUrl = `http://127.0.0.1:${dav}/`;
    return store;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Maps a login name or email to the user's email; unknown addresses pass through for the server to reject. */
function recipient(users: HarnessUser[], to: string): string {
  const lower = to.toLowerCase();
  const user = users.find((candidate) =>
    candidate.name.toLowerCase() === lower || candidate.email.toLowerCase() === lower
  );
  if (user) return user.email;
  if (!to.includes("@")) throw new Error(`Unknown harness user "${to}"`);
  return to;
}
