/**
 * The box as a child process (`deno run src/main.ts serve` with PUSHBRIDGE_*
 * settings), as it runs in production: its own event loop, killable with
 * SIGKILL and restartable on the same data dir and port.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { EasClient } from "../eas_client/client.ts";
import { freePorts } from "../../tests/harness/free_port.ts";
import type { Mailstore } from "../../tests/harness/mod.ts";

const MAIN = new URL("../../src/main.ts", import.meta.url).pathname;

/** The box as a child process that can be killed and started again on the same data and port. */
export class BoxProcess {
  #child?: Deno.ChildProcess;
  readonly port: number;
  caPem = "";
  restarts = 0;

  /** The running process's id (for /proc readings). */
  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  /** `env` adds or replaces PUSHBRIDGE_* settings (a DAV URL, a proxy in front of a mailstore port). */
  constructor(
    readonly dataDir: string,
    readonly mailstore: Mailstore,
    readonly env: Record<string, string> = {},
  ) {
    this.port = freePorts(1)[0]!;
  }

  /** A real EAS client of a harness user for this box (TLS with the box's own CA). */
  client(user: string, password: string, deviceId: string): EasClient {
    return new EasClient({
      url: `https://127.0.0.1:${this.port}`,
      user,
      password,
      deviceId,
      deviceType: "iPhone",
      protocolVersion: "16.1",
      caCerts: [this.caPem],
      timeoutMs: 30_000,
    });
  }

  async start(): Promise<void> {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", MAIN, "serve"],
      env: {
        PUSHBRIDGE_DATA: this.dataDir,
        PUSHBRIDGE_LISTEN: `127.0.0.1:${this.port}`,
        PUSHBRIDGE_SETUP_LISTEN: "127.0.0.1:0",
        PUSHBRIDGE_IMAP_URL: this.mailstore.imapUrl,
        PUSHBRIDGE_SMTP_URL: this.mailstore.smtpUrl,
        PUSHBRIDGE_MAILSTORE_CA: this.mailstore.caFile,
        PUSHBRIDGE_LOG_LEVEL: "error",
        DENO_NO_UPDATE_CHECK: "1",
        ...this.env,
      },
      stdout: "null",
      stderr: Deno.env.get("RELIABILITY_DEBUG") ? "inherit" : "null",
    }).spawn();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: this.port }).catch(() => undefined);
      if (conn) {
        conn.close();
        this.caPem ||= await Deno.readTextFile(`${this.dataDir}/tls/ca.pem`);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("The box did not start listening within 30 s");
  }

  /** SIGKILL, then the database check; returns the integrity_check answer. */
  async kill(): Promise<string> {
    const child = this.#child!;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    return this.integrity();
  }

  /** `PRAGMA integrity_check` of the box's database from a connection of its own ("ok" when sound). */
  integrity(): string {
    const db = new DatabaseSync(`${this.dataDir}/pushbridge.sqlite`);
    try {
      const row = db.prepare("PRAGMA integrity_check").get() as Record<string, string>;
      return Object.values(row)[0] ?? "";
    } finally {
      db.close();
    }
  }

  async stop(): Promise<void> {
    try {
      this.#child?.kill("SIGKILL");
      await this.#child?.status;
    } catch {
      // already gone
    }
  }
}
