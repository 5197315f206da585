/**
 * The WBXML codec of EAS (MS-ASWBXML): decode, encode, streaming encode, XML
 * rendering and parsing, and the typed tree handlers work with. Pure: no I/O.
 */
export * from "./tree.ts";
export { decode } from "./decode.ts";
export { encode } from "./encode.ts";
export { encodeStream, STREAM_CHUNK_BYTES, type StreamElement, type StreamOpaque } from "./stream.ts";
export { fromXml, REDACTED_ELEMENTS, toXml, type ToXmlOptions, XML_PROLOG } from "./xml.ts";
export { WbxmlSyntaxError } from "./errors.ts";
export { WBXML_LIMITS, type WbxmlLimits } from "./limits.ts";
export { BINARY_ELEMENTS, CODE_PAGES, type CodePage, LIBWBXML_NAMES } from "./codepages/mod.ts";
