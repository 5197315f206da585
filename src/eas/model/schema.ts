/**
 * Tag tables: how an EAS object's fields map to WBXML elements
 * (ARCHITECTURE style rule 3). One table per object class; the generic
 * streamer in `streamer.ts` reads them in both directions.
 */

/**
 * Value kinds of a field:
 * - `string`: STR_I text (a `Uint8Array` value is written as OPAQUE, for MIME bodies that are not UTF-8);
 * - `int`: decimal integer;
 * - `bool`: "1"/"0" (MS-ASDTYPE 2.1 boolean);
 * - `date`: EAS date-time "2026-11-21T10:00:00.000Z" (MS-ASDTYPE 2.3);
 * - `opaque`: OPAQUE bytes (ConversationId, ConversationIndex);
 * - `nested`: an object described by `schema`;
 * - `empty`: an element without content, present when the value is `true` (e.g. Email2 IsDraft in requests).
 */
export type FieldType = "string" | "int" | "bool" | "date" | "opaque" | "nested" | "empty";

/** One row of a tag table. */
export interface FieldSpec {
  /** Property name in the typed object. */
  field: string;
  /** Code page name (MS-ASWBXML) of the element. */
  ns: string;
  /** Element name as the spec spells it. */
  tag: string;
  type: FieldType;
  /** Table of a nested object (type "nested"). */
  schema?: ObjectSchema;
  /**
   * Repeated values: the property is an array. With `container`, the values
   * are wrapped in one element (`<Categories><Category/>...</Categories>`, where
   * `tag` is the item element); without it, the element itself repeats.
   */
  repeated?: boolean;
  container?: { ns: string; tag: string };
  /** Protocol versions that carry the field (inclusive); others skip it in both directions. */
  minVersion?: string;
  maxVersion?: string;
}

/** The tag table of one object class. Fields are written in table order (sequences in the XSDs rely on it). */
export interface ObjectSchema {
  /** Name for error messages ("Email", "Body"). */
  name: string;
  fields: readonly FieldSpec[];
}
