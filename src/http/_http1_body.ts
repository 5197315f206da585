/**
 * Request bodies of the HTTP/1.1 server as ReadableStreams over the
 * connection's buffered bytes: Content-Length and chunked (RFC 9112 sections
 * 6 and 7.1). The stream reads the socket only when the handler pulls, so an
 * unread body costs nothing and backpressure reaches the client through TCP.
 */
import type { BodyFraming } from "./_http1_head.ts";

/** The connection side a body reads from. */
export interface ByteSource {
  /** Bytes received and not consumed yet. */
  buffered(): Uint8Array;
  /** Marks the first `n` buffered bytes consumed. */
  consume(n: number): void;
  /** Reads more from the socket; false at end of stream. */
  fill(): Promise<boolean>;
}

/** A request body that could not be read (connection closed, bad chunk framing). */
export class HttpBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HttpBodyError";
  }
}

/** Longest chunk-size line (size, extensions) and trailer section accepted. */
const MAX_CHUNK_LINE = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

/** What the server learns from a body it handed out. */
export interface BodyHooks {
  /** Before the first read: sends "100 Continue" when the client asked for it (RFC 9110 section 10.1.1). */
  beforeFirstRead(): Promise<void>;
  /** The body was read to its end: the connection may carry the next request. */
  onEnd(): void;
}

/**
 * Reads a body of the given framing. `finished()` tells whether the body was
 * read to its end (the next request starts after it); `drainBuffered()`
 * consumes an unread Content-Length body that already arrived whole, so a
 * response that did not need the body (401) can keep the connection.
 */
export class RequestBody {
  readonly stream: ReadableStream<Uint8Array>;
  #remaining: number;
  #chunked: boolean;
  /** Chunked state: bytes left of the current chunk, or -1 before a chunk-size line. */
  #chunkLeft = -1;
  #started = false;
  #ended = false;

  constructor(readonly source: ByteSource, framing: BodyFraming, readonly hooks: BodyHooks) {
    this.#chunked = framing.kind === "chunked";
    this.#remaining = framing.kind === "length" ? framing.length : 0;
    this.stream = new ReadableStream<Uint8Array>({
      pull: (controller) => this.#pull(controller),
    }, { highWaterMark: 0 });
  }

  /** The body was read to its end. */
  finished(): boolean {
    return this.#ended;
  }

  /** Consumes a Content-Length body whose bytes are all buffered; true when the body is done. */
  drainBuffered(): boolean {
    if (this.#ended) return true;
    if (this.#chunked || this.#started) return false;
    if (this.source.buffered().length < this.#remaining) return false;
    this.source.consume(this.#remaining);
    this.#remaining = 0;
    this.#end();
    return true;
  }

  #end(): void {
    this.#ended = true;
    this.hooks.onEnd();
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    if (this.#ended) {
      controller.close();
      return;
    }
    if (!this.#started) {
      this.#started = true;
      await this.hooks.beforeFirstRead();
    }
    const chunk = this.#chunked ? await this.#nextChunked() : await this.#nextLength();
    if (chunk === null) {
      this.#end();
      controller.close();
    } else {
      controller.enqueue(chunk);
    }
  }

  async #take(max: number): Promise<Uint8Array> {
    while (this.source.buffered().length === 0) {
      if (!(await this.source.fill())) {
        throw new HttpBodyError("Connection closed before the request body ended");
      }
    }
    const buffered = this.source.buffered();
    // A copy: the consumer may keep it, and it must not pin the connection's read buffer.
    const out = buffered.slice(0, Math.min(max, buffered.length));
    this.source.consume(out.length);
    return out;
  }

  async #nextLength(): Promise<Uint8Array | null> {
    if (this.#remaining === 0) return null;
    const chunk = await this.#take(this.#remaining);
    this.#remaining -= chunk.length;
    return chunk;
  }

  async #nextChunked(): Promise<Uint8Array | null> {
    while (this.#chunkLeft <= 0) {
      if (this.#chunkLeft === 0) {
        // The CRLF after a chunk's data.
        await this.#expectCrlf();
        this.#chunkLeft = -1;
      }
      // RFC 9112 section 7.1: chunk-size [ chunk-ext ] CRLF; the size is hex.
      const line = await this.#line(MAX_CHUNK_LINE);
      const match = /^([0-9A-Fa-f]{1,8})[ \t]*(;.*)?$/.exec(line);
      if (!match) throw new HttpBodyError("Malformed chunk size");
      const size = parseInt(match[1]!, 16);
      if (size === 0) {
        await this.#trailers();
        return null;
      }
      this.#chunkLeft = size;
    }
    const chunk = await this.#take(this.#chunkLeft);
    this.#chunkLeft -= chunk.length;
    return chunk;
  }

  async #expectCrlf(): Promise<void> {
    const line = await this.#line(2);
    if (line !== "") throw new HttpBodyError("Chunk data longer than its size");
  }

  /** RFC 9112 section 7.1.2: trailer fields are read and discarded (none are used here). */
  async #trailers(): Promise<void> {
    let total = 0;
    while (true) {
      const line = await this.#line(MAX_CHUNK_LINE);
      if (line === "") return;
      total += line.length + 2;
      if (total > MAX_TRAILER_BYTES) throw new HttpBodyError("Chunked trailer section too large");
    }
  }

  /** One CRLF-terminated line (without the CRLF), at most `max` bytes. */
  async #line(max: number): Promise<string> {
    while (true) {
      const buffered = this.source.buffered();
      const lf = buffered.indexOf(10);
      if (lf >= 0) {
        if (lf === 0 || buffered[lf - 1] !== 13) throw new HttpBodyError("Bare LF in chunked framing");
        if (lf - 1 > max) throw new HttpBodyError("Chunk line too long");
        let line = "";
        for (let i = 0; i < lf - 1; i++) line += String.fromCharCode(buffered[i]!);
        this.source.consume(lf + 1);
        return line;
      }
      if (buffered.length > max + 1) throw new HttpBodyError("Chunk line too long");
      if (!(await this.source.fill())) {
        throw new HttpBodyError("Connection closed before the request body ended");
      }
    }
  }
}
