/**
 * A small QR code encoder (ISO/IEC 18004): byte mode, error correction level
 * M, versions 1 to 10 (up to 213 bytes), automatic mask choice by the
 * standard's penalty rules. Enough for a server name and user name on the
 * phone onboarding page.
 *
 * @module
 */

/** Blocks of level M per version (ISO/IEC 18004 Table 9): EC codewords per block, data codewords of each block. */
const M_BLOCKS: readonly { ec: number; data: readonly number[] }[] = [
  { ec: 10, data: [16] },
  { ec: 16, data: [28] },
  { ec: 26, data: [44] },
  { ec: 18, data: [32, 32] },
  { ec: 24, data: [43, 43] },
  { ec: 16, data: [27, 27, 27, 27] },
  { ec: 18, data: [31, 31, 31, 31] },
  { ec: 22, data: [38, 38, 39, 39] },
  { ec: 22, data: [36, 36, 36, 37, 37] },
  { ec: 26, data: [43, 43, 43, 43, 44] },
];

/** Centre coordinates of alignment patterns per version (ISO/IEC 18004 Annex E). */
const ALIGNMENT: readonly (readonly number[])[] = [
  [],
  [6, 18],
  [6, 22],
  [6, 26],
  [6, 30],
  [6, 34],
  [6, 22, 38],
  [6, 24, 42],
  [6, 26, 46],
  [6, 28, 50],
];

/** Error correction level M in the format information (ISO/IEC 18004 Table 12). */
const EC_LEVEL_M_BITS = 0b00;
/** Mode indicator of byte mode. */
const BYTE_MODE = 0b0100;
/** Highest version this encoder supports. */
export const QR_MAX_VERSION = 10;

/** An encoded symbol: `modules[y][x]` is true for dark. */
export interface QrCode {
  version: number;
  size: number;
  mask: number;
  modules: boolean[][];
}

// GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D).
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

/** Reed-Solomon error correction codewords of `data` (generator with roots a^0..a^(n-1)). */
export function reedSolomon(data: readonly number[], ecCount: number): number[] {
  let generator = [1];
  for (let i = 0; i < ecCount; i++) {
    const next = new Array<number>(generator.length + 1).fill(0);
    for (let j = 0; j < generator.length; j++) {
      next[j]! ^= generator[j]!;
      next[j + 1]! ^= gfMul(generator[j]!, EXP[i]!);
    }
    generator = next;
  }
  const remainder = new Array<number>(ecCount).fill(0);
  for (const byte of data) {
    const factor = byte ^ remainder.shift()!;
    remainder.push(0);
    for (let j = 0; j < ecCount; j++) remainder[j]! ^= gfMul(generator[j + 1]!, factor);
  }
  return remainder;
}

/** BCH code of the 5-bit format data (ISO/IEC 18004 Annex C), masked with 0x5412. */
export function formatBits(mask: number): number {
  const data = (EC_LEVEL_M_BITS << 3) | mask;
  let rem = data << 10;
  for (let i = 14; i >= 10; i--) if (rem & (1 << i)) rem ^= 0x537 << (i - 10);
  return ((data << 10) | rem) ^ 0x5412;
}

/** BCH code of the 6-bit version number (ISO/IEC 18004 Annex D), versions 7 and up. */
export function versionBits(version: number): number {
  let rem = version << 12;
  for (let i = 17; i >= 12; i--) if (rem & (1 << i)) rem ^= 0x1f25 << (i - 12);
  return (version << 12) | rem;
}

function dataCapacity(version: number): number {
  return M_BLOCKS[version - 1]!.data.reduce((a, b) => a + b, 0);
}

/** The data codewords: mode, count, bytes, terminator, padding (ISO/IEC 18004 7.4). */
function dataCodewords(bytes: Uint8Array, version: number): number[] {
  const bits: number[] = [];
  const put = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(BYTE_MODE, 4);
  put(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const capacityBits = dataCapacity(version) * 8;
  put(0, Math.min(4, capacityBits - bits.length));
  while (bits.length % 8) bits.push(0);
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) out.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  for (let pad = 0xec; out.length < dataCapacity(version); pad ^= 0xec ^ 0x11) out.push(pad);
  return out;
}

