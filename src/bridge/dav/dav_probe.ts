/**
 * The state probe Direct Push polls DAV folders with (push/polling_watcher.ts
 * calls it per watched key and interval): one PROPFIND Depth 0 of the
 * collection's sync-token (RFC 6578 4) and getctag (CalendarServer ctag,
 * for servers without sync-collection), with the user's own credentials.
 * The Calendar and Tasks folders of one collection share a probe: a round
 * asks the server once per collection, whatever the number of folders,
 * devices and held Pings on it.
 */
import type { StateProbe, WatchCredentials } from "../../push/mod.ts";
import { NS } from "./_xml.ts";
import { DavClient, propKey } from "./dav_client.ts";
import { parseDavKey } from "./dav_backend.ts";

/** Options of {@link davStateProbe}. */
export interface DavProbeOptions {
  url: URL;
  caCerts?: string[];
  /**
   * How long one collection's answer serves the other folders of the same
   * collection (ms): a round probes the keys one after another, well within it.
   */
  shareMs?: number;
  /** Counts the PROPFINDs sent (benchmarks, status page). */
  onRequest?: (collection: string) => void;
}

/** Default of {@link DavProbeOptions.shareMs}: shorter than any poll interval, longer than one round. */
export const PROBE_SHARE_MS = 1000;

/** A {@link StateProbe} for "dav:" keys; the token is "sync-token|ctag", as the folder's Sync cursor. */
export function davStateProbe(options: DavProbeOptions): StateProbe {
  const clients = new Map<string, { password: string; client: DavClient }>();
  const answers = new Map<string, { at: number; token: Promise<string> }>();
  const shareMs = options.shareMs ?? PROBE_SHARE_MS;
  const clientOf = (credentials: WatchCredentials): DavClient => {
    const known = clients.get(credentials.user);
    if (known && known.password === credentials.password) return known.client;
    const client = new DavClient({
      url: options.url,
      credentials,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    });
    clients.set(credentials.user, { password: credentials.password, client });
    return client;
  };
  return (credentials, key) => {
    const parsed = parseDavKey(key);
    if (!parsed) return Promise.reject(new Error(`Key '${key}' is not a DAV folder key`));
    const shareKey = `${credentials.user}\u0000${parsed.href}`;
    const now = Date.now();
    const shared = answers.get(shareKey);
    if (shared && now - shared.at < shareMs) return shared.token;
    for (const [k, v] of answers) if (now - v.at >= shareMs) answers.delete(k);
    options.onRequest?.(parsed.href);
    const token = clientOf(credentials)
      .propfind(parsed.href, [[NS.DAV, "sync-token"], [NS.CS, "getctag"]], 0)
      .then(([r]) => {
        if (!r || r.status >= 300) throw new Error(`Collection '${parsed.href}' is not readable`);
        const sync = r.props.get(propKey(NS.DAV, "sync-token"))?.text.trim() ?? "";
        const ctag = r.props.get(propKey(NS.CS, "getctag"))?.text.trim() ?? "";
        return `${sync}|${ctag}`;
      });
    answers.set(shareKey, { at: now, token });
    // A failed answer is not shared: the next key or round asks again.
    token.catch(() => answers.delete(shareKey));
    return token;
  };
}
