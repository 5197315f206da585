import type { Database } from "./database.ts";

/** The stored admin password hash (PBKDF2-SHA256) with its salt and iteration count. */
export interface AdminCredential {
  /** Base64 of the derived key. */
  hash: string;
  /** Base64 of the per-install random salt. */
  salt: string;
  iterations: number;
  updated: number;
}

/** The setup page's admin password hash; the password itself is never stored. */
export class AdminCredentialRepository {
  constructor(private readonly db: Database) {}

  /** The stored hash, or undefined before the first-boot wizard set one. */
  get(): AdminCredential | undefined {
    return this.db.get<AdminCredential>(
      "SELECT hash, salt, iterations, updated FROM admin_credentials WHERE id = 1",
    );
  }

  /** Replaces the stored hash. */
  set(credential: Omit<AdminCredential, "updated"> & { updated?: number }): void {
    this.db.run(
      `INSERT INTO admin_credentials (id, hash, salt, iterations, updated) VALUES (1, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET hash = excluded.hash, salt = excluded.salt,
         iterations = excluded.iterations, updated = excluded.updated`,
      credential.hash,
      credential.salt,
      credential.iterations,
      credential.updated ?? Date.now(),
    );
  }
}