/** Splits into blocks, adds EC to each, and interleaves (ISO/IEC 18004 7.6). */
function interleave(data: number[], version: number): number[] {
  const { ec, data: sizes } = M_BLOCKS[version - 1]!;
  const blocks: number[][] = [];
  let offset = 0;
  for (const size of sizes) {
    blocks.push(data.slice(offset, offset + size));
    offset += size;
  }
  const ecBlocks = blocks.map((b) => reedSolomon(b, ec));
  const out: number[] = [];
  const longest = Math.max(...sizes);
  for (let i = 0; i < longest; i++) for (const b of blocks) if (i < b.length) out.push(b[i]!);
  for (let i = 0; i < ec; i++) for (const b of ecBlocks) out.push(b[i]!);
  return out;
}

/** The mask condition of pattern `mask` at row y, column x (ISO/IEC 18004 Table 10). */
export function maskApplies(mask: number, y: number, x: number): boolean {
  switch (mask) {
    case 0:
      return (y + x) % 2 === 0;
    case 1:
      return y % 2 === 0;
    case 2:
      return x % 3 === 0;
    case 3:
      return (y + x) % 3 === 0;
    case 4:
      return (Math.floor(y / 2) + Math.floor(x / 3)) % 2 === 0;
    case 5:
      return ((y * x) % 2) + ((y * x) % 3) === 0;
    case 6:
      return (((y * x) % 2) + ((y * x) % 3)) % 2 === 0;
    default:
      return (((y + x) % 2) + ((y * x) % 3)) % 2 === 0;
  }
}

class Matrix {
  readonly dark: boolean[][];
  readonly reserved: boolean[][];
  constructor(readonly size: number) {
    this.dark = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
    this.reserved = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  }
  set(x: number, y: number, dark: boolean): void {
    if (x < 0 || y < 0 || x >= this.size || y >= this.size) return;
    this.dark[y]![x] = dark;
    this.reserved[y]![x] = true;
  }
}

function drawFunctionPatterns(m: Matrix, version: number): void {
  const size = m.size;
  // Finder patterns with separators.
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]] as const) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const d = Math.max(Math.abs(dx), Math.abs(dy));
        m.set(cx + dx, cy + dy, d !== 2 && d !== 4);
      }
    }
  }
  // Timing patterns.
  for (let i = 8; i < size - 8; i++) {
    m.set(6, i, i % 2 === 0);
    m.set(i, 6, i % 2 === 0);
  }
  // Alignment patterns, except where they overlap the finders.
  const centres = ALIGNMENT[version - 1]!;
  for (const cy of centres) {
    for (const cx of centres) {
      if ((cx === 6 && cy === 6) || (cx === 6 && cy === size - 7) || (cx === size - 7 && cy === 6)) continue;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) m.set(cx + dx, cy + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    }
  }
  // Format areas reserved now, written per mask; the dark module.
  drawFormat(m, 0);
  m.set(8, size - 8, true);
  if (version >= 7) {
    const bits = versionBits(version);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >>> i) & 1) === 1;
      const a = size - 11 + (i % 3), b = Math.floor(i / 3);
      m.set(a, b, dark);
      m.set(b, a, dark);
    }
  }
}

/** Writes the 15 format bits in both copies (ISO/IEC 18004 7.9.1). */
function drawFormat(m: Matrix, mask: number): void {
  const bits = formatBits(mask);
  const size = m.size;
  const bit = (i: number) => ((bits >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) m.set(8, i, bit(i));
  m.set(8, 7, bit(6));
  m.set(8, 8, bit(7));
  m.set(7, 8, bit(8));
  for (let i = 9; i < 15; i++) m.set(14 - i, 8, bit(i));
  for (let i = 0; i < 8; i++) m.set(size - 1 - i, 8, bit(i));
  for (let i = 8; i < 15; i++) m.set(8, size - 15 + i, bit(i));
  m.set(8, size - 8, true);
}

/** Places codeword bits in the two-column zigzag from the bottom right (ISO/IEC 18004 7.7.3). */
function placeData(m: Matrix, codewords: readonly number[]): void {
  const size = m.size;
  let bitIndex = 0;
  const total = codewords.length * 8;
  let upward = true;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < size; step++) {
      const y = upward ? size - 1 - step : step;
      for (const x of [right, right - 1]) {
        if (m.reserved[y]![x]) continue;
        const dark = bitIndex < total && ((codewords[bitIndex >>> 3]! >>> (7 - (bitIndex & 7))) & 1) === 1;
        m.dark[y]![x] = dark;
        bitIndex++;
      }
    }
    upward = !upward;
  }
}

