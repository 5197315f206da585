/** MS-ASWBXML 2.1.2.1.20 Code Page 19: DocumentLibrary. Tag name to token, names as the spec spells them. */
export const DOCUMENT_LIBRARY = {
  page: 19,
  namespace: "DocumentLibrary",
  tokens: {
    LinkId: 0x05,
    DisplayName: 0x06,
    IsFolder: 0x07,
    CreationDate: 0x08,
    LastModifiedDate: 0x09,
    IsHidden: 0x0A,
    ContentLength: 0x0B,
    ContentType: 0x0C,
  },
} as const;
