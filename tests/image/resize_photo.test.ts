import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import {
  decodeImage,
  downscale,
  encodeJpeg,
  exifOrientation,
  fitPhoto,
  type RgbaImage,
} from "../../src/image/resize_photo.ts";
import { CONTACT_PICTURE_MAX_BYTES, START_EDGE } from "../../src/image/limits.ts";

/** A photo-like test image: a colour gradient with deterministic grain (grain makes JPEGs large). */
function gradientImage(width: number, height: number, grain = 30): RgbaImage {
  const data = new Uint8Array(width * height * 4);
  let seed = 7;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = (seed % (2 * grain + 1)) - grain;
      const i = (y * width + x) * 4;
      data[i] = clamp((x * 255) / width + n);
      data[i + 1] = clamp((y * 255) / height + n);
      data[i + 2] = clamp(128 + n);
      data[i + 3] = 255;
    }
  }
  return { width, height, data };
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

/** The pixel at (x, y) as [r, g, b, a]. */
function pixel(image: RgbaImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 4;
  return [...image.data.subarray(i, i + 4)];
}

function near(actual: number[], expected: number[], tolerance: number, what: string) {
  for (let c = 0; c < expected.length; c++) {
    assert.ok(
      Math.abs(actual[c]! - expected[c]!) <= tolerance,
      `${what}: channel ${c} is ${actual[c]}, expected ${expected[c]} ± ${tolerance}`,
    );
  }
}

/** Inserts an EXIF APP1 segment (big-endian TIFF, IFD0 with one Orientation entry) after the SOI. */
function withOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  const tiff = [
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD0 at 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation SHORT
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ];
  const body = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00, ...tiff]; // "Exif\0\0"
  const length = body.length + 2;
  return new Uint8Array([0xff, 0xd8, 0xff, 0xe1, length >> 8, length & 0xff, ...body, ...jpeg.subarray(2)]);
}

Deno.test("fitPhoto() returns a photo already under the limit unchanged", () => {
  const small = encodeJpeg(gradientImage(64, 64), 80);
  assert.ok(small.length < CONTACT_PICTURE_MAX_BYTES);
  const fit = fitPhoto(small, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(fit.ok);
  assert.equal(fit.resized, false);
  assert.equal(fit.bytes, small);
});

Deno.test("fitPhoto() shrinks a large JPEG under the contact limit, keeping aspect and colours", () => {
  const source = gradientImage(1600, 1200);
  const jpeg = encodeJpeg(source, 95);
  assert.ok(jpeg.length > 10 * CONTACT_PICTURE_MAX_BYTES, `source is ${jpeg.length} bytes`);
  const fit = fitPhoto(jpeg, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(fit.ok, fit.ok ? "" : fit.reason);
  assert.ok(fit.resized);
  assert.ok(fit.bytes.length <= CONTACT_PICTURE_MAX_BYTES, `${fit.bytes.length} bytes`);
  // Base64 of it fits the 48 KB the Picture element allows (MS-ASCNTC 2.2.2.58).
  assert.ok(fit.bytes.toBase64().length <= 48 * 1024);
  const { image, orientation } = decodeImage(fit.bytes);
  assert.equal(orientation, 1);
  assert.ok(Math.max(image.width, image.height) <= START_EDGE);
  assert.ok(Math.abs(image.width / image.height - 4 / 3) < 0.02, `${image.width}x${image.height}`);
  // The grain averages out; the gradient stays: dark green-blue top left, red top right, yellow bottom right.
  const w = image.width, h = image.height;
  near(pixel(image, 2, 2), [0, 0, 128], 24, "top left");
  near(pixel(image, w - 3, 2), [255, 0, 128], 24, "top right");
  near(pixel(image, w - 3, h - 3), [255, 255, 128], 24, "bottom right");
  // The same input again is answered from the cache with the same bytes.
  const again = fitPhoto(jpeg, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(again.ok);
  assert.deepEqual(again.bytes, fit.bytes);
});

Deno.test("fitPhoto() turns a PNG with transparency into a JPEG on white", () => {
  const width = 900, height = 900;
  const image = gradientImage(width, height, 60);
  // Left half fully transparent, right half opaque.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width / 2; x++) image.data[(y * width + x) * 4 + 3] = 0;
  }
  const png = encodePng({ width, height, data: image.data, channels: 4, depth: 8 });
  assert.ok(png.length > CONTACT_PICTURE_MAX_BYTES);
  const fit = fitPhoto(png, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(fit.ok, fit.ok ? "" : fit.reason);
  assert.equal(fit.bytes[0], 0xff);
  assert.equal(fit.bytes[1], 0xd8);
  assert.ok(fit.bytes.length <= CONTACT_PICTURE_MAX_BYTES);
  const out = decodeImage(fit.bytes).image;
  near(pixel(out, 3, Math.floor(out.height / 2)), [255, 255, 255], 12, "transparent side");
  near(pixel(out, out.width - 3, 3), [255, 0, 128], 30, "opaque side");
});

Deno.test("fitPhoto() reads 16-bit grey and 1-bit grey PNGs", () => {
  const width = 700, height = 500;
  const grey16 = new Uint16Array(width * height);
  let seed = 3;
  for (let i = 0; i < grey16.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    grey16[i] = ((i % width) * 65535) / width * 0.5 + (seed % 32768);
  }
  const png16 = encodePng({ width, height, data: grey16, channels: 1, depth: 16 });
  const fit16 = fitPhoto(png16, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(fit16.ok, fit16.ok ? "" : fit16.reason);
  const out16 = decodeImage(fit16.bytes).image;
  const [r, g, b] = pixel(out16, out16.width - 2, 2);
  assert.ok(r === g && g === b || Math.abs(r! - b!) < 6, "stays grey");
  // 1-bit: rows are packed to whole bytes; vertical stripes 2 pixels wide average to mid grey.
  const rowBytes = Math.ceil(width / 8);
  const bits = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x += 4) bits[y * rowBytes + (x >> 3)]! |= 0xc0 >> (x & 7);
  }
  const png1 = encodePng({ width, height, data: bits, channels: 1, depth: 1 });
  const decoded = decodeImage(png1).image;
  assert.deepEqual(pixel(decoded, 0, 0), [255, 255, 255, 255]);
  assert.deepEqual(pixel(decoded, 2, 0), [0, 0, 0, 255]);
  const halved = downscale(decoded, width / 4, height / 4);
  near(pixel(halved, 10, 10), [128, 128, 128, 255], 1, "stripes averaged");
});

Deno.test("fitPhoto() applies the EXIF orientation of a camera JPEG", () => {
  // Stored landscape, red on the left half and blue on the right; Orientation 6 = rotate 90° clockwise to show.
  const width = 1200, height = 800;
  const image = gradientImage(width, height, 90);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      image.data[i] = x < width / 2 ? 230 : 20;
      image.data[i + 2] = x < width / 2 ? 20 : 230;
    }
  }
  const jpeg = withOrientation(encodeJpeg(image, 95), 6);
  assert.equal(exifOrientation(jpeg), 6);
  const fit = fitPhoto(jpeg, CONTACT_PICTURE_MAX_BYTES);
  assert.ok(fit.ok, fit.ok ? "" : fit.reason);
  const out = decodeImage(fit.bytes);
  assert.equal(out.orientation, 1, "the new JPEG has no EXIF: pixels are upright");
  assert.ok(out.image.height > out.image.width, `${out.image.width}x${out.image.height} is portrait`);
  // Rotated clockwise, the stored left (red) is now at the top, the right (blue) at the bottom.
  const top = pixel(out.image, Math.floor(out.image.width / 2), 4);
  const bottom = pixel(out.image, Math.floor(out.image.width / 2), out.image.height - 5);
  assert.ok(top[0]! > 150 && top[2]! < 100, `top ${top}`);
  assert.ok(bottom[2]! > 150 && bottom[0]! < 100, `bottom ${bottom}`);
});

