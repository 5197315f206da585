/**
 * WBXML codec throughput: decode and encode MB/s on a generated corpus (a
 * 500-item Email Sync response with bodies, a 1,000-folder FolderSync, a
 * 5 MB attachment ItemOperations response), beside Debian's libwbxml
 * `wbxml2xml` timed on the same files in the same run (process startup,
 * measured on a tiny file, is subtracted).
 */
import {
  decode,
  el,
  encode,
  encodeStream,
  opaqueEl,
  textEl,
  type WbxmlElement,
} from "../../src/wbxml/mod.ts";
import { type BenchContext, printTable, writeResult } from "./context.ts";

function emailSync(items: number): WbxmlElement {
  const body = "Hello Bob,\r\n\r\nPlease find the quarterly figures below. ".repeat(40);
  const adds = [];
  for (let i = 0; i < items; i++) {
    adds.push(el(
      "AirSync",
      "Add",
      textEl("AirSync", "ServerId", `1:${1000 + i}`),
      el(
        "AirSync",
        "ApplicationData",
        textEl("Email", "To", `"Bob Example" <bob${i}@example.com>`),
        textEl("Email", "From", `"Alice Example" <alice@example.com>`),
        textEl("Email", "Subject", `Quarterly report ${i} – Grüße`),
        textEl("Email", "DateReceived", "2026-11-21T10:00:00.000Z"),
        textEl("Email", "DisplayTo", "Bob Example"),
        textEl("Email", "Importance", 1),
        textEl("Email", "Read", i % 2 === 0),
        el(
          "AirSyncBase",
          "Body",
          textEl("AirSyncBase", "Type", 1),
          textEl("AirSyncBase", "EstimatedDataSize", body.length),
          textEl("AirSyncBase", "Data", body),
        ),
        textEl("Email", "MessageClass", "IPM.Note"),
        textEl("Email", "InternetCPID", 65001),
        el("Email", "Flag"),
        textEl("Email", "ContentClass", "urn:content-classes:message"),
        textEl("AirSyncBase", "NativeBodyType", 1),
        opaqueEl("Email2", "ConversationId", crypto.getRandomValues(new Uint8Array(16))),
        opaqueEl("Email2", "ConversationIndex", crypto.getRandomValues(new Uint8Array(5))),
        el("Email", "Categories"),
      ),
    ));
  }
  return el(
    "AirSync",
    "Sync",
    el(
      "AirSync",
      "Collections",
      el(
        "AirSync",
        "Collection",
        textEl("AirSync", "SyncKey", "2083187545"),
        textEl("AirSync", "CollectionId", 1),
        textEl("AirSync", "Status", 1),
        el("AirSync", "Commands", ...adds),
      ),
    ),
  );
}

function folderSync(folders: number): WbxmlElement {
  const adds = [];
  for (let i = 0; i < folders; i++) {
    adds.push(el(
      "FolderHierarchy",
      "Add",
      textEl("FolderHierarchy", "ServerId", `f${i}`),
      textEl("FolderHierarchy", "ParentId", i < 10 ? 0 : `f${i % 10}`),
      textEl("FolderHierarchy", "DisplayName", `Projects/Customer ${i}`),
      textEl("FolderHierarchy", "Type", 12),
    ));
  }
  return el(
    "FolderHierarchy",
    "FolderSync",
    textEl("FolderHierarchy", "Status", 1),
    textEl("FolderHierarchy", "SyncKey", 1),
    el("FolderHierarchy", "Changes", textEl("FolderHierarchy", "Count", folders), ...adds),
  );
}

function attachment(bytes: number): WbxmlElement {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65536)));
  return el(
    "ItemOperations",
    "ItemOperations",
    textEl("ItemOperations", "Status", 1),
    el(
      "ItemOperations",
      "Response",
      el(
        "ItemOperations",
        "Fetch",
        textEl("ItemOperations", "Status", 1),
        textEl("AirSyncBase", "FileReference", "1%3a1000%3a0"),
        el(
          "ItemOperations",
          "Properties",
          textEl("AirSyncBase", "ContentType", "application/pdf"),
          opaqueEl("AirSyncBase", "Content", data),
        ),
      ),
    ),
  );
}

