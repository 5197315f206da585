/**
 * Minimal line-oriented reader and writer over a TCP or TLS connection, enough for the harness's
 * own LMTP, SMTP and IMAP check sessions. Lines are decoded as UTF-8 (invalid bytes replaced).
 *
 * @module
 */

/** How long one read may wait before the session is declared stuck. */
export const READ_TIMEOUT_MS = 10_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Buffered reader and writer on one connection. */
export class Wire {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Writes a string (UTF-8) or raw bytes completely. */
  async write(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? encoder.encode(data) : data;
    while (bytes.length > 0) {
      const written = await this.#conn.write(bytes);
      bytes = bytes.subarray(written);
    }
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(16 * 1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`No reply within ${READ_TIMEOUT_MS} ms`)), READ_TIMEOUT_MS);
    });
    try {
      const count = await Promise.race([this.#conn.read(chunk), timeout]);
      if (count === null) throw new Error("Connection closed by the server");
      const merged = new Uint8Array(this.#buffer.length + count);
      merged.set(this.#buffer);
      merged.set(chunk.subarray(0, count), this.#buffer.length);
      this.#buffer = merged;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads one line without its CRLF. */
  async readLine(): Promise<string> {
    while (true) {
      const end = this.#buffer.indexOf(0x0a);
      if (end >= 0) {
        const line = this.#buffer.subarray(0, end > 0 && this.#buffer[end - 1] === 0x0d ? end - 1 : end);
        this.#buffer = this.#buffer.subarray(end + 1);
        return decoder.decode(line);
      }
      await this.#fill();
    }
  }

  /** Reads exactly `count` bytes. */
  async readBytes(count: number): Promise<Uint8Array> {
    while (this.#buffer.length < count) await this.#fill();
    const bytes = this.#buffer.slice(0, count);
    this.#buffer = this.#buffer.subarray(count);
    return bytes;
  }

  /** Reads an SMTP/LMTP reply (all continuation lines) and returns its code and text. */
  async readReply(): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    while (true) {
      const line = await this.readLine();
      lines.push(line);
      if (!/^\d{3}-/.test(line)) break;
    }
    const last = lines[lines.length - 1] ?? "";
    const code = Number(last.slice(0, 3));
    if (!/^\d{3}/.test(last)) throw new Error(`Malformed reply "${last}"`);
    return { code, text: lines.join("\n") };
  }

  /** Sends one command line and checks that the reply code is in `expected`. */
  async command(line: string, expected: number[]): Promise<string> {
    await this.write(line + "\r\n");
    return this.expect(expected, line);
  }

  /** Reads a reply and checks its code; `context` names what was sent, for the error. */
  async expect(expected: number[], context: string): Promise<string> {
    const reply = await this.readReply();
    if (!expected.includes(reply.code)) {
      throw new Error(`Unexpected reply to "${context}": ${reply.text}`);
    }
    return reply.text;
  }

  /** Upgrades the connection to TLS (after STARTTLS); certificate checks are off for self-signed certs. */
  async startTls(caCerts: string[]): Promise<void> {
    this.#conn = await Deno.startTls(this.#conn as Deno.TcpConn, { hostname: "127.0.0.1", caCerts });
  }

  /** Closes the connection, ignoring errors from an already closed one. */
  close(): void {
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }
}

/**
 * Turns a message into SMTP DATA bytes: line endings become CRLF, lines starting with "." are
 * dot-stuffed (RFC 5321 section 4.5.2) and the terminating "." line is appended.
 */
export function dataBlock(message: string | Uint8Array): Uint8Array {
  const bytes = typeof message === "string" ? encoder.encode(message) : message;
  const out: number[] = [];
  let lineStart = true;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (lineStart && byte === 0x2e) out.push(0x2e);
    lineStart = false;
    if (byte === 0x0a) {
      if (out[out.length - 1] !== 0x0d) out.push(0x0d);
      lineStart = true;
    } else if (byte === 0x0d && bytes[i + 1] !== 0x0a) {
      out.push(0x0d, 0x0a);
      lineStart = true;
      continue;
    }
    out.push(byte);
  }
  if (!lineStart) out.push(0x0d, 0x0a);
  out.push(0x2e, 0x0d, 0x0a);
  return new Uint8Array(out);
}
