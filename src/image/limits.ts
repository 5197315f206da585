/**
 * Limits of the photo resizer, each with its reason. Decoding runs in a
 * worker on a small box (2 cores): the bounds keep one hostile or oversized
 * photo from taking the memory or the time of every other request.
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

/**
 * Photo workers running at once: one. The appliance has two cores; one
 * stays for the event loop (held Pings, other phones' Syncs) while the
 * other resizes.
 */
export const PHOTO_WORKERS = 1;

/**
 * Photos waiting for a worker at most. A Sync fetches its items one after
 * the other, so each request waits on one photo at a time; beyond this many
 * waiting the server is flooded and a photo is left out (and logged) rather
 * than queued for minutes.
 */
export const PHOTO_QUEUE = 16;

/**
 * Time one photo may take in the worker (ms). A 24 MP JPEG (MAX_SOURCE_PIXELS)
 * decodes in about 10 s on the x86 build machine, more on the ARM box; past
 * this the worker is stopped and the photo left out, so the Sync that asked
 * answers instead of waiting on it forever.
 */
export const PHOTO_TIMEOUT_MS = 30_000;

/** An idle worker is stopped after this long (ms): its heap (decoders, cache) is not kept for nothing. */
export const PHOTO_WORKER_IDLE_MS = 30_000;
