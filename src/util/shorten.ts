// Bounds text that may quote a caller's input (an oversized id, a long
// command) before it goes into a reply's trailers or a log line.

/** text itself if it fits in max characters, else its start and how much was cut. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… (${text.length - max} more characters)`;
}
