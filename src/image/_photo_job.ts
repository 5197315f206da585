/** Messages between fit_photo_off_thread.ts and photo_worker.ts. */
import type { PhotoFit } from "./resize_photo.ts";

/** A photo to fit, posted to the worker. */
export interface PhotoJob {
  id: number;
  bytes: Uint8Array;
  maxBytes: number;
}

/** The worker's answer to a PhotoJob: the fit, or the message of an unexpected error (a bug, not a bad photo). */
export type PhotoJobResult = { id: number; fit: PhotoFit } | { id: number; error: string };
