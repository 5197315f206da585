/**
 * fitPhoto() in a Web Worker, so decoding and resizing a large photo (about
 * a second per 2 MP, several for a camera photo) does not stall the event
 * loop that answers held Pings and other phones' Syncs. A small pool
 * (PHOTO_WORKERS) started on the first large photo and stopped when idle,
 * a bounded queue and a time limit per photo; results share fitPhoto()'s
 * content cache.
 */
import type { PhotoJob, PhotoJobResult } from "./_photo_job.ts";
import { cachedPhotoFit, photoCacheKey, type PhotoFit, rememberPhotoFit } from "./resize_photo.ts";
import { PHOTO_QUEUE, PHOTO_TIMEOUT_MS, PHOTO_WORKER_IDLE_MS, PHOTO_WORKERS } from "./limits.ts";

/**
 * The worker module. From source and in a `deno compile` binary (which
 * embeds it through `--include`) it is the .ts file beside this one; in the
 * firmware's bundle this module is part of lib/pushbridge.js and the worker
 * is bundled beside it as lib/photo_worker.js (appliance/build_firmware.sh).
 * Computed, so that neither bundler nor compiler rewrites it.
 */
const WORKER_URL = new URL(
  `./photo_worker.${new URL(import.meta.url).pathname.endsWith(".js") ? "js" : "ts"}`,
  import.meta.url,
);

/** Options of one pool; the defaults are the limits of limits.ts (tests shorten them). */
export interface PhotoPoolOptions {
  workers?: number;
  queue?: number;
  timeoutMs?: number;
  idleMs?: number;
  workerUrl?: URL;
}

interface Job {
  id: number;
  bytes: Uint8Array;
  maxBytes: number;
  resolve: (fit: PhotoFit) => void;
}

interface Slot {
  worker: Worker | undefined;
  job: Job | undefined;
  timeout: ReturnType<typeof setTimeout> | undefined;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/** A pool of photo workers. Most code uses the shared one through fitPhotoOffThread(). */
export class PhotoPool {
  readonly #workers: number;
  readonly #queueLimit: number;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #url: URL;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  /** Photos being fitted, by content key: a second phone syncing the same card waits for the same work. */
  readonly #pending = new Map<string, Promise<PhotoFit>>();
  #nextId = 1;

  constructor(options: PhotoPoolOptions = {}) {
    this.#workers = options.workers ?? PHOTO_WORKERS;
    this.#queueLimit = options.queue ?? PHOTO_QUEUE;
    this.#timeoutMs = options.timeoutMs ?? PHOTO_TIMEOUT_MS;
    this.#idleMs = options.idleMs ?? PHOTO_WORKER_IDLE_MS;
    this.#url = options.workerUrl ?? WORKER_URL;
    for (let i = 0; i < this.#workers; i++) {
      this.#slots.push({ worker: undefined, job: undefined, timeout: undefined, idle: undefined });
    }
  }

  /** Workers running now (started and not yet stopped for idleness, a timeout or shutdown). */
  get running(): number {
    return this.#slots.filter((s) => s.worker).length;
  }

  /**
   * As fitPhoto(), off the event loop. Never rejects for a bad photo, a
   * full queue, a timeout or a crashed worker: those give `ok: false` with
   * the reason, and the photo is left out.
   */
  fit(bytes: Uint8Array, maxBytes: number): Promise<PhotoFit> {
    if (bytes.length <= maxBytes) return Promise.resolve({ ok: true, bytes, resized: false });
    const key = photoCacheKey(bytes, maxBytes);
    const known = cachedPhotoFit(key);
    if (known) return Promise.resolve(known);
    const pending = this.#pending.get(key);
    if (pending) return pending;
    if (this.#queue.length >= this.#queueLimit) {
      return Promise.resolve(transient(`Photo resizing is busy (${this.#queue.length} photos waiting)`));
    }
    const promise = new Promise<PhotoFit>((resolve) => {
      // A copy is moved to the worker; the caller keeps its bytes.
      this.#queue.push({ id: this.#nextId++, bytes: bytes.slice(), maxBytes, resolve });
    }).then((fit) => {
      this.#pending.delete(key);
      // A timeout or a crash says nothing about the photo: the next Sync tries again.
      if (fit.ok || !fit.transient) rememberPhotoFit(key, fit);
      return fit;
    });
    this.#pending.set(key, promise);
    this.#pump();
    return promise;
  }

  /** Stops every worker; queued and running photos are left out with the reason. */
  stop(): void {
    for (const job of this.#queue.splice(0)) job.resolve(transient("Photo resizing was stopped"));
    for (const slot of this.#slots) this.#finish(slot, transient("Photo resizing was stopped"), true);
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.job) continue;
      const job = this.#queue.shift();
      if (!job) return;
      clearTimeout(slot.idle);
      slot.job = job;
      let worker: Worker;
      try {
        worker = slot.worker ?? this.#start(slot);
      } catch (error) {
        // E.g. no permission to read the worker module: the photo is left out, the caller still answered.
        this.#finish(slot, transient(`Photo worker cannot start: ${(error as Error).message}`), true);
        continue;
      }
      slot.timeout = setTimeout(() => {
        // A decode cannot be interrupted: the worker is stopped, the next photo gets a fresh one.
        this.#finish(slot, transient(`Resizing took longer than ${this.#timeoutMs} ms`), true);
        this.#pump();
      }, this.#timeoutMs);
      const message: PhotoJob = { id: job.id, bytes: job.bytes, maxBytes: job.maxBytes };
      worker.postMessage(message, [job.bytes.buffer]);
    }
  }

  #start(slot: Slot): Worker {
    const worker = new Worker(this.#url.href, { type: "module" });
    worker.onmessage = (event: MessageEvent<PhotoJobResult>) => {
      const answer = event.data;
      if (slot.job?.id !== answer.id) return;
      this.#finish(
        slot,
        "fit" in answer ? answer.fit : transient(`Photo worker error: ${answer.error}`),
        false,
      );
      this.#pump();
    };
    worker.onerror = (event) => {
      // An uncaught error (e.g. out of memory) ends the worker: say why, start afresh for the next photo.
      event.preventDefault();
      this.#finish(slot, transient(`Photo worker failed: ${event.message}`), true);
      this.#pump();
    };
    slot.worker = worker;
    return worker;
  }

  #finish(slot: Slot, fit: PhotoFit, stopWorker: boolean): void {
    clearTimeout(slot.timeout);
    clearTimeout(slot.idle);
    slot.timeout = undefined;
    const job = slot.job;
    slot.job = undefined;
    if (stopWorker) {
      slot.worker?.terminate();
      slot.worker = undefined;
    } else if (slot.worker && this.#queue.length === 0) {
      const idle = setTimeout(() => {
        slot.worker?.terminate();
        slot.worker = undefined;
      }, this.#idleMs);
      // The idle stop alone does not keep the process running.
      Deno.unrefTimer(idle);
      slot.idle = idle;
    }
    job?.resolve(fit);
  }
}

/** A failure that says nothing about the photo itself. */
function transient(reason: string): PhotoFit {
  return { ok: false, reason, transient: true };
}

let shared: PhotoPool | undefined;

/** fitPhoto() on the shared pool of photo workers (see PhotoPool.fit). */
export function fitPhotoOffThread(bytes: Uint8Array, maxBytes: number): Promise<PhotoFit> {
  shared ??= new PhotoPool();
  return shared.fit(bytes, maxBytes);
}

/** Stops the shared pool's workers (server shutdown, tests); the next large photo starts one again. */
export function stopPhotoWorkers(): void {
  shared?.stop();
}
