/**
 * Streaming WBXML encoder for large responses (ItemOperations Fetch of big
 * attachments, initial Sync windows): children and opaque bytes are pulled
 * lazily and the output leaves in chunks, so memory stays bounded by the
 * chunk size plus the largest in-memory leaf.
 */
import { ByteWriter } from "./_writer.ts";
import { EAS_HEADER, GLOBAL } from "./_tokens.ts";
import { EncoderState, writeElement } from "./encode.ts";
import type { WbxmlElement } from "./tree.ts";

/** Opaque bytes produced lazily; `length` is written first (OPAQUE is length-prefixed). */
export interface StreamOpaque {
  length: number;
  chunks: AsyncIterable<Uint8Array>;
}

/** Like WbxmlElement, but children may be produced lazily and opaque may be streamed. */
export interface StreamElement {
  ns: string;
  name: string;
  children?: StreamElement[] | Iterable<StreamElement> | AsyncIterable<StreamElement>;
  text?: string;
  opaque?: Uint8Array | StreamOpaque;
}

/** Output chunk size: large enough for few writes, small enough to bound memory. */
export const STREAM_CHUNK_BYTES = 32 * 1024;

/** Opaque blocks at least this large are passed through as they are instead of copied. */
const PASS_THROUGH_BYTES = 8 * 1024;

/**
 * Whether a subtree can be written in one synchronous pass: only arrays of
 * children and small in-memory opaque blocks. Sync windows are mostly such
 * items, and writing them without a generator per element is much faster.
 */
function isPlain(element: StreamElement, budget: { nodes: number }): element is WbxmlElement {
  if (--budget.nodes < 0) return false;
  const { children, opaque } = element;
  if (opaque !== undefined && (!(opaque instanceof Uint8Array) || opaque.length >= PASS_THROUGH_BYTES)) {
    return false;
  }
  if (children === undefined) return true;
  if (!Array.isArray(children)) return false;
  for (const c of children) if (!isPlain(c, budget)) return false;
  return true;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<StreamElement> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

async function* writeStreamElement(
  state: EncoderState,
  element: StreamElement,
  depth: number,
): AsyncGenerator<Uint8Array> {
  if (depth > 1000) throw new Error("Stream tree is nested deeper than 1000 elements");
  const out = state.out;
  const { children, text, opaque } = element;
  // Plain subtrees of bounded size (so one write never overshoots a chunk by much) go the fast way.
  if (isPlain(element, { nodes: 2048 })) {
    writeElement(state, element, depth);
  } else if (children !== undefined) {
    // Whether a lazy child list is empty is unknown before pulling it, so
    // children always get the content form; an empty list costs one END byte.
    state.tag(element.ns, element.name, true);
    if (isAsyncIterable(children)) {
      for await (const c of children) yield* writeStreamElement(state, c, depth + 1);
    } else {
      for (const c of children) yield* writeStreamElement(state, c, depth + 1);
    }
    out.byte(GLOBAL.END);
  } else if (text !== undefined && text !== "") {
    state.tag(element.ns, element.name, true);
    state.text(element, text);
    out.byte(GLOBAL.END);
  } else if (opaque instanceof Uint8Array && opaque.length > 0) {
    state.tag(element.ns, element.name, true);
    state.opaqueHeader(opaque.length);
    if (opaque.length >= PASS_THROUGH_BYTES) {
      yield out.take();
      yield opaque;
    } else {
      out.bytes(opaque);
    }
    out.byte(GLOBAL.END);
  } else if (opaque !== undefined && !(opaque instanceof Uint8Array) && opaque.length > 0) {
    state.tag(element.ns, element.name, true);
    state.opaqueHeader(opaque.length);
    yield out.take();
    let seen = 0;
    for await (const chunk of opaque.chunks) {
      seen += chunk.length;
      if (seen > opaque.length) {
        throw new Error(
          `Opaque chunks of "${element.ns}:${element.name}" exceed the declared ${opaque.length} bytes`,
        );
      }
      if (chunk.length > 0) yield chunk;
    }
    if (seen !== opaque.length) {
      throw new Error(
        `Opaque chunks of "${element.ns}:${element.name}" add up to ${seen} bytes, not ${opaque.length}`,
      );
    }
    out.byte(GLOBAL.END);
  } else {
    if (opaque !== undefined && !(opaque instanceof Uint8Array)) {
      for await (const chunk of opaque.chunks) {
        if (chunk.length > 0) {
          throw new Error(`Opaque chunks of "${element.ns}:${element.name}" exceed the declared 0 bytes`);
        }
      }
    }
    state.tag(element.ns, element.name, false);
  }
  if (out.length >= STREAM_CHUNK_BYTES) yield out.take();
}

async function* generate(root: StreamElement): AsyncGenerator<Uint8Array> {
  const out = new ByteWriter(STREAM_CHUNK_BYTES * 2);
  out.bytes(EAS_HEADER);
  const state = new EncoderState(out);
  for await (const chunk of writeStreamElement(state, root, 0)) {
    if (chunk.length > 0) yield chunk;
  }
  if (out.length > 0) yield out.take();
}

/**
 * Encodes a tree whose children and opaque content may arrive lazily as a
 * byte stream in chunks of about {@link STREAM_CHUNK_BYTES} (large opaque
 * chunks are passed through uncopied). Errors (unknown tags, opaque chunks
 * that do not add up) error the stream.
 */
export function encodeStream(root: StreamElement): ReadableStream<Uint8Array> {
  const iterator = generate(root);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return(undefined);
    },
  }, { highWaterMark: 1 });
}
