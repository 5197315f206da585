import assert from "node:assert/strict";
import { encodeQr, formatBits, maskApplies, reedSolomon, versionBits } from "../../src/setup/qr_code.ts";

Deno.test("reedSolomon() gives the EC codewords of the ISO 18004 '01234567' 1-M example", () => {
  // ISO/IEC 18004:2015 Annex I.2: version 1-M, data codewords and their 10 error correction codewords.
  const data = [
    0x10,
    0x20,
    0x0c,
    0x56,
    0x61,
    0x80,
    0xec,
    0x11,
    0xec,
    0x11,
    0xec,
    0x11,
    0xec,
    0x11,
    0xec,
    0x11,
  ];
  assert.deepEqual(reedSolomon(data, 10), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
});

Deno.test("formatBits() matches the format information table for level M", () => {
  // ISO/IEC 18004 Table C.1: level M (00), masks 0..7.
  const expected = [0x5412, 0x5125, 0x5e7c, 0x5b4b, 0x45f9, 0x40ce, 0x4f97, 0x4aa0];
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7].map(formatBits), expected);
});

Deno.test("versionBits() matches the version information table", () => {
  // ISO/IEC 18004 Table D.1.
  assert.equal(versionBits(7), 0x07c94);
  assert.equal(versionBits(8), 0x085bc);
  assert.equal(versionBits(10), 0x0a4d3);
});

/** Modules of function patterns, built from the standard independently of the encoder. */
function functionModules(version: number): boolean[][] {
  const size = 17 + 4 * version;
  const f = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const mark = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < size && y < size) f[y]![x] = true;
  };
  // Finders with separators, format information and the dark module.
  for (let y = 0; y < 9; y++) for (let x = 0; x < 9; x++) mark(x, y);
  for (let y = 0; y < 9; y++) for (let x = size - 8; x < size; x++) mark(x, y);
  for (let y = size - 8; y < size; y++) for (let x = 0; x < 9; x++) mark(x, y);
  for (let i = 0; i < size; i++) {
    mark(6, i);
    mark(i, 6);
  }
  const table: Record<number, number[]> = {
    2: [6, 18],
    3: [6, 22],
    4: [6, 26],
    5: [6, 30],
    6: [6, 34],
    7: [6, 22, 38],
    8: [6, 24, 42],
    9: [6, 26, 46],
    10: [6, 28, 50],
  };
  const centres = table[version] ?? [];
  for (const cy of centres) {
    for (const cx of centres) {
      if ((cx === 6 && cy === 6) || (cx === 6 && cy === size - 7) || (cx === size - 7 && cy === 6)) continue;
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) mark(cx + dx, cy + dy);
    }
  }
  if (version >= 7) {
    for (let a = size - 11; a < size - 8; a++) {
      for (let b = 0; b < 6; b++) {
        mark(a, b);
        mark(b, a);
      }
    }
  }
  return f;
}