/** Penalty score of a finished symbol (ISO/IEC 18004 7.8.3, rules N1-N4). */
export function penalty(modules: readonly (readonly boolean[])[]): number {
  const size = modules.length;
  let score = 0;
  const at = (x: number, y: number) => modules[y]![x]!;
  for (let pass = 0; pass < 2; pass++) {
    for (let a = 0; a < size; a++) {
      let run = 1;
      const line: boolean[] = [];
      for (let b = 0; b < size; b++) line.push(pass === 0 ? at(b, a) : at(a, b));
      for (let b = 1; b <= size; b++) {
        if (b < size && line[b] === line[b - 1]) run++;
        else {
          if (run >= 5) score += 3 + (run - 5);
          run = 1;
        }
      }
      // N3: 1:1:3:1:1 finder-like pattern with 4 light modules on either side.
      for (let b = 0; b + 11 <= size; b++) {
        const s = line.slice(b, b + 11).map((d) => (d ? 1 : 0)).join("");
        if (s === "10111010000" || s === "00001011101") score += 40;
      }
    }
  }
  for (let y = 0; y + 1 < size; y++) {
    for (let x = 0; x + 1 < size; x++) {
      const c = at(x, y);
      if (c === at(x + 1, y) && c === at(x, y + 1) && c === at(x + 1, y + 1)) score += 3;
    }
  }
  let dark = 0;
  for (const row of modules) for (const d of row) if (d) dark++;
  const percent = (dark * 100) / (size * size);
  score += Math.floor(Math.abs(percent - 50) / 5) * 10;
  return score;
}

/**
 * Encodes text (UTF-8) or bytes as a QR code, level M, the smallest version
 * from 1 to 10 that holds it; `mask` forces a mask pattern (tests).
 */
export function encodeQr(input: string | Uint8Array, options: { mask?: number } = {}): QrCode {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  let version = 0;
  for (let v = 1; v <= QR_MAX_VERSION; v++) {
    const headerBits = 4 + (v <= 9 ? 8 : 16);
    if (headerBits + bytes.length * 8 <= dataCapacity(v) * 8) {
      version = v;
      break;
    }
  }
  if (version === 0) {
    throw new RangeError(
      `Text of ${bytes.length} bytes is too long for a version ${QR_MAX_VERSION} QR code (at most ${
        dataCapacity(QR_MAX_VERSION) - 3
      } bytes)`,
    );
  }
  const codewords = interleave(dataCodewords(bytes, version), version);
  const size = 17 + 4 * version;
  const base = new Matrix(size);
  drawFunctionPatterns(base, version);
  placeData(base, codewords);
  const candidates = options.mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [options.mask];
  let best: QrCode | undefined;
  let bestScore = Infinity;
  for (const mask of candidates) {
    const m = new Matrix(size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        m.reserved[y]![x] = base.reserved[y]![x]!;
        m.dark[y]![x] = base.reserved[y]![x]
          ? base.dark[y]![x]!
          : base.dark[y]![x]! !== maskApplies(mask, y, x);
      }
    }
    drawFormat(m, mask);
    const score = penalty(m.dark);
    if (score < bestScore) {
      bestScore = score;
      best = { version, size, mask, modules: m.dark };
    }
  }
  return best!;
}

/** Renders a QR code as an SVG with a 4-module quiet zone. */
export function qrSvg(code: QrCode, label: string): string {
  const quiet = 4;
  const n = code.size + quiet * 2;
  let path = "";
  code.modules.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) path += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    })
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 ${n} ${n}" shape-rendering="crispEdges" role="img" aria-label="${
    label.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)
  }"><rect width="${n}" height="${n}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`;
}
