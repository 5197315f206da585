import type { BackendFolder, Credentials, FolderSource } from "../../backend/types.ts";
import type { ImapConnectionPool } from "./connection_pool.ts";
import { IMAP_PREFIX, mapImapFolders } from "./folder_mapping.ts";

/** The user's IMAP mailboxes as EAS mail folders. */
export class ImapFolderSource implements FolderSource {
  readonly prefix = IMAP_PREFIX;

  constructor(private readonly pool: ImapConnectionPool, private readonly credentials: Credentials) {}

  /** Lists mailboxes (with SPECIAL-USE attributes where offered) and maps them. */
  async listFolders(): Promise<BackendFolder[]> {
    const mailboxes = await this.pool.withClient(this.credentials, (client) => client.list());
    return mapImapFolders(mailboxes);
  }
}
