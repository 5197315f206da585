/**
 * Fits a photo under a byte limit for a phone: a JPEG or PNG that is too
 * large is decoded, turned upright (EXIF Orientation), flattened onto white
 * (JPEG has no alpha), scaled down with an area-average filter and encoded
 * as JPEG, lowering the quality and then the size until it fits. Pure: bytes
 * in, bytes or a reason out; no I/O. Used for contact pictures, whose limit
 * is MS-ASCNTC 2.2.2.58 (see limits.ts).
 */
import jpeg from "jpeg-js";
import { convertIndexedToRgb, decode as decodePng } from "fast-png";
import {
  CACHE_ENTRIES,
  MAX_ATTEMPTS,
  MAX_DECODE_MEMORY_MB,
  MAX_SOURCE_PIXELS,
  MIN_EDGE,
  MIN_QUALITY,
  START_EDGE,
  START_QUALITY,
} from "./limits.ts";

/**
 * What fitting a photo gave: the bytes to send (unchanged when they fit
 * already), or why there are none. `transient` marks a failure that says
 * nothing about the photo (resizing busy, too slow, its worker failed):
 * another try may succeed, and it is not remembered.
 */
export type PhotoFit =
  | { ok: true; bytes: Uint8Array; resized: boolean; width?: number; height?: number }
  | { ok: false; reason: string; transient?: true };

/** An RGBA image, 8 bits per channel. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A photo that cannot be decoded (unknown format, corrupt, too many pixels). */
export class PhotoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PhotoDecodeError";
  }
}

const cache = new Map<string, PhotoFit>();

/**
 * `bytes` when they are at most `maxBytes`, else a JPEG of at most
 * `maxBytes` made from them; `ok: false` with the reason when the photo
 * cannot be decoded or cannot be made small enough. Never throws for bad
 * input. Results are remembered by content, so syncing the same card again
 * costs a hash, not a resize. Runs on the calling thread (a large photo
 * takes seconds); servers use fitPhotoOffThread() (fit_photo_off_thread.ts).
 */
export function fitPhoto(bytes: Uint8Array, maxBytes: number): PhotoFit {
  if (bytes.length <= maxBytes) return { ok: true, bytes, resized: false };
  const key = photoCacheKey(bytes, maxBytes);
  const known = cachedPhotoFit(key);
  if (known) return known;
  const result = computePhotoFit(bytes, maxBytes);
  rememberPhotoFit(key, result);
  return result;
}

/** The content key under which a fit of `bytes` to `maxBytes` is remembered. */
export function photoCacheKey(bytes: Uint8Array, maxBytes: number): string {
  return `${maxBytes}:${bytes.length}:${contentHash(bytes)}`;
}

/** A remembered fit (marked most recently used), or undefined. */
export function cachedPhotoFit(key: string): PhotoFit | undefined {
  const known = cache.get(key);
  if (known) {
    // Most recently used last.
    cache.delete(key);
    cache.set(key, known);
  }
  return known;
}

/** Remembers a fit under its content key, forgetting the least recently used beyond CACHE_ENTRIES. */
export function rememberPhotoFit(key: string, fit: PhotoFit): void {
  cache.set(key, fit);
  if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
}

/** fitPhoto() without the cache: the decode and resize themselves (what the photo worker runs). */
export function computePhotoFit(bytes: Uint8Array, maxBytes: number): PhotoFit {
  if (bytes.length <= maxBytes) return { ok: true, bytes, resized: false };
  try {
    const { image, orientation } = decodeImage(bytes);
    return shrink(image, orientation, maxBytes);
  } catch (error) {
    if (!(error instanceof PhotoDecodeError)) throw error;
    return { ok: false, reason: error.message };
  }
}

/**
 * Decodes a JPEG or PNG into RGBA as stored, with the EXIF orientation to
 * apply for display (1 for PNG). Applied after scaling, where it is cheap.
 */
export function decodeImage(bytes: Uint8Array): { image: RgbaImage; orientation: number } {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    return { image: decodeJpeg(bytes), orientation: exifOrientation(bytes) };
  }
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return { image: decodePngRgba(bytes), orientation: 1 };
  }
  throw new PhotoDecodeError(`Unsupported image format (first bytes ${hex(bytes.subarray(0, 4))})`);
}

/** Area-average (box) downscale to `width` × `height`; both at most the source's. */
export function downscale(image: RgbaImage, width: number, height: number): RgbaImage {
  // Two separable passes; each output sample averages the source samples it covers, weighted by overlap.
  const horizontal = boxPass(image.data, image.width, image.height, width, true);
  const data = boxPass(horizontal, width, image.height, height, false);
  return { width, height, data };
}

