import fc from "fast-check";

/** One edit of a text: replace, insert, delete, duplicate or cut. */
export interface TextEdit {
  kind: "set" | "insert" | "delete" | "repeat" | "truncate";
  at: number;
  text: string;
  count: number;
}

/** Edits biased towards the characters that structure line- and tag-based formats. */
export const textEdits = fc.array(
  fc.record({
    kind: fc.constantFrom("set", "insert", "delete", "repeat", "truncate"),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 6 }),
      fc.constantFrom(
        ":",
        ";",
        "=",
        '"',
        ",",
        "\r\n",
        "\n ",
        "\\",
        "<",
        ">",
        "&",
        "&#x0;",
        "BEGIN:",
        "END:",
        "\u00ff",
        "\ud800",
      ),
    ),
    count: fc.integer({ min: 1, max: 40 }),
  }),
  { minLength: 1, maxLength: 5 },
) as fc.Arbitrary<TextEdit[]>;

/** Applies edits to a seed text. */
export function mutateText(seed: string, edits: readonly TextEdit[]): string {
  let out = seed;
  for (const e of edits) {
    const at = e.at % (out.length + 1);
    if (e.kind === "set") out = out.slice(0, at) + e.text + out.slice(at + 1);
    else if (e.kind === "insert") out = out.slice(0, at) + e.text + out.slice(at);
    else if (e.kind === "delete") out = out.slice(0, at) + out.slice(at + e.count);
    else if (e.kind === "repeat") {
      out = out.slice(0, at) + out.slice(at, at + e.count).repeat(3) + out.slice(at);
    } else out = out.slice(0, at);
  }
  return out;
}
