/** MS-ASWBXML 2.1.2.1.7 Code Page 6: GetItemEstimate. Tag name to token, names as the spec spells them. */
export const GET_ITEM_ESTIMATE = {
  page: 6,
  namespace: "GetItemEstimate",
  tokens: {
    GetItemEstimate: 0x05,
    Version: 0x06,
    Collections: 0x07,
    Collection: 0x08,
    Class: 0x09,
    CollectionId: 0x0A,
    DateTime: 0x0B,
    Estimate: 0x0C,
    Response: 0x0D,
    Status: 0x0E,
  },
} as const;