/** Encodes RGBA as a baseline JPEG (alpha ignored). */
export function encodeJpeg(image: RgbaImage, quality: number): Uint8Array {
  const out = jpeg.encode({ width: image.width, height: image.height, data: image.data }, quality);
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

function shrink(source: RgbaImage, orientation: number, maxBytes: number): PhotoFit {
  const flat = onWhite(source);
  const longest = Math.max(flat.width, flat.height);
  let scale = Math.min(1, START_EDGE / longest);
  let quality = START_QUALITY;
  let last = 0;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const width = Math.max(1, Math.round(flat.width * scale));
    const height = Math.max(1, Math.round(flat.height * scale));
    const scaled = width === flat.width && height === flat.height ? flat : downscale(flat, width, height);
    const shown = upright(scaled, orientation);
    const encoded = encodeJpeg(shown, quality);
    last = encoded.length;
    if (encoded.length <= maxBytes) {
      return { ok: true, bytes: encoded, resized: true, width: shown.width, height: shown.height };
    }
    if (Math.max(width, height) <= MIN_EDGE) break;
    const ratio = maxBytes / encoded.length;
    if (ratio >= 0.6 && quality - 10 >= MIN_QUALITY) {
      // Close: a lower quality costs less detail than fewer pixels.
      quality -= 10;
      continue;
    }
    // Far off: JPEG size grows about with the pixel count; shrink the area by the ratio missing, with a margin.
    scale *= Math.min(0.85, Math.max(0.5, Math.sqrt(ratio) * 0.95));
    scale = Math.max(scale, MIN_EDGE / longest);
  }
  return {
    ok: false,
    reason: `Cannot encode the photo under ${maxBytes} bytes (smallest try ${last} bytes)`,
  };
}

function decodeJpeg(bytes: Uint8Array): RgbaImage {
  try {
    const decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: MAX_SOURCE_PIXELS / 1_000_000,
      maxMemoryUsageInMB: MAX_DECODE_MEMORY_MB,
    });
    return { width: decoded.width, height: decoded.height, data: decoded.data };
  } catch (error) {
    throw new PhotoDecodeError(`Unreadable JPEG: ${(error as Error).message ?? String(error)}`);
  }
}