Deno.test("fitPhoto() leaves out what it cannot decode, with the reason", () => {
  const junk = new Uint8Array(CONTACT_PICTURE_MAX_BYTES + 10).fill(0x47);
  const unknown = fitPhoto(junk, CONTACT_PICTURE_MAX_BYTES);
  assert.equal(unknown.ok, false);
  assert.match(unknown.ok ? "" : unknown.reason, /Unsupported image format \(first bytes 47 47 47 47\)/);
  const jpeg = encodeJpeg(gradientImage(1000, 1000), 95);
  const cut = new Uint8Array(jpeg.subarray(0, 600));
  const padded = new Uint8Array(CONTACT_PICTURE_MAX_BYTES + 1);
  padded.set(cut);
  const truncated = fitPhoto(padded, CONTACT_PICTURE_MAX_BYTES);
  assert.equal(truncated.ok, false);
  assert.match(truncated.ok ? "" : truncated.reason, /^Unreadable JPEG/);
  const png = encodePng({
    width: 400,
    height: 400,
    data: gradientImage(400, 400).data,
    channels: 4,
    depth: 8,
  });
  const brokenPng = png.slice();
  brokenPng.fill(0, 40);
  const badPng = fitPhoto(brokenPng, 1000);
  assert.equal(badPng.ok, false);
  assert.match(badPng.ok ? "" : badPng.reason, /^Unreadable PNG/);
});

Deno.test("fitPhoto() refuses a PNG declaring more pixels than the limit before inflating it", () => {
  const png = encodePng({ width: 4, height: 4, data: new Uint8Array(64), channels: 4, depth: 8 });
  const bomb = png.slice();
  const view = new DataView(bomb.buffer);
  view.setUint32(16, 20000);
  view.setUint32(20, 20000);
  const fit = fitPhoto(bomb, 10);
  assert.equal(fit.ok, false);
  assert.match(fit.ok ? "" : fit.reason, /PNG of 400000000 pixels is above the limit/);
});

Deno.test("downscale() averages the source pixels each output pixel covers", () => {
  // 4x1 → 2x1: exact pairs; 3x1 → 2x1: the middle pixel is shared half and half.
  const four = {
    width: 4,
    height: 1,
    data: new Uint8Array([0, 0, 0, 255, 100, 100, 100, 255, 200, 0, 0, 255, 0, 0, 0, 255]),
  };
  assert.deepEqual([...downscale(four, 2, 1).data], [50, 50, 50, 255, 100, 0, 0, 255]);
  const three = {
    width: 3,
    height: 1,
    data: new Uint8Array([0, 0, 0, 255, 90, 90, 90, 255, 180, 180, 180, 255]),
  };
  assert.deepEqual([...downscale(three, 2, 1).data], [30, 30, 30, 255, 150, 150, 150, 255]);
  const column = { width: 1, height: 2, data: new Uint8Array([10, 20, 30, 40, 30, 40, 50, 60]) };
  assert.deepEqual([...downscale(column, 1, 1).data], [20, 30, 40, 50]);
});
