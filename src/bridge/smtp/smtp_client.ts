/**
 * SMTP submission client (RFC 6409 over RFC 5321): EHLO, STARTTLS when offered (RFC 3207) or
 * implicit TLS for smtps:// (RFC 8314), AUTH PLAIN or LOGIN (RFC 4954), SIZE (RFC 1870),
 * 8BITMIME (RFC 6152), per-recipient rejections, DATA with dot-stuffing, QUIT.
 *
 * @module
 */

import {
  type RejectedRecipient,
  SmtpAuthError,
  SmtpConnectionError,
  SmtpError,
  SmtpMessageTooLargeError,
  SmtpRecipientError,
  type SmtpReply,
  SmtpTemporaryError,
  SmtpUnconfirmedError,
} from "./errors.ts";
import { SMTP_LIMITS } from "./limits.ts";
import {
  authMechanisms,
  base64Text,
  encodeData,
  type Extensions,
  hasEightBit,
  isLastReplyLine,
  parseExtensions,
  parseReply,
  pathArgument,
  plainAuth,
  sizeLimit,
} from "./smtp_protocol.ts";

/** What `submitMessage` needs. */
export interface SubmitOptions {
  /** `smtp://host:port` (STARTTLS when offered, port 587 by default) or `smtps://host:port` (port 465). */
  url: string;
  /** Extra trusted CA certificates in PEM, for servers with a private CA. */
  tls?: { caCerts?: string[] };
  user: string;
  password: string;
  /** MAIL FROM address. */
  from: string;
  /** RCPT TO addresses. */
  recipients: string[];
  /** The message as transmitted (Bcc already removed); line ends are normalized to CRLF. */
  message: Uint8Array;
  /** Wait for any one reply; SMTP_LIMITS.replyTimeoutMs by default. */
  timeoutMs?: number;
  /**
   * Called synchronously right before the end of mail data ("." on a line of its own) is
   * written: until then the server holds an incomplete transaction that a broken connection
   * cancels (RFC 5321 4.1.1.4: only the end of mail data makes it process the message); from
   * then on it may accept the message at any moment. A throw aborts the submission unsent.
   */
  onDataEnd?: () => void;
  /**
   * Called synchronously once the end of mail data was written to the connection, before the
   * reply is awaited: the server now has the whole transaction whatever happens to this process.
   */
  onDataWritten?: () => void;
  /**
   * Called synchronously in the turn the server's 250 for the message is read, before
   * anything else happens (QUIT, closing the connection): the caller records the acceptance
   * there, so the span in which a crash leaves it unknown ends with the reply (RFC 5321 6.1).
   */
  onAccepted?: (result: SubmitResult) => void;
}

/** What the server said when it accepted the message. */
export interface SubmitResult {
  /** The queue id from the final reply ("queued as ABC123"), when the server names one. */
  queuedAs?: string;
  /** The final reply text, for logs. */
  response: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Where to connect, from the URL. */
function endpoint(url: string): { hostname: string; port: number; implicitTls: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SmtpConnectionError(`Invalid SMTP URL "${url}"`);
  }
  const implicitTls = parsed.protocol === "smtps:";
  if (!implicitTls && parsed.protocol !== "smtp:") {
    throw new SmtpConnectionError(`Unsupported SMTP URL scheme "${parsed.protocol}"`);
  }
  const hostname = parsed.hostname.replace(/^\[|\]$/g, "");
  if (!hostname) throw new SmtpConnectionError(`SMTP URL "${url}" has no host`);
  return { hostname, port: parsed.port ? Number(parsed.port) : implicitTls ? 465 : 587, implicitTls };
}

/** One SMTP connection with a line reader and per-reply deadlines. */
class Session {
  #conn: Deno.Conn;
  #buffer = new Uint8Array(0);
  #closed = false;

  constructor(conn: Deno.Conn, readonly where: string, readonly timeoutMs: number) {
    this.#conn = conn;
  }

  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** Replaces the connection with its TLS upgrade after STARTTLS. */
  upgrade(conn: Deno.Conn): void {
    this.#conn = conn;
  }

  /** Completes a TLS handshake within the deadline, so certificate errors surface here, named. */
  handshake(tls: Deno.TlsConn): Promise<void> {
    return this.#withDeadline(tls.handshake().then(() => undefined), "during the TLS handshake");
  }