/** Median of `runs` timings of `fn`, in milliseconds. */
function time(runs: number, fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Median time to drain encodeStream() of the tree, in milliseconds. */
async function timeStream(runs: number, tree: WbxmlElement): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    for await (const _chunk of encodeStream(tree)) {
      // drain
    }
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function runWbxml2xml(path: string): Promise<number> {
  const start = performance.now();
  const out = await new Deno.Command("wbxml2xml", {
    args: ["-l", "ACTIVESYNC", "-m", "0", "-o", "/dev/null", path],
    stdout: "null",
    stderr: "null",
  }).output();
  if (out.code !== 0) throw new Error(`wbxml2xml failed on "${path}" (exit ${out.code})`);
  return performance.now() - start;
}

async function timeLibwbxml(runs: number, path: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await runWbxml2xml(path));
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** Runs the WBXML benchmark and prints ours beside libwbxml. */
export async function bench(ctx: BenchContext): Promise<void> {
  const runs = ctx.quick ? 5 : 25;
  const corpus: [string, WbxmlElement][] = [
    ["Email Sync, 500 items with bodies", emailSync(500)],
    ["FolderSync, 1,000 folders", folderSync(1000)],
    ["ItemOperations, 5 MB attachment", attachment(5 * 1024 * 1024)],
  ];
  const dir = await Deno.makeTempDir({ prefix: "wbxml-bench-" });
  let haveLibwbxml = true;
  let startup = 0;
  try {
    const tiny = `${dir}/tiny.wbxml`;
    await Deno.writeFile(tiny, encode(el("Ping", "Ping", textEl("Ping", "Status", 1))));
    try {
      startup = await timeLibwbxml(runs, tiny);
    } catch {
      haveLibwbxml = false;
    }
    const rows: (string | number)[][] = [];
    const results = [];
    for (const [name, tree] of corpus) {
      const bytes = encode(tree);
      const mb = bytes.length / 1e6;
      for (let i = 0; i < 3; i++) decode(encode(tree)); // warm up the JIT
      const encodeMs = time(runs, () => encode(tree));
      const decodeMs = time(runs, () => decode(bytes));
      const streamMs = await timeStream(runs, tree);
      let libMs: number | undefined;
      if (haveLibwbxml) {
        const path = `${dir}/${results.length}.wbxml`;
        await Deno.writeFile(path, bytes);
        libMs = Math.max(0.001, (await timeLibwbxml(runs, path)) - startup);
      }
      const result = {
        name,
        bytes: bytes.length,
        decodeMBps: mb / (decodeMs / 1000),
        encodeMBps: mb / (encodeMs / 1000),
        encodeStreamMBps: mb / (streamMs / 1000),
        libwbxmlDecodeMBps: libMs === undefined ? null : mb / (libMs / 1000),
      };
      results.push(result);
      rows.push([
        name,
        (bytes.length / 1024).toFixed(0),
        result.decodeMBps.toFixed(1),
        result.encodeMBps.toFixed(1),
        result.encodeStreamMBps.toFixed(1),
        result.libwbxmlDecodeMBps === null ? "n/a" : result.libwbxmlDecodeMBps.toFixed(1),
      ]);
    }
    printTable(
      `WBXML codec, median of ${runs} runs (libwbxml: wbxml2xml to XML, minus ${
        startup.toFixed(1)
      } ms process startup)`,
      ["document", "KiB", "decode MB/s", "encode MB/s", "encodeStream MB/s", "libwbxml decode MB/s"],
      rows,
    );
    await writeResult(ctx, "wbxml", { runs, libwbxmlStartupMs: startup, results });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
