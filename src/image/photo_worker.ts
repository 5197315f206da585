/**
 * Worker entry of the photo resizer: runs computePhotoFit() off the main
 * event loop, one photo per message. Started by fit_photo_off_thread.ts;
 * the firmware ships it as its own module (appliance/build_firmware.sh:
 * `--include` for deno compile, a second bundle next to the first).
 */
import type { PhotoJob, PhotoJobResult } from "./_photo_job.ts";
import { computePhotoFit } from "./resize_photo.ts";

/** The worker side of postMessage (the window typing of `self` has another signature). */
const port = self as unknown as {
  onmessage: ((event: MessageEvent<PhotoJob>) => void) | null;
  postMessage(message: PhotoJobResult, transfer: Transferable[]): void;
};

port.onmessage = (event) => {
  const { id, bytes, maxBytes } = event.data;
  let answer: PhotoJobResult;
  try {
    answer = { id, fit: computePhotoFit(bytes, maxBytes) };
  } catch (error) {
    answer = { id, error: (error as Error).message ?? String(error) };
  }
  // The new JPEG is moved, not copied, back to the main thread.
  const moved = "fit" in answer && answer.fit.ok && answer.fit.bytes.byteOffset === 0 &&
      answer.fit.bytes.byteLength === answer.fit.bytes.buffer.byteLength
    ? [answer.fit.bytes.buffer as ArrayBuffer]
    : [];
  port.postMessage(answer, moved);
};
