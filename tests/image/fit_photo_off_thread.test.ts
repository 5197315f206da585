/**
 * The photo resizer off the event loop: the worker pool on its own (same
 * result as fitPhoto(), timeout, bounded queue, idle stop, cache), and a
 * Sync against Radicale whose large contact photo is resized while the
 * server keeps answering another device and its timers keep firing.
 */
import assert from "node:assert/strict";
import { childText } from "../../src/wbxml/mod.ts";
import { computePhotoFit, decodeImage } from "../../src/image/resize_photo.ts";
import { fitPhotoOffThread, PhotoPool, stopPhotoWorkers } from "../../src/image/fit_photo_off_thread.ts";
import { CONTACT_PICTURE_MAX_BYTES, PHOTO_QUEUE } from "../../src/image/limits.ts";
import { contactFromVcardAsync, vcardFromContactAsync } from "../../src/bridge/dav/vcard_map.ts";
import { BackendUnavailableError } from "../../src/backend/types.ts";
import { data, initialSync } from "../integration/dav_fixture.ts";
import { startBox } from "../integration/fixture.ts";
import { cameraJpeg, contactsFolderId, storeContactWithPhoto, vcardWithPhoto } from "./_photos.ts";

const LIMIT = CONTACT_PICTURE_MAX_BYTES;
const junk = (fill: number) => new Uint8Array(LIMIT + 100).fill(fill);

Deno.test("PhotoPool.fit() resizes in a worker to the very bytes fitPhoto() makes, and remembers them", async () => {
  const pool = new PhotoPool();
  try {
    const photo = cameraJpeg(900, 700, 11);
    const fit = await pool.fit(photo, LIMIT);
    const here = computePhotoFit(photo, LIMIT);
    assert.ok(fit.ok && here.ok && fit.resized);
    assert.deepEqual(fit.bytes, here.bytes);
    assert.ok(fit.bytes.length <= LIMIT, `${fit.bytes.length} bytes`);
    assert.equal(pool.running, 1);
    // The caller's bytes were copied to the worker, not moved away.
    assert.equal(photo.byteLength > LIMIT, true);
    pool.stop();
    assert.equal(pool.running, 0);
    // Remembered by content: no worker is started for it again.
    const again = await pool.fit(photo, LIMIT);
    assert.deepEqual(again, fit);
    assert.equal(pool.running, 0);
  } finally {
    pool.stop();
  }
});

Deno.test("PhotoPool.fit() leaves out a photo that takes longer than the timeout; the next photo gets a new worker", async () => {
  // About 1.5 s of work against 0.6 s allowed; a worker starts and answers a junk photo well within it.
  const pool = new PhotoPool({ timeoutMs: 600 });
  const roomy = new PhotoPool();
  try {
    const photo = cameraJpeg(3200, 2400, 12);
    const slow = await pool.fit(photo, LIMIT);
    assert.deepEqual(slow, { ok: false, reason: "Resizing took longer than 600 ms", transient: true });
    assert.equal(pool.running, 0, "the stuck worker was stopped");
    const next = await pool.fit(junk(1), LIMIT);
    assert.match((next as { reason: string }).reason, /^Unsupported image format/);
    assert.equal(pool.running, 1);
    // A timeout is not remembered: with time enough the same photo fits.
    const later = await roomy.fit(photo, LIMIT);
    assert.ok(later.ok && later.resized);
  } finally {
    pool.stop();
    roomy.stop();
  }
});

Deno.test("PhotoPool.fit() answers busy beyond its queue and shares the work for the same photo", async () => {
  const pool = new PhotoPool({ workers: 1, queue: 1 });
  try {
    const running = pool.fit(junk(2), LIMIT);
    const sameAgain = pool.fit(junk(2), LIMIT);
    const queued = pool.fit(junk(3), LIMIT);
    const refused = await pool.fit(junk(4), LIMIT);
    assert.deepEqual(refused, {
      ok: false,
      reason: "Photo resizing is busy (1 photos waiting)",
      transient: true,
    });
    assert.equal(running, sameAgain, "one piece of work for one photo");
    for (const fit of [await running, await queued]) {
      assert.equal(fit.ok, false);
      assert.match((fit as { reason: string }).reason, /^Unsupported image format/);
    }
  } finally {
    pool.stop();
  }
});

