/**
 * Free text from signals, safe to show. No imports, so both CLIs can load it (`@catalyst-signal/shared/text`)
 * without the wire contract.
 *
 * Characters a publisher's free text may not carry, because a person reading it would be misled:
 *  - C0 controls, DEL and C1 controls (U+0000–U+001F, U+007F–U+009F): ESC starts terminal escape sequences, NUL
 *    and CR/LF rewrite or split a line;
 *  - bidi marks, embeddings, overrides and isolates (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069): an RTL
 *    override shows "Buy exe.png" for "Buy gnp.exe";
 *  - invisible separators and joiners that hide text (U+200B, U+2060–U+2064, U+FEFF) and the line/paragraph
 *    separators (U+2028, U+2029).
 * ZWJ/ZWNJ (U+200C, U+200D) stay allowed: emoji sequences and several scripts need them.
 */
export const UNSAFE_TEXT_RE =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/u;
const UNSAFE_TEXT_ALL = new RegExp(UNSAFE_TEXT_RE.source, 'gu');

export const UNSAFE_TEXT_MESSAGE = 'control, bidi or invisible characters are not allowed';

/**
 * Text from a signal made safe to show, in a page or on a terminal: every character of UNSAFE_TEXT_RE becomes
 * a visible escape (`\u001b`, `\u202e`), so it can neither move the cursor, colour or clear a terminal, reorder
 * what is shown, nor hide. Signals stored before ingest refused these characters still carry them (and their
 * signatures cover them), so every display goes through here rather than trusting ingest alone.
 */
export function inertText(s: string): string {
  if (!UNSAFE_TEXT_RE.test(s)) return s;
  // Every unsafe character is in the BMP, so `\uXXXX` spells each one; inside a JSON string that is the same
  // character again, so JSON output stays JSON after terminalText.
  return s.replace(UNSAFE_TEXT_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * THE sanitiser for terminal output (client and server CLIs): inertText on each line, so line breaks the
 * program itself writes stay line breaks while everything else (ESC, CR, bidi) is shown escaped.
 */
export function terminalText(s: string): string {
  return s.split('\n').map(inertText).join('\n');
}
