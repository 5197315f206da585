/** MS-ASWBXML 2.1.2.1.14 Code Page 13: Ping. Tag name to token, names as the spec spells them. */
export const PING = {
  page: 13,
  namespace: "Ping",
  tokens: {
    Ping: 0x05,
    AutdState: 0x06,
    Status: 0x07,
    HeartbeatInterval: 0x08,
    Folders: 0x09,
    Folder: 0x0A,
    Id: 0x0B,
    Class: 0x0C,
    MaxFolders: 0x0D,
  },
} as const;