/** Reads the symbol back: format bits, unmasked codewords, de-interleaving, byte-mode payload. */
function decodeQr(modules: boolean[][]): { mask: number; text: string; blocksValid: boolean } {
  const size = modules.length;
  const version = (size - 17) / 4;
  // Format bits 14..9 at (8, y) top-left copy: bit i at row i for i 0-5, then (8,7),(8,8),(7,8), then (5..0, 8).
  let format = 0;
  const bitAt = (x: number, y: number) => (modules[y]![x] ? 1 : 0);
  const positions: [number, number][] = [
    [8, 0],
    [8, 1],
    [8, 2],
    [8, 3],
    [8, 4],
    [8, 5],
    [8, 7],
    [8, 8],
    [7, 8],
    [5, 8],
    [4, 8],
    [3, 8],
    [2, 8],
    [1, 8],
    [0, 8],
  ];
  positions.forEach(([x, y], i) => (format |= bitAt(x, y) << i));
  const info = (format ^ 0x5412) >> 10;
  assert.equal(info >> 3, 0b00, "level M");
  const mask = info & 7;
  const fn = functionModules(version);
  const bits: number[] = [];
  let upward = true;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < size; step++) {
      const y = upward ? size - 1 - step : step;
      for (const x of [right, right - 1]) {
        if (fn[y]![x]) continue;
        bits.push((modules[y]![x] ? 1 : 0) ^ (maskApplies(mask, y, x) ? 1 : 0));
      }
    }
    upward = !upward;
  }
  const codewords: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) {
    codewords.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
  }
  const blockTable: Record<number, [number, number[]]> = {
    1: [10, [16]],
    2: [16, [28]],
    3: [26, [44]],
    4: [18, [32, 32]],
    5: [24, [43, 43]],
    6: [16, [27, 27, 27, 27]],
    7: [18, [31, 31, 31, 31]],
    8: [22, [38, 38, 39, 39]],
    9: [22, [36, 36, 36, 37, 37]],
    10: [26, [43, 43, 43, 43, 44]],
  };
  const [ec, sizes] = blockTable[version]!;
  const blocks = sizes.map(() => [] as number[]);
  let k = 0;
  for (let i = 0; i < Math.max(...sizes); i++) {
    sizes.forEach((s, b) => i < s && blocks[b]!.push(codewords[k++]!));
  }
  const ecs = sizes.map(() => [] as number[]);
  for (let i = 0; i < ec; i++) sizes.forEach((_, b) => ecs[b]!.push(codewords[k++]!));
  const blocksValid = blocks.every((b, i) => JSON.stringify(reedSolomon(b, ec)) === JSON.stringify(ecs[i]));
  const data = blocks.flat();
  const dataBits = data.flatMap((byte) => [7, 6, 5, 4, 3, 2, 1, 0].map((s) => (byte >> s) & 1));
  const read = (from: number, n: number) => dataBits.slice(from, from + n).reduce((a, b) => (a << 1) | b, 0);
  assert.equal(read(0, 4), 0b0100, "byte mode");
  const countBits = version <= 9 ? 8 : 16;
  const count = read(4, countBits);
  const payload = new Uint8Array(count);
  for (let i = 0; i < count; i++) payload[i] = read(4 + countBits + i * 8, 8);
  return { mask, text: new TextDecoder().decode(payload), blocksValid };
}

Deno.test("encodeQr() output decodes back to the text for versions 1 to 10", () => {
  for (const length of [1, 14, 26, 42, 62, 84, 106, 122, 152, 180, 213]) {
    const text = "Exchange server: mail.example.test:8443 · ".repeat(6).slice(0, length);
    const bytes = new TextEncoder().encode(text);
    const trimmed = new TextDecoder().decode(bytes.slice(0, length)).replace(/\uFFFD$/, "");
    const code = encodeQr(trimmed);
    assert.ok(code.version >= 1 && code.version <= 10);
    const decoded = decodeQr(code.modules);
    assert.equal(decoded.text, trimmed, `version ${code.version}`);
    assert.equal(decoded.mask, code.mask);
    assert.ok(decoded.blocksValid, `Reed-Solomon blocks of version ${code.version}`);
  }
});

Deno.test("encodeQr() picks the smallest version and every forced mask decodes", () => {
  assert.equal(encodeQr("x".repeat(14)).version, 1);
  assert.equal(encodeQr("x".repeat(15)).version, 2);
  assert.equal(encodeQr("x".repeat(213)).version, 10);
  for (let mask = 0; mask < 8; mask++) {
    const code = encodeQr("Server: box.local User: alice", { mask });
    assert.equal(code.mask, mask);
    assert.equal(decodeQr(code.modules).text, "Server: box.local User: alice");
  }
});

Deno.test("encodeQr() refuses text longer than version 10 holds", () => {
  assert.throws(() => encodeQr("x".repeat(214)), /too long for a version 10 QR code/);
});

Deno.test("encodeQr() draws the three finder patterns", () => {
  const { modules, size } = encodeQr("hello");
  const finder = ["1111111", "1000001", "1011101", "1011101", "1011101", "1000001", "1111111"];
  for (const [x0, y0] of [[0, 0], [size - 7, 0], [0, size - 7]]) {
    for (let y = 0; y < 7; y++) {
      assert.equal(modules[y0! + y]!.slice(x0!, x0! + 7).map((d) => (d ? "1" : "0")).join(""), finder[y]);
    }
  }
});