function decodePngRgba(bytes: Uint8Array): RgbaImage {
  // The IHDR comes first (PNG 11.2.2): refuse a pixel bomb before inflating it.
  if (bytes.length < 24) throw new PhotoDecodeError("Unreadable PNG: truncated header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const declared = view.getUint32(16) * view.getUint32(20);
  if (declared > MAX_SOURCE_PIXELS) {
    throw new PhotoDecodeError(`PNG of ${declared} pixels is above the limit of ${MAX_SOURCE_PIXELS}`);
  }
  let png;
  try {
    png = decodePng(bytes);
  } catch (error) {
    throw new PhotoDecodeError(`Unreadable PNG: ${(error as Error).message ?? String(error)}`);
  }
  const { width, height } = png;
  const out = new Uint8Array(width * height * 4);
  if (png.palette) {
    const channels = png.palette[0]?.length ?? 3;
    let rgb: Uint8Array;
    try {
      rgb = convertIndexedToRgb(png);
    } catch (error) {
      throw new PhotoDecodeError(`Unreadable PNG palette: ${(error as Error).message}`);
    }
    for (let i = 0, o = 0; o < out.length; i += channels, o += 4) {
      out[o] = rgb[i]!;
      out[o + 1] = rgb[i + 1]!;
      out[o + 2] = rgb[i + 2]!;
      out[o + 3] = channels === 4 ? rgb[i + 3]! : 255;
    }
    return { width, height, data: out };
  }
  const channels = png.channels;
  const depth = png.depth;
  const samples = unpackSamples(png.data, width, height, channels, depth);
  const max = (1 << depth) - 1;
  for (let p = 0, o = 0; o < out.length; p += channels, o += 4) {
    const v = (s: number) => Math.round((samples[p + s]! * 255) / max);
    if (channels <= 2) {
      out[o] = out[o + 1] = out[o + 2] = v(0);
      out[o + 3] = channels === 2 ? v(1) : 255;
    } else {
      out[o] = v(0);
      out[o + 1] = v(1);
      out[o + 2] = v(2);
      out[o + 3] = channels === 4 ? v(3) : 255;
    }
  }
  return { width, height, data: out };
}

/** Samples one per array entry: 8/16-bit data is already so; 1/2/4-bit gray rows are packed to whole bytes. */
function unpackSamples(
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  depth: number,
): ArrayLike<number> {
  if (depth >= 8) {
    if (data.length < width * height * channels) {
      throw new PhotoDecodeError("Unreadable PNG: short pixel data");
    }
    return data;
  }
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  if (data.length < rowBytes * height) throw new PhotoDecodeError("Unreadable PNG: short pixel data");
  const out = new Uint8Array(width * height * channels);
  const mask = (1 << depth) - 1;
  for (let y = 0, o = 0; y < height; y++) {
    for (let i = 0; i < width * channels; i++) {
      const bit = i * depth;
      const byte = data[y * rowBytes + (bit >> 3)]!;
      out[o++] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

/** JPEG carries no alpha: transparent pixels become white, as contact pictures are shown on light backgrounds. */
function onWhite(image: RgbaImage): RgbaImage {
  let opaque = true;
  for (let i = 3; i < image.data.length && opaque; i += 4) opaque = image.data[i] === 255;
  if (opaque) return image;
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i += 4) {
    const a = image.data[i + 3]!;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round((image.data[i + c]! * a + 255 * (255 - a)) / 255);
    data[i + 3] = 255;
  }
  return { width: image.width, height: image.height, data };
}

/** One direction of the box filter: RGBA in, RGBA out with `outSize` columns (horizontal) or rows. */
function boxPass(
  src: Uint8Array,
  width: number,
  height: number,
  outSize: number,
  horizontal: boolean,
): Uint8Array {
  const inSize = horizontal ? width : height;
  const outW = horizontal ? outSize : width;
  const outH = horizontal ? height : outSize;
  const out = new Uint8Array(outW * outH * 4);
  const ratio = inSize / outSize;
  // Per output sample: the first source sample and the weights of the ones it covers.
  const starts = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let o = 0; o < outSize; o++) {
    const from = o * ratio;
    const to = Math.min(inSize, (o + 1) * ratio);
    const first = Math.floor(from);
    const last = Math.min(inSize - 1, Math.ceil(to) - 1);
    const w = new Float64Array(last - first + 1);
    for (let s = first; s <= last; s++) {
      w[s - first] = (Math.min(to, s + 1) - Math.max(from, s)) / (to - from);
    }
    starts[o] = first;
    weights.push(w);
  }
  const lines = horizontal ? height : width;
  const srcStep = horizontal ? 4 : width * 4;
  const outStep = horizontal ? 4 : outW * 4;
  for (let line = 0; line < lines; line++) {
    const srcBase = horizontal ? line * width * 4 : line * 4;
    const outBase = horizontal ? line * outW * 4 : line * 4;
    for (let o = 0; o < outSize; o++) {
      const w = weights[o]!;
      let r = 0, g = 0, b = 0, a = 0;
      let at = srcBase + starts[o]! * srcStep;
      for (let k = 0; k < w.length; k++, at += srcStep) {
        const f = w[k]!;
        r += src[at]! * f;
        g += src[at + 1]! * f;
        b += src[at + 2]! * f;
        a += src[at + 3]! * f;
      }
      const p = outBase + o * outStep;
      out[p] = Math.round(r);
      out[p + 1] = Math.round(g);
      out[p + 2] = Math.round(b);
      out[p + 3] = Math.round(a);
    }
  }
  return out;
}

/**
 * The EXIF Orientation (TIFF tag 0x0112) of a JPEG's APP1 segment, 1 when
 * absent. The re-encoded JPEG carries no EXIF, so the rotation is applied
 * to the pixels instead.
 */
export function exifOrientation(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    if (marker === 0xda || marker === 0xd9) break; // start of scan: no more metadata
    const length = view.getUint16(at + 2);
    const body = at + 4;
    if (
      marker === 0xe1 && body + 14 <= bytes.length &&
      String.fromCharCode(...bytes.subarray(body, body + 4)) === "Exif"
    ) {
      const tiff = body + 6;
      const little = bytes[tiff] === 0x49;
      const ifd = tiff + view.getUint32(tiff + 4, little);
      if (ifd + 2 > bytes.length) return 1;
      const count = view.getUint16(ifd, little);
      for (let i = 0; i < count; i++) {
        const entry = ifd + 2 + i * 12;
        if (entry + 12 > bytes.length) return 1;
        if (view.getUint16(entry, little) === 0x0112) {
          const value = view.getUint16(entry + 8, little);
          return value >= 1 && value <= 8 ? value : 1;
        }
      }
      return 1;
    }
    at = body + length - 2;
  }
  return 1;
}

/** Applies an EXIF orientation (2-8: mirrored and/or rotated) so the pixels are as they are meant to be seen. */
export function upright(image: RgbaImage, orientation: number): RgbaImage {
  if (orientation <= 1 || orientation > 8) return image;
  const { width: w, height: h } = image;
  const swap = orientation >= 5;
  const outW = swap ? h : w;
  const outH = swap ? w : h;
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      // The stored pixel shown at (x, y) for each orientation value (EXIF 2.3, tag 0x0112).
      let sx = x, sy = y;
      if (orientation === 2) sx = w - 1 - x;
      else if (orientation === 3) [sx, sy] = [w - 1 - x, h - 1 - y];
      else if (orientation === 4) sy = h - 1 - y;
      else if (orientation === 5) [sx, sy] = [y, x];
      else if (orientation === 6) [sx, sy] = [y, h - 1 - x];
      else if (orientation === 7) [sx, sy] = [w - 1 - y, h - 1 - x];
      else [sx, sy] = [w - 1 - y, x]; // 8
      const s = (sy * w + sx) * 4;
      const o = (y * outW + x) * 4;
      out[o] = image.data[s]!;
      out[o + 1] = image.data[s + 1]!;
      out[o + 2] = image.data[s + 2]!;
      out[o + 3] = image.data[s + 3]!;
    }
  }
  return { width: outW, height: outH, data: out };
}

/** A 53-bit content hash (two interleaved 32-bit multiplicative hashes) for the cache key. */
function contentHash(bytes: Uint8Array): string {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    h1 = Math.imul(h1 ^ b, 2654435761);
    h2 = Math.imul(h2 ^ b, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}
