import { resolveSettings } from "../../src/config/settings.ts";
import { type Logger, silentLogger } from "../../src/log/logger.ts";
import { type RunningServer, startPushbridge } from "../../src/server.ts";
import { EasClient, type EasClientOptions } from "../../tools/eas_client/client.ts";
import { type Mailstore, startMailstore } from "../harness/mod.ts";

/** A box running against a real mailstore, for integration tests. */
export interface Box {
  mailstore: Mailstore;
  server: RunningServer;
  dataDir: string;
  /** A real EAS client over TLS for a harness user. */
  client(user?: string, options?: Partial<EasClientOptions>): EasClient;
  stop(): Promise<void>;
}

/**
 * Starts Dovecot (and friends, per options) and the box on random loopback
 * ports with a throwaway data dir; `stop()` tears everything down. Use in
 * try/finally so a failing test leaves no process behind.
 */
export async function startBox(
  options: {
    dav?: boolean;
    postfix?: boolean;
    sieve?: boolean;
    env?: Record<string, string>;
    /** Where the box logs (silent by default); security tests capture it. */
    log?: Logger;
  } = {},
): Promise<Box> {
  const mailstore = await startMailstore({
    dav: options.dav ?? false,
    postfix: options.postfix ?? false,
    sieve: options.sieve ?? false,
  });
  const dataDir = await Deno.makeTempDir({ prefix: "pushbridge-box-" });
  let server: RunningServer;
  try {
    const settings = resolveSettings({
      PUSHBRIDGE_DATA: dataDir,
      PUSHBRIDGE_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
      PUSHBRIDGE_IMAP_URL: mailstore.imapUrl,
      PUSHBRIDGE_SMTP_URL: mailstore.smtpUrl,
      PUSHBRIDGE_MAILSTORE_CA: mailstore.caFile,
      ...(mailstore.davUrl ? { PUSHBRIDGE_DAV_URL: mailstore.davUrl } : {}),
      ...options.env,
    });
    server = await startPushbridge(settings, options.log ?? silentLogger);
  } catch (error) {
    await mailstore.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    throw error;
  }
  const clients: EasClient[] = [];
  return {
    mailstore,
    server,
    dataDir,
    client(user = mailstore.users[0]!.name, overrides = {}) {
      const account = mailstore.users.find((u) => u.name === user);
      const client = new EasClient({
        url: server.easUrl,
        user,
        password: account?.password ?? "",
        deviceId: `dev${user}${clients.length}`,
        deviceType: "iPhone",
        protocolVersion: "16.1",
        ...(server.caCertPem ? { caCerts: [server.caCertPem] } : {}),
        ...overrides,
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const c of clients) c.close();
      await server.close();
      await mailstore.stop();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
