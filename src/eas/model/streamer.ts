import { atLeast } from "../protocol/versions.ts";
import type { WbxmlElement } from "../../wbxml/tree.ts";
import type { FieldSpec, ObjectSchema } from "./schema.ts";

/** A value in an EAS element that does not fit its field's type. */
export class ModelSyntaxError extends SyntaxError {
  constructor(message: string, readonly field: string) {
    super(message);
    this.name = "ModelSyntaxError";
  }
}

/** Which protocol version the objects are written for (fields outside it are skipped). */
export interface StreamOptions {
  version?: string;
}

/** A typed EAS object: plain properties keyed by the table's field names. */
// deno-lint-ignore no-explicit-any
export type ModelObject = Record<string, any>;

/**
 * Writes a typed object as WBXML elements in table order; `undefined` and
 * `null` properties are left out. Returns the children of ApplicationData
 * (or of the nested element).
 */
export function toElements(
  schema: ObjectSchema,
  object: ModelObject,
  options: StreamOptions = {},
): WbxmlElement[] {
  const out: WbxmlElement[] = [];
  for (const spec of schema.fields) {
    if (!inVersion(spec, options.version)) continue;
    const value = object[spec.field];
    if (value === undefined || value === null) continue;
    if (spec.repeated) {
      if (!Array.isArray(value)) {
        throw new TypeError(`Field '${schema.name}.${spec.field}' must be an array`);
      }
      const items = value.map((v) => valueElement(spec, v, options)).filter((e): e is WbxmlElement => !!e);
      if (spec.container) {
        out.push(
          items.length ? { ns: spec.container.ns, name: spec.container.tag, children: items } : {
            ns: spec.container.ns,
            name: spec.container.tag,
          },
        );
      } else out.push(...items);
      continue;
    }
    const element = valueElement(spec, value, options);
    if (element) out.push(element);
  }
  return out;
}

/**
 * Reads WBXML elements into a typed object using the table. Elements the table
 * does not know are ignored (newer clients send more than we store); a value
 * that does not fit its type throws ModelSyntaxError.
 */
export function fromElements<T extends ModelObject = ModelObject>(
  schema: ObjectSchema,
  elements: readonly WbxmlElement[] | undefined,
  options: StreamOptions = {},
): T {
  const object: ModelObject = {};
  for (const element of elements ?? []) {
    for (const spec of schema.fields) {
      if (!inVersion(spec, options.version)) continue;
      if (spec.repeated && spec.container) {
        if (element.ns !== spec.container.ns || element.name !== spec.container.tag) continue;
        const values = (element.children ?? [])
          .filter((c) => c.ns === spec.ns && c.name === spec.tag)
          .map((c) => readValue(schema, spec, c, options));
        object[spec.field] = values;
        break;
      }
      if (element.ns !== spec.ns || element.name !== spec.tag) continue;
      const value = readValue(schema, spec, element, options);
      if (spec.repeated) (object[spec.field] ??= []).push(value);
      else object[spec.field] = value;
      break;
    }
  }
  return object as T;
}

/** Formats a date as EAS writes it: "2026-11-21T10:00:00.000Z" (MS-ASDTYPE 2.3). */
export function formatEasDate(date: Date): string {
  return date.toISOString();
}

/**
 * Parses an EAS date-time: the extended form "2026-11-21T10:00:00.000Z" and
 * the compact form "20261121T100000Z" some 2.5/12.x clients send.
 */
export function parseEasDate(text: string): Date | undefined {
  const compact = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text.trim());
  const iso = compact
    ? `${compact[1]}-${compact[2]}-${compact[3]}T${compact[4]}:${compact[5]}:${compact[6]}Z`
    : text.trim();
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})$/.test(iso)) return undefined;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function inVersion(spec: FieldSpec, version: string | undefined): boolean {
  if (version === undefined) return true;
  if (spec.minVersion && !atLeast(version, spec.minVersion)) return false;
  if (spec.maxVersion && !atLeast(spec.maxVersion, version)) return false;
  return true;
}

function valueElement(spec: FieldSpec, value: unknown, options: StreamOptions): WbxmlElement | undefined {
  const base = { ns: spec.ns, name: spec.tag };
  switch (spec.type) {
    case "string":
      if (value instanceof Uint8Array) return { ...base, opaque: value };
      return { ...base, text: String(value) };
    case "int":
      return { ...base, text: String(Math.trunc(Number(value))) };
    case "bool":
      return { ...base, text: value ? "1" : "0" };
    case "date":
      return {
        ...base,
        text: formatEasDate(value instanceof Date ? value : new Date(value as string | number)),
      };
    case "opaque":
      return {
        ...base,
        opaque: value instanceof Uint8Array ? value : new TextEncoder().encode(String(value)),
      };
    case "empty":
      return value ? base : undefined;
    case "nested": {
      if (!spec.schema) throw new TypeError(`Field '${spec.field}' is nested but has no schema`);
      const children = toElements(spec.schema, value as ModelObject, options);
      return children.length ? { ...base, children } : base;
    }
  }
}

function readValue(
  schema: ObjectSchema,
  spec: FieldSpec,
  element: WbxmlElement,
  options: StreamOptions,
): unknown {
  const where = `${schema.name}.${spec.field}`;
  const text = () => element.text ?? (element.opaque ? new TextDecoder().decode(element.opaque) : "");
  switch (spec.type) {
    case "string":
      return text();
    case "int": {
      const t = text().trim();
      if (!/^-?\d+$/.test(t)) {
        throw new ModelSyntaxError(`Value '${t}' of '${where}' is not an integer`, where);
      }
      return Number(t);
    }
    case "bool": {
      const t = text().trim().toLowerCase();
      if (t === "1" || t === "true") return true;
      if (t === "0" || t === "false") return false;
      throw new ModelSyntaxError(`Value '${t}' of '${where}' is not a boolean`, where);
    }
    case "date": {
      const t = text();
      const date = parseEasDate(t);
      if (!date) throw new ModelSyntaxError(`Value '${t}' of '${where}' is not a date`, where);
      return date;
    }
    case "opaque":
      return element.opaque ?? new TextEncoder().encode(element.text ?? "");
    case "empty":
      return true;
    case "nested":
      if (!spec.schema) throw new TypeError(`Field '${spec.field}' is nested but has no schema`);
      return fromElements(spec.schema, element.children, options);
  }
}
