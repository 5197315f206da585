/** MS-ASWBXML 2.1.2.1.17 Code Page 16: GAL. Tag name to token, names as the spec spells them. */
export const GAL = {
  page: 16,
  namespace: "GAL",
  tokens: {
    DisplayName: 0x05,
    Phone: 0x06,
    Office: 0x07,
    Title: 0x08,
    Company: 0x09,
    Alias: 0x0A,
    FirstName: 0x0B,
    LastName: 0x0C,
    HomePhone: 0x0D,
    MobilePhone: 0x0E,
    EmailAddress: 0x0F,
    Picture: 0x10,
    Status: 0x11,
    Data: 0x12,
  },
} as const;