  /** True if bytes arrived that no reply has consumed yet. */
  get hasBuffered(): boolean {
    return this.#buffer.length > 0;
  }

  async #withDeadline<T>(work: Promise<T>, what: string, timeoutMs = this.timeoutMs): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true;
        this.close();
        reject(
          new SmtpConnectionError(`SMTP server ${this.where} did not answer ${what} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } catch (error) {
      if (error instanceof SmtpError) throw error;
      if (timedOut) throw new SmtpConnectionError(`SMTP server ${this.where} timed out ${what}`);
      throw new SmtpConnectionError(
        `Connection to SMTP server ${this.where} failed ${what}: ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async #readLine(): Promise<string> {
    while (true) {
      const newline = this.#buffer.indexOf(0x0a);
      if (newline >= 0) {
        const line = this.#buffer.subarray(
          0,
          newline > 0 && this.#buffer[newline - 1] === 0x0d ? newline - 1 : newline,
        );
        this.#buffer = this.#buffer.subarray(newline + 1);
        return decoder.decode(line);
      }
      if (this.#buffer.length > SMTP_LIMITS.maxReplyLineBytes) {
        throw new SmtpConnectionError(
          `SMTP server ${this.where} sent a reply line over ${SMTP_LIMITS.maxReplyLineBytes} bytes`,
        );
      }
      const chunk = new Uint8Array(16 * 1024);
      const count = await this.#conn.read(chunk);
      if (count === null) throw new SmtpConnectionError(`SMTP server ${this.where} closed the connection`);
      const joined = new Uint8Array(this.#buffer.length + count);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, count), this.#buffer.length);
      this.#buffer = joined;
    }
  }

  /** Reads one (possibly multi-line) reply. */
  read(what: string, timeoutMs?: number): Promise<SmtpReply> {
    return this.#withDeadline(
      (async () => {
        const lines: string[] = [];
        while (true) {
          const line = await this.#readLine();
          lines.push(line);
          if (isLastReplyLine(line)) break;
          if (lines.length >= SMTP_LIMITS.maxReplyLines) {
            throw new SmtpConnectionError(
              `SMTP server ${this.where} sent a reply of over ${SMTP_LIMITS.maxReplyLines} lines`,
            );
          }
        }
        const reply = parseReply(lines);
        if (!reply) {
          throw new SmtpConnectionError(
            `SMTP server ${this.where} sent a malformed reply "${lines.join(" ").slice(0, 200)}"`,
          );
        }
        return reply;
      })(),
      what,
      timeoutMs,
    );
  }

  /** Writes bytes completely. */
  write(bytes: Uint8Array, what: string): Promise<void> {
    return this.#withDeadline(
      (async () => {
        for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
      })(),
      what,
    );
  }

  /** Sends a command line and reads its reply. */
  async command(line: string, what = line.split(" ")[0]!): Promise<SmtpReply> {
    await this.write(encoder.encode(`${line}\r\n`), `to ${what}`);
    return await this.read(`to ${what}`);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the peer or by a failed TLS upgrade.
    }
  }
}

function describe(reply: SmtpReply): string {
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ""} ${reply.text.split("\n")[0]}`.trim();
}

/** The named error for a failed reply (4xx temporary, 552 too large, other 5xx). */
function replyError(step: string, reply: SmtpReply, limit?: number): SmtpError {
  const message = `SMTP server refused ${step}: "${describe(reply)}"`;
  // RFC 1870 section 6.1: 552 (and 5.3.4) is "message size exceeds fixed maximum".
  if (reply.code === 552 || reply.enhanced === "5.3.4") {
    return new SmtpMessageTooLargeError(message, limit, reply);
  }
  if (reply.code >= 400 && reply.code < 500) return new SmtpTemporaryError(message, reply);
  return new SmtpError(message, reply);
}

async function authenticate(
  session: Session,
  extensions: Extensions,
  user: string,
  password: string,
): Promise<void> {
  const mechanisms = authMechanisms(extensions);
  let reply: SmtpReply;
  if (mechanisms.has("PLAIN")) {
    reply = await session.command(`AUTH PLAIN ${plainAuth(user, password)}`, "AUTH PLAIN");
  } else if (mechanisms.has("LOGIN")) {
    reply = await session.command("AUTH LOGIN");
    if (reply.code === 334) reply = await session.command(base64Text(user), "AUTH LOGIN user name");
    if (reply.code === 334) reply = await session.command(base64Text(password), "AUTH LOGIN password");
  } else {
    throw new SmtpAuthError(
      `SMTP server ${session.where} offers no supported AUTH mechanism (offered: "${
        [...mechanisms].join(" ")
      }")`,
    );
  }
  if (reply.code === 235) return;
  // RFC 4954 section 6: 454 is a temporary failure; 535, 534 and 538 refuse these credentials.
  if (reply.code >= 400 && reply.code < 500) {
    throw new SmtpTemporaryError(`SMTP authentication failed: "${describe(reply)}"`, reply);
  }
  throw new SmtpAuthError(`SMTP server refused the credentials of "${user}": "${describe(reply)}"`, reply);
}

