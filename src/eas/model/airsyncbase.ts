import type { ObjectSchema } from "./schema.ts";

const ASB = "AirSyncBase";

/** Body types (MS-ASAIRS 2.2.2.22.1 Type). */
export const BODY_TYPE = { PlainText: 1, Html: 2, Rtf: 3, Mime: 4 } as const;

/** Attachment methods (MS-ASAIRS 2.2.2.31 Method). */
export const ATTACHMENT_METHOD = { Normal: 1, EmbeddedMessage: 5, Ole: 6 } as const;

/** AirSyncBase:Body (MS-ASAIRS 2.2.2.9); the field order is the XSD's sequence. */
export interface Body {
  type: number;
  estimatedDataSize?: number;
  truncated?: boolean;
  /** Text, or raw bytes (MIME of type 4 that is not valid UTF-8 goes out as OPAQUE). */
  data?: string | Uint8Array;
  /** Plain-text preview, 14.0 and later. */
  preview?: string;
}

/** AirSyncBase:BodyPart (MS-ASAIRS 2.2.2.10), 14.1 and later. */
export interface BodyPart {
  status: number;
  type: number;
  estimatedDataSize: number;
  truncated?: boolean;
  data?: string;
  preview?: string;
}

/** AirSyncBase:Attachment (MS-ASAIRS 2.2.2.7). */
export interface Attachment {
  displayName?: string;
  fileReference: string;
  method?: number;
  estimatedDataSize?: number;
  contentId?: string;
  contentLocation?: string;
  isInline?: boolean;
}

/** Tag table of AirSyncBase:Body. */
export const BODY_SCHEMA: ObjectSchema = {
  name: "Body",
  fields: [
    { field: "type", ns: ASB, tag: "Type", type: "int" },
    { field: "estimatedDataSize", ns: ASB, tag: "EstimatedDataSize", type: "int" },
    { field: "truncated", ns: ASB, tag: "Truncated", type: "bool" },
    { field: "data", ns: ASB, tag: "Data", type: "string" },
    { field: "preview", ns: ASB, tag: "Preview", type: "string", minVersion: "14.0" },
  ],
};

/** Tag table of AirSyncBase:BodyPart. */
export const BODY_PART_SCHEMA: ObjectSchema = {
  name: "BodyPart",
  fields: [
    { field: "status", ns: ASB, tag: "Status", type: "int" },
    { field: "type", ns: ASB, tag: "Type", type: "int" },
    { field: "estimatedDataSize", ns: ASB, tag: "EstimatedDataSize", type: "int" },
    { field: "truncated", ns: ASB, tag: "Truncated", type: "bool" },
    { field: "data", ns: ASB, tag: "Data", type: "string" },
    { field: "preview", ns: ASB, tag: "Preview", type: "string" },
  ],
};

/** Tag table of AirSyncBase:Attachment. */
export const ATTACHMENT_SCHEMA: ObjectSchema = {
  name: "Attachment",
  fields: [
    { field: "displayName", ns: ASB, tag: "DisplayName", type: "string" },
    { field: "fileReference", ns: ASB, tag: "FileReference", type: "string" },
    { field: "method", ns: ASB, tag: "Method", type: "int" },
    { field: "estimatedDataSize", ns: ASB, tag: "EstimatedDataSize", type: "int" },
    { field: "contentId", ns: ASB, tag: "ContentId", type: "string" },
    { field: "contentLocation", ns: ASB, tag: "ContentLocation", type: "string" },
    { field: "isInline", ns: ASB, tag: "IsInline", type: "bool" },
  ],
};
