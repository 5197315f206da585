/**
 * Request bodies of the EAS client's look-up subcommands: search (Search
 * GAL or Mailbox), find (Find, 16.1), resolve (ResolveRecipients) and oof
 * (Settings Oof get/set).
 *
 * @module
 */

import { el, textEl, type WbxmlElement } from "../../src/wbxml/mod.ts";

/** Usage lines of the look-up subcommands, for the client's help text. */
export const LOOKUP_USAGE = `  search --query Q [--store gal|mailbox] [--range 0-9] [--pictures N]
                          Search of the GAL (default) or the mailbox
  find --query Q [--store gal|mailbox] [--range 0-9] [--collection C] [--pictures N]
                          Find (16.1) of the GAL (default) or the mailbox
  resolve --to NAME[,NAME] [--certificates] [--availability START,END]
                          ResolveRecipients (START/END as ISO dates)
  oof [--set on|off|scheduled --message TEXT [--start ISO --end ISO]]
                          Settings Oof: get, or set the Out of Office reply`;

/** The commands this module builds. */
export const LOOKUP_COMMANDS = ["search", "find", "resolve", "oof"] as const;

/** The EAS command name and body of a look-up subcommand; throws with a clear message on a missing option. */
export function lookupCommand(command: string, flags: Map<string, string>): [string, WbxmlElement] {
  const need = (name: string): string => {
    const value = flags.get(name);
    if (value === undefined || value === "true") {
      throw new Error(`Option '--${name}' is required for ${command}`);
    }
    return value;
  };
  const store = (flags.get("store") ?? "gal").toLowerCase();
  if (store !== "gal" && store !== "mailbox") {
    throw new Error(`Option '--store' must be gal or mailbox, got '${store}'`);
  }
  const pictures = flags.get("pictures");
  switch (command) {
    case "search": {
      const S = "Search";
      const query = store === "gal" ? textEl(S, "Query", need("query")) : el(
        S,
        "Query",
        el(S, "And", textEl("AirSync", "Class", "Email"), textEl(S, "FreeText", need("query"))),
      );
      return [
        "Search",
        el(
          S,
          "Search",
          el(
            S,
            "Store",
            textEl(S, "Name", store === "gal" ? "GAL" : "Mailbox"),
            query,
            el(
              S,
              "Options",
              textEl(S, "Range", flags.get("range") ?? "0-9"),
              store === "mailbox" ? el(S, "DeepTraversal") : undefined,
              pictures ? el(S, "Picture", textEl(S, "MaxPictures", pictures)) : undefined,
            ),
          ),
        ),
      ];
    }
    case "find": {
      const F = "Find";
      const collection = flags.get("collection");
      const criterion = store === "gal"
        ? el(
          F,
          "GalSearchCriterion",
          el(F, "Query", textEl(F, "FreeText", need("query"))),
          el(
            F,
            "Options",
            textEl(F, "Range", flags.get("range") ?? "0-9"),
            pictures ? el(F, "Picture", textEl(F, "MaxPictures", pictures)) : undefined,
          ),
        )
        : el(
          F,
          "MailBoxSearchCriterion",
          el(
            F,
            "Query",
            textEl("AirSync", "Class", "Email"),
            collection ? textEl("AirSync", "CollectionId", collection) : undefined,
            textEl(F, "FreeText", need("query")),
          ),
          el(F, "Options", textEl(F, "Range", flags.get("range") ?? "0-9"), el(F, "DeepTraversal")),
        );
      return [
        "Find",
        el(F, "Find", textEl(F, "SearchId", crypto.randomUUID()), el(F, "ExecuteSearch", criterion)),
      ];
    }
    case "resolve": {
      const R = "ResolveRecipients";
      const availability = flags.get("availability");
      let window: WbxmlElement | undefined;
      if (availability) {
        const [start, end] = availability.split(",").map((d) => new Date(d));
        if (!start || !end || isNaN(start.getTime()) || isNaN(end.getTime())) {
          throw new Error(`Option '--availability' must be START,END as ISO dates, got '${availability}'`);
        }
        window = el(
          R,
          "Availability",
          textEl(R, "StartTime", start.toISOString()),
          textEl(R, "EndTime", end.toISOString()),
        );
      }
      return [
        "ResolveRecipients",
        el(
          R,
          "ResolveRecipients",
          ...need("to").split(",").map((to) => textEl(R, "To", to.trim())),
          el(
            R,
            "Options",
            flags.has("certificates") ? textEl(R, "CertificateRetrieval", 2) : undefined,
            window,
          ),
        ),
      ];
    }
    case "oof": {
      const T = "Settings";
      const set = flags.get("set");
      if (!set) {
        return ["Settings", el(T, "Settings", el(T, "Oof", el(T, "Get", textEl(T, "BodyType", "Text"))))];
      }
      const state = { off: 0, on: 1, scheduled: 2 }[set];
      if (state === undefined) throw new Error(`Option '--set' must be on, off or scheduled, got '${set}'`);
      const message = flags.get("message");
      return [
        "Settings",
        el(
          T,
          "Settings",
          el(
            T,
            "Oof",
            el(
              T,
              "Set",
              textEl(T, "OofState", state),
              state === 2 ? textEl(T, "StartTime", new Date(need("start")).toISOString()) : undefined,
              state === 2 ? textEl(T, "EndTime", new Date(need("end")).toISOString()) : undefined,
              ...(["AppliesToInternal", "AppliesToExternalKnown", "AppliesToExternalUnknown"] as const).map((
                to,
              ) =>
                el(
                  T,
                  "OofMessage",
                  el(T, to),
                  textEl(T, "Enabled", message ? 1 : 0),
                  message ? textEl(T, "ReplyMessage", message) : undefined,
                  message ? textEl(T, "BodyType", "Text") : undefined,
                )
              ),
            ),
          ),
        ),
      ];
    }
    default:
      throw new Error(`Unknown look-up command '${command}'`);
  }
}
