/**
 * A small ManageSieve client (RFC 5804): capabilities, STARTTLS, AUTHENTICATE
 * PLAIN, LISTSCRIPTS, GETSCRIPT, PUTSCRIPT, SETACTIVE, LOGOUT. Enough to keep
 * one managed block in the user's active script.
 *
 * @module
 */

/** Where the ManageSieve server listens. */
export interface ManageSieveOptions {
  hostname: string;
  port: number;
  /** PEM CA certificates trusted for STARTTLS besides the system ones. */
  caCerts?: string[];
  /** "starttls" upgrades when offered (RFC 5804 2.2), "require" fails without it, "off" never upgrades. */
  tls?: "starttls" | "require" | "off";
  /** Per-command timeout in milliseconds. */
  timeoutMs?: number;
}

/** The server refused the credentials (NO to AUTHENTICATE). */
export class ManageSieveAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ManageSieveAuthError";
  }
}

/** The server answered NO or BYE to a command, or could not be reached. */
export class ManageSieveError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = "ManageSieveError";
  }
}

/** A script as LISTSCRIPTS names it. */
export interface ScriptEntry {
  name: string;
  active: boolean;
}

/** Largest script or response line accepted; Pigeonhole's default max script size is 1 MB. */
const MAX_LITERAL = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

interface Reply {
  status: "OK" | "NO" | "BYE";
  code?: string;
  message: string;
  /** Lines (with literals resolved to strings) before the status line. */
  data: string[][];
}

/** One authenticated ManageSieve session. */
export class ManageSieveClient {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  readonly #timeoutMs: number;
  capabilities = new Map<string, string>();

