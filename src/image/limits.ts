/**
 * Limits of the photo resizer, each with its reason. Decoding runs in the
 * request that syncs a contact, on a small box: the bounds keep one hostile
 * or oversized photo from taking the memory of every other request.
 */

/**
 * Contact Picture limit (MS-ASCNTC 2.2.2.58): at most 48 KB of base64 text,
 * "an image size of around 36 KB". 36 KiB of bytes is exactly 48 KiB of
 * base64, so a JPEG of at most this many bytes always fits.
 */
export const CONTACT_PICTURE_MAX_BYTES = 36 * 1024;

/**
 * Largest source photo decoded (pixels): a 24-megapixel phone camera photo
 * fits; beyond that the RGBA buffer alone would pass 100 MB.
 */
export const MAX_SOURCE_PIXELS = 25_000_000;

/** Memory jpeg-js may allocate for one decode (MB): a MAX_SOURCE_PIXELS JPEG with its component planes. */
export const MAX_DECODE_MEMORY_MB = 320;

/** Longest edge of the first attempt (pixels): phones show contact photos at up to about this size. */
export const START_EDGE = 512;

/** Smallest edge tried before giving up (pixels): below it a face is no longer recognisable. */
export const MIN_EDGE = 24;

/** JPEG quality of the first attempt and the lowest quality tried before shrinking further. */
export const START_QUALITY = 85;
export const MIN_QUALITY = 55;

/** Encodings tried per photo at most: each costs a JPEG encode of up to START_EDGE². */
export const MAX_ATTEMPTS = 12;

/** Resized photos remembered (by content hash), so the next Sync of the same card does not resize again. */
export const CACHE_ENTRIES = 128;
