/** MS-ASWBXML 2.1.2.1.24 Code Page 23: Notes. Tag name to token, names as the spec spells them. */
export const NOTES = {
  page: 23,
  namespace: "Notes",
  tokens: {
    Subject: 0x05,
    MessageClass: 0x06,
    LastModifiedDate: 0x07,
    Categories: 0x08,
    Category: 0x09,
  },
} as const;
