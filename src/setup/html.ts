/** Escapes text for HTML element content and attribute values (device-supplied text is hostile). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
