import type { Database } from "./database.ts";

/** The settings one scope overrides, as stored text (parsed by eas/provisioning). */
export type StoredPolicyLayer = Record<string, string>;

/** Policy settings per scope ("box", "domain:D", "user:U", "device:U/D"). */
export class PolicyRepository {
  constructor(private readonly db: Database) {}

  /** The overrides of several scopes in one read, keyed by scope (scopes without rows are absent). */
  layers(scopes: readonly string[]): Map<string, StoredPolicyLayer> {
    const result = new Map<string, StoredPolicyLayer>();
    if (scopes.length === 0) return result;
    const rows = this.db.all<{ scope: string; key: string; value: string }>(
      `SELECT scope, key, value FROM policies WHERE scope IN (${scopes.map(() => "?").join(", ")})`,
      ...scopes,
    );
    for (const row of rows) {
      const layer = result.get(row.scope) ?? {};
      layer[row.key] = row.value;
      result.set(row.scope, layer);
    }
    return result;
  }

  /** Sets several keys of one scope in one transaction. */
  set(scope: string, values: Record<string, string>, now = Date.now()): void {
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(values)) {
        this.db.run(
          `INSERT INTO policies (scope, key, value, updated) VALUES (?, ?, ?, ?)
           ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
          scope,
          key,
          value,
          now,
        );
      }
    });
  }

  /** Removes overrides so the scope inherits them again (all of the scope's when `keys` is empty). */
  inherit(scope: string, keys: readonly string[] = []): number {
    if (keys.length === 0) return this.db.run("DELETE FROM policies WHERE scope = ?", scope);
    return this.db.transaction(() =>
      keys.reduce(
        (n, key) => n + this.db.run("DELETE FROM policies WHERE scope = ? AND key = ?", scope, key),
        0,
      )
    );
  }

  /** Every scope that overrides something, sorted. */
  scopes(): string[] {
    return this.db.all<{ scope: string }>("SELECT DISTINCT scope FROM policies ORDER BY scope").map((r) =>
      r.scope
    );
  }
}
