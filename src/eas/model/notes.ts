import { type Body, BODY_SCHEMA } from "./airsyncbase.ts";
import type { ObjectSchema } from "./schema.ts";

const N = "Notes";
const ASB = "AirSyncBase";

/** A note (MS-ASNOTE 2.2.2), 14.0 and later. */
export interface Note {
  subject?: string;
  body?: Body;
  /** "IPM.StickyNote" (MS-ASNOTE 2.2.2.5). */
  messageClass?: string;
  lastModifiedDate?: Date;
  categories?: string[];
}

/** The message class of notes (MS-ASNOTE 2.2.2.5). */
export const NOTE_MESSAGE_CLASS = "IPM.StickyNote";

/** Tag table of a note (MS-ASNOTE 2.2.2). */
export const NOTE_SCHEMA: ObjectSchema = {
  name: "Note",
  fields: [
    { field: "subject", ns: N, tag: "Subject", type: "string" },
    { field: "body", ns: ASB, tag: "Body", type: "nested", schema: BODY_SCHEMA },
    { field: "messageClass", ns: N, tag: "MessageClass", type: "string" },
    { field: "lastModifiedDate", ns: N, tag: "LastModifiedDate", type: "date" },
    {
      field: "categories",
      ns: N,
      tag: "Category",
      type: "string",
      repeated: true,
      container: { ns: N, tag: "Categories" },
    },
  ],
};