async function ehlo(session: Session, name: string): Promise<Extensions> {
  const reply = await session.command(`EHLO ${name}`, "EHLO");
  if (reply.code !== 250) throw replyError("EHLO", reply);
  return parseExtensions(reply);
}

/** The EHLO argument: our address literal (RFC 5321 section 4.1.3), always well-formed. */
function heloName(conn: Deno.Conn): string {
  const local = conn.localAddr;
  if (local.transport !== "tcp") return "[127.0.0.1]";
  return local.hostname.includes(":") ? `[IPv6:${local.hostname}]` : `[${local.hostname}]`;
}

/**
 * Submits one message and resolves when the server accepted it. Throws `SmtpAuthError`,
 * `SmtpRecipientError` (every refused recipient with its code; the transaction is then
 * abandoned so nobody gets a partial delivery), `SmtpMessageTooLargeError` (before sending when
 * the announced SIZE is exceeded), `SmtpTemporaryError` (4xx), `SmtpConnectionError`
 * (network, TLS, timeout) or `SmtpError` (any other refusal).
 */
export async function submitMessage(options: SubmitOptions): Promise<SubmitResult> {
  const { hostname, port, implicitTls } = endpoint(options.url);
  if (options.recipients.length === 0) throw new SmtpError("No recipients to submit to");
  let from: string;
  let recipients: string[];
  try {
    from = pathArgument(options.from);
    recipients = options.recipients.map(pathArgument);
  } catch (error) {
    throw new SmtpError((error as Error).message);
  }
  const where = `${hostname}:${port}`;
  const timeoutMs = options.timeoutMs ?? SMTP_LIMITS.replyTimeoutMs;
  const caCerts = options.tls?.caCerts;
  const tlsOptions = caCerts?.length ? { hostname, caCerts } : { hostname };
  let conn: Deno.Conn;
  try {
    conn = await connectWithin<Deno.Conn>(
      implicitTls ? Deno.connectTls({ port, ...tlsOptions }) : Deno.connect({ hostname, port }),
      timeoutMs,
      where,
    );
  } catch (error) {
    if (error instanceof SmtpError) throw error;
    throw new SmtpConnectionError(`Cannot connect to SMTP server ${where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const session = new Session(conn, where, timeoutMs);
  /** Between DATA's 354 and the end of the data a QUIT would be read as message text. */
  let inData = false;
  try {
    if (implicitTls) await session.handshake(conn as Deno.TlsConn);
    const greeting = await session.read("with a greeting");
    if (greeting.code !== 220) throw replyError("the connection", greeting);
    const name = heloName(conn);
    let extensions = await ehlo(session, name);
    if (!implicitTls && extensions.has("STARTTLS")) {
      const reply = await session.command("STARTTLS");
      if (reply.code !== 220) throw replyError("STARTTLS", reply);
      // RFC 3207 section 6 / CVE-2011-0411: bytes sent before the handshake must not be trusted.
      if (session.hasBuffered) {
        throw new SmtpConnectionError(`SMTP server ${where} sent data ahead of the TLS handshake`);
      }
      let tls: Deno.TlsConn;
      try {
        tls = await Deno.startTls(session.conn as Deno.TcpConn, tlsOptions);
      } catch (error) {
        throw new SmtpConnectionError(`TLS with SMTP server ${where} failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      session.upgrade(tls);
      await session.handshake(tls);
      extensions = await ehlo(session, name);
    }
    // RFC 1870: the SIZE limit announced after the (TLS) EHLO is final; checked before AUTH so a refusal costs no login.
    const data = encodeData(options.message);
    const size = data.length - 3;
    const limit = sizeLimit(extensions);
    if (limit !== undefined && size > limit) {
      throw new SmtpMessageTooLargeError(
        `Message of ${size} bytes exceeds the limit of ${limit} bytes of SMTP server ${where}`,
        limit,
      );
    }
    await authenticate(session, extensions, options.user, options.password);
    let mail = `MAIL FROM:${from}`;
    if (extensions.has("SIZE")) mail += ` SIZE=${size}`;
    if (extensions.has("8BITMIME") && hasEightBit(options.message)) mail += " BODY=8BITMIME";
    const mailReply = await session.command(mail, "MAIL FROM");
    if (mailReply.code !== 250) throw replyError(`sender "${options.from}"`, mailReply, limit);

    const rejected: RejectedRecipient[] = [];
    for (const [index, recipient] of recipients.entries()) {
      const reply = await session.command(`RCPT TO:${recipient}`, "RCPT TO");
      if (reply.code === 250 || reply.code === 251) continue;
      const entry: RejectedRecipient = {
        recipient: options.recipients[index]!,
        code: reply.code,
        text: reply.text,
      };
      if (reply.enhanced) entry.enhanced = reply.enhanced;
      rejected.push(entry);
    }
    if (rejected.length) {
      await session.command("RSET").catch(() => undefined);
      const list = rejected.map((entry) => `"${entry.recipient}" (${entry.code})`).join(", ");
      if (rejected.every((entry) => entry.code >= 400 && entry.code < 500)) {
        const first = rejected[0]!;
        throw new SmtpTemporaryError(`SMTP server deferred recipients ${list}`, {
          code: first.code,
          text: first.text,
          ...(first.enhanced ? { enhanced: first.enhanced } : {}),
        });
      }
      throw new SmtpRecipientError(`SMTP server refused recipients ${list}`, rejected);
    }

    const dataReply = await session.command("DATA");
    if (dataReply.code !== 354) throw replyError("DATA", dataReply, limit);
    inData = true;
    // Everything but the end of mail data (the last ".\r\n"; the CRLF before it ends the last line).
    const body = data.subarray(0, data.length - 3);
    for (let at = 0; at < body.length; at += SMTP_LIMITS.dataChunkBytes) {
      await session.write(body.subarray(at, at + SMTP_LIMITS.dataChunkBytes), "while receiving the message");
    }
    options.onDataEnd?.();
    let final: SmtpReply;
    try {
      await session.write(data.subarray(body.length), "while receiving the message");
      inData = false;
      options.onDataWritten?.();
      // RFC 5321 section 4.5.3.2.6: the server may take up to 10 minutes after the final dot.
      final = await session.read("after the message", Math.max(timeoutMs, 600_000));
    } catch (error) {
      // RFC 5321 6.1: the server may have accepted the message; only the reply would have said.
      if (!(error instanceof SmtpConnectionError)) throw error;
      throw new SmtpUnconfirmedError(`${error.message}; the server may have accepted the message`, {
        cause: error,
      });
    }
    if (final.code !== 250) throw replyError("the message", final, limit);
    const queuedAs = /queued as ([^\s;,]+)/i.exec(final.text)?.[1];
    const result: SubmitResult = queuedAs
      ? { queuedAs, response: describe(final) }
      : { response: describe(final) };
    options.onAccepted?.(result);
    await session.command("QUIT").catch(() => undefined);
    return result;
  } catch (error) {
    // Closing mid-data cancels the transaction (the server never saw its end).
    if (!(error instanceof SmtpConnectionError) && !inData) {
      await session.command("QUIT").catch(() => undefined);
    }
    throw error;
  } finally {
    session.close();
  }
}

async function connectWithin<T extends Deno.Conn>(
  connecting: Promise<T>,
  timeoutMs: number,
  where: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SmtpConnectionError(`SMTP server ${where} did not accept a connection within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([connecting, deadline]);
  } catch (error) {
    // A connection that completes after the deadline must not leak.
    connecting.then((conn) => conn.close(), () => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