Deno.test("PhotoPool stops its idle worker and starts one again for the next photo", async () => {
  const pool = new PhotoPool({ idleMs: 50 });
  try {
    await pool.fit(junk(5), LIMIT);
    assert.equal(pool.running, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pool.running, 0);
    const fit = await pool.fit(junk(6), LIMIT);
    assert.match((fit as { reason: string }).reason, /^Unsupported image format \(first bytes 06 06/);
    assert.equal(pool.running, 1);
  } finally {
    pool.stop();
  }
});

Deno.test("a Sync that resizes a large contact photo leaves the server's event loop free", async () => {
  const box = await startBox({ dav: true });
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    // About 7.7 MP: seconds of decoding and scaling, as a phone camera photo.
    const photo = cameraJpeg(3200, 2400, 13);
    await storeContactWithPhoto(box.mailstore, "big-1", photo);
    const phone = box.client();
    const other = box.client();
    await other.probe();
    const contactsId = await contactsFolderId(phone);

    // While the phone syncs: a 10 ms timer and another device's requests, both in this process.
    let last = performance.now(), maxGap = 0, ticks = 0;
    ticker = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    let syncing = true;
    const probeTimes: number[] = [];
    const prober = (async () => {
      while (syncing) {
        const start = performance.now();
        const answer = await other.probe();
        assert.equal(answer.status, 200);
        probeTimes.push(performance.now() - start);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const started = performance.now();
    const reply = await initialSync(phone, contactsId, "Contacts");
    const syncMs = performance.now() - started;
    syncing = false;
    await prober;
    clearInterval(ticker);
    ticker = undefined;

    const picture = childText(data(reply.commands[0]!), "Picture", "Contacts")!;
    assert.ok(picture.length <= 48 * 1024, `${picture.length} base64 characters`); // MS-ASCNTC 2.2.2.58
    assert.equal(decodeImage(Uint8Array.fromBase64(picture)).image.width, 512);

    // What the same resize costs when it runs on the event loop (the cache is not involved).
    const blockStart = performance.now();
    assert.ok(computePhotoFit(photo, LIMIT).ok);
    const blockMs = performance.now() - blockStart;
    const slowestProbe = Math.max(...probeTimes);
    console.log(
      `sync ${syncMs.toFixed(0)} ms; the resize alone blocks ${blockMs.toFixed(0)} ms; during the sync: ` +
        `${ticks} ticks, longest gap ${maxGap.toFixed(0)} ms, ${probeTimes.length} probes, slowest ${
          slowestProbe.toFixed(0)
        } ms`,
    );
    assert.ok(blockMs >= 400, `the test photo must cost real time to resize (${blockMs} ms)`);
    assert.ok(maxGap < blockMs / 2, `timer gap ${maxGap} ms vs ${blockMs} ms of resizing`);
    assert.ok(slowestProbe < blockMs / 2, `slowest probe ${slowestProbe} ms vs ${blockMs} ms of resizing`);
    assert.ok(probeTimes.length >= 5, `${probeTimes.length} probes answered during the sync`);
  } finally {
    clearInterval(ticker);
    stopPhotoWorkers();
    await box.stop();
  }
});

Deno.test("fitPhotoOffThread() shares fitPhoto()'s content cache", async () => {
  try {
    const photo = cameraJpeg(800, 600, 14);
    const first = await fitPhotoOffThread(photo, LIMIT);
    stopPhotoWorkers();
    const second = await fitPhotoOffThread(photo, LIMIT);
    assert.ok(first.ok && first.resized);
    assert.equal(second, first, "the remembered result itself");
  } finally {
    stopPhotoWorkers();
  }
});

Deno.test("PhotoPool.fit() leaves the photo out with the reason when its worker cannot start", async () => {
  const pool = new PhotoPool({ workerUrl: new URL("data:text/plain,not a module") });
  try {
    const fit = await pool.fit(junk(7), LIMIT);
    assert.equal(fit.ok, false);
    assert.match((fit as { reason: string }).reason, /^Photo worker (cannot start|failed): /);
    assert.equal(pool.running, 0);
  } finally {
    pool.stop();
  }
});

Deno.test("with photo resizing busy, a read leaves the photo out and a write-back of a picture waits for a retry", async () => {
  try {
    const card = vcardWithPhoto("busy-1", "Busy", cameraJpeg(700, 500, 41));
    // The shared pool's worker takes the first, its queue the next PHOTO_QUEUE: then it is busy.
    const filling = Array.from(
      { length: PHOTO_QUEUE + 1 },
      (_, i) => fitPhotoOffThread(junk(100 + i), LIMIT),
    );
    const read = contactFromVcardAsync(card);
    const write = vcardFromContactAsync({ firstName: "Busy", picture: "AAAA" }, card);
    const withoutPicture = vcardFromContactAsync({ firstName: "Busy" }, card);
    const { contact, photoLeftOut } = await read;
    assert.equal(contact.picture, undefined);
    assert.match(photoLeftOut!, /^Photo resizing is busy/);
    // Which picture the phone was sent is unknown now: its picture must not replace the original.
    await assert.rejects(write, BackendUnavailableError);
    // An edit without a Picture keeps the stored photo (PHOTO untouched).
    assert.match((await withoutPicture).vcf, /PHOTO;ENCODING=b;TYPE=JPEG:/);
    await Promise.all(filling);
    // Once the queue drained, the same card reads with its photo resized; the busy answer was not remembered.
    const again = await contactFromVcardAsync(card);
    assert.ok(again.contact.picture && again.contact.picture.length <= 48 * 1024);
  } finally {
    stopPhotoWorkers();
  }
});
