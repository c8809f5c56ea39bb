/**
 * Characters a terminal acts on instead of showing: C0 controls (newline and tab included), DEL,
 * C1 controls (U+0080-U+009F, e.g. U+009B, a one-character CSI), and the bidi embeddings,
 * overrides (U+202A-U+202E) and isolates (U+2066-U+2069), which reorder what follows them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` safe to print to a terminal: every character in `UNSAFE` becomes a visible escape
 * (`\x1b` for C0, `\u007f`, `\u009b`, `\u202e` from DEL up), everything else is kept. The CLI
 * prints every string that comes from a model file (vocabulary words) or from the user (prompt
 * words, values named in error messages) through it, so a model cannot retitle or clear the
 * terminal. JSON.stringify already escapes C0, so `printable(JSON.stringify(v))` is still JSON
 * for the same value.
 */
export function printable(text: string): string {
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** `printable` line by line: the line breaks of a message or help text are kept. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
