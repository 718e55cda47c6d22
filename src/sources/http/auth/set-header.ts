/**
 * Sets a header on a plain header record, first removing any spelling of the same name in another
 * case, so a static `authorization` header from config cannot travel next to ours.
 */
export function setHeader(headers: Record<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) delete headers[key];
  }
  headers[name] = value;
}
