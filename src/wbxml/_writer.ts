/** A growable byte buffer for the encoders: doubles its capacity, writes strings in place. */
export class ByteWriter {
  buf: Uint8Array;
  length = 0;
  private static readonly encoder = new TextEncoder();

  constructor(initial = 4096) {
    this.buf = new Uint8Array(initial);
  }

  /** Makes room for `extra` more bytes. */
  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.ensure(1);
    this.buf[this.length++] = b;
  }

  /** Writes a WBXML mb_u_int32 (WAP-192-WBXML 5.1): 7 bits per byte, most significant first. */
  mbUint32(value: number): void {
    this.ensure(5);
    let shift = 28;
    while (shift > 0 && Math.floor(value / 2 ** shift) === 0) shift -= 7;
    for (; shift > 0; shift -= 7) this.buf[this.length++] = (Math.floor(value / 2 ** shift) & 0x7F) | 0x80;
    this.buf[this.length++] = value & 0x7F;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** Writes a string as UTF-8 followed by the STR_I terminator. */
  cstring(text: string): void {
    const n = text.length;
    this.ensure(n * 3 + 1);
    const buf = this.buf;
    if (n <= 64) {
      // Short strings (ids, keys, statuses, names) dominate EAS; write ASCII directly.
      let at = this.length;
      let i = 0;
      for (; i < n; i++) {
        const c = text.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at++] = c;
      }
      if (i === n) {
        buf[at++] = 0;
        this.length = at;
        return;
      }
    }
    const { written } = ByteWriter.encoder.encodeInto(text, buf.subarray(this.length));
    this.length += written;
    buf[this.length++] = 0;
  }

  /** The bytes written so far (a view) and a fresh start. */
  take(): Uint8Array {
    const out = this.buf.subarray(0, this.length);
    this.buf = new Uint8Array(this.buf.length);
    this.length = 0;
    return out;
  }
}