  private constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  /** Connects, reads the greeting, upgrades to TLS when asked and logs in with SASL PLAIN (RFC 4616). */
  static async connect(
    options: ManageSieveOptions,
    user: string,
    password: string,
  ): Promise<ManageSieveClient> {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname: options.hostname, port: options.port });
    } catch (error) {
      throw new ManageSieveError(
        `ManageSieve server '${options.hostname}:${options.port}' is unreachable: ${
          (error as Error).message
        }`,
      );
    }
    const client = new ManageSieveClient(conn, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    try {
      client.#readCapabilities(await client.#reply());
      const tls = options.tls ?? "starttls";
      if (tls !== "off" && client.capabilities.has("STARTTLS")) {
        await client.#expectOk(await client.#command("STARTTLS"));
        client.#conn = await Deno.startTls(client.#conn as Deno.TcpConn, {
          hostname: options.hostname,
          ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        });
        client.#buffer = new Uint8Array(0);
        // RFC 5804 2.2: the server sends its capabilities again after the handshake.
        client.#readCapabilities(await client.#reply());
      } else if (tls === "require") {
        throw new ManageSieveError("ManageSieve server does not offer STARTTLS");
      }
      const sasl = (client.capabilities.get("SASL") ?? "").toUpperCase().split(/\s+/);
      if (!sasl.includes("PLAIN")) throw new ManageSieveError("ManageSieve server does not offer SASL PLAIN");
      const token = base64(new TextEncoder().encode(`\0${user}\0${password}`));
      const auth = await client.#command(`AUTHENTICATE "PLAIN" ${quote(token)}`);
      if (auth.status !== "OK") throw new ManageSieveAuthError(`ManageSieve login failed: ${auth.message}`);
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** The scripts of the user and which one is active (RFC 5804 2.7). */
  async listScripts(): Promise<ScriptEntry[]> {
    const reply = await this.#expectOk(await this.#command("LISTSCRIPTS"));
    return reply.data.filter((words) => words.length > 0).map((words) => ({
      name: words[0]!,
      active: (words[1] ?? "").toUpperCase() === "ACTIVE",
    }));
  }

  /** A script's text (RFC 5804 2.9). */
  async getScript(name: string): Promise<string> {
    const reply = await this.#expectOk(await this.#command(`GETSCRIPT ${quote(name)}`));
    return reply.data[0]?.[0] ?? "";
  }

  /** Stores a script; the server checks it and answers NO with the compile error (RFC 5804 2.6). */
  async putScript(name: string, script: string): Promise<void> {
    await this.#expectOk(await this.#command(`PUTSCRIPT ${quote(name)} ${literal(script)}`));
  }

  /** Makes a script the active one (RFC 5804 2.8). */
  async setActive(name: string): Promise<void> {
    await this.#expectOk(await this.#command(`SETACTIVE ${quote(name)}`));
  }

  /** Says LOGOUT and closes; never throws. */
  async logout(): Promise<void> {
    try {
      await this.#command("LOGOUT");
    } catch {
      // The server may close first.
    }
    this.close();
  }

  /** Closes the connection. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  #readCapabilities(reply: Reply): void {
    this.capabilities = new Map(reply.data.map((words) => [(words[0] ?? "").toUpperCase(), words[1] ?? ""]));
  }

  async #expectOk(reply: Reply): Promise<Reply> {
    if (reply.status !== "OK") {
      throw new ManageSieveError(`ManageSieve command failed: ${reply.message || reply.status}`, reply.code);
    }
    return await Promise.resolve(reply);
  }

  async #command(line: string): Promise<Reply> {
    await this.#write(new TextEncoder().encode(`${line}\r\n`));
    return await this.#reply();
  }

  async #write(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) offset += await this.#conn.write(bytes.subarray(offset));
  }

  /** Reads response lines until OK/NO/BYE; literals {n} or {n+} are read as strings. */
  async #reply(): Promise<Reply> {
    const data: string[][] = [];
    for (;;) {
      const words = await this.#readWords();
      const status = (words.values[0] ?? "").toUpperCase();
      if (words.atomFirst && (status === "OK" || status === "NO" || status === "BYE")) {
        const rest = words.values.slice(1);
        const code = rest[0]?.startsWith("(") ? rest.shift()?.slice(1, -1) : undefined;
        return {
          status: status as Reply["status"],
          ...(code ? { code } : {}),
          message: rest.join(" "),
          data,
        };
      }
      data.push(words.values);
    }
  }

  async #readWords(): Promise<{ atomFirst: boolean; values: string[] }> {
    const values: string[] = [];
    let atomFirst = false;
    let line = await this.#readLine();
    let i = 0;
    while (i < line.length) {
      const c = line[i]!;
      if (c === " ") {
        i++;
      } else if (c === '"') {
        let value = "";
        i++;
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\") i++;
          value += line[i] ?? "";
          i++;
        }
        i++;
        values.push(value);
      } else if (c === "{") {
        const match = /^\{(\d+)\+?\}$/.exec(line.slice(i));
        if (!match) throw new ManageSieveError(`Malformed literal in '${line}'`);
        const size = Number(match[1]);
        if (size > MAX_LITERAL) throw new ManageSieveError(`Literal of ${size} bytes is too large`);
        values.push(new TextDecoder().decode(await this.#readBytes(size)));
        // The response continues on the line after the literal's bytes.
        line = await this.#readLine();
        i = 0;
      } else {
        const close = c === "(" ? line.indexOf(")", i) : -1;
        const space = line.indexOf(" ", i);
        const end = close >= 0 ? close + 1 : space < 0 ? line.length : space;
        if (values.length === 0 && c !== "(") atomFirst = true;
        values.push(line.slice(i, end));
        i = end;
      }
    }
    return { atomFirst, values };
  }

  async #readLine(): Promise<string> {
    for (;;) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = new TextDecoder().decode(this.#buffer.subarray(0, end)).replace(/\r$/, "");
        this.#buffer = this.#buffer.slice(end + 1);
        return line;
      }
      if (this.#buffer.length > MAX_LITERAL) throw new ManageSieveError("Response line is too long");
      await this.#fill();
    }
  }

  async #readBytes(size: number): Promise<Uint8Array> {
    while (this.#buffer.length < size) await this.#fill();
    const bytes = this.#buffer.slice(0, size);
    this.#buffer = this.#buffer.slice(size);
    return bytes;
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ManageSieveError("ManageSieve server did not answer in time")),
        this.#timeoutMs,
      );
    });
    try {
      const n = await Promise.race([this.#conn.read(chunk), timeout]);
      if (n === null) throw new ManageSieveError("ManageSieve server closed the connection");
      const next = new Uint8Array(this.#buffer.length + n);
      next.set(this.#buffer);
      next.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = next;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A quoted string (RFC 5804 4: quoted strings hold no CR or LF; anything else goes as a literal). */
function quote(text: string): string {
  if (/[\r\n]/.test(text) || text.length > 1024) return literal(text);
  return `"${text.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A non-synchronizing literal {n+} (RFC 5804 4), counted in UTF-8 bytes. */
function literal(text: string): string {
  return `{${new TextEncoder().encode(text).length}+}\r\n${text}`;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
