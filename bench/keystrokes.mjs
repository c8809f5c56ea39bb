// The keystroke loop of `npm run bench -- suggest`, one file for both places it runs: Node imports
// it (bench/suggest.ts), and the Chromium page of that bench loads it as a module (plain JS, so the
// browser runs exactly this code).

/**
 * Types the first `chars` characters of `passage` one by one into `session` (a `Predictor`
 * session, of quire or of `quire/web`): each keystroke is `feed(text so far)` plus
 * `complete(prefix, 3)` inside a word or `next(3)` after it, as the keyboard page does.
 * @param {{ feed(text: string): void, prefix: string, complete(prefix: string, k: number): unknown, next(k: number): unknown }} session
 * @param {string} passage
 * @param {number} chars
 * @returns {number[]} the milliseconds of each keystroke (`performance.now()`)
 */
export function keystrokeTimes(session, passage, chars) {
  const times = [];
  for (let i = 1; i <= chars; i++) {
    const text = passage.slice(0, i);
    const t0 = performance.now();
    session.feed(text);
    if (session.prefix) session.complete(session.prefix, 3);
    else session.next(3);
    times.push(performance.now() - t0);
  }
  return times;
}

/**
 * 50 warm-up keystrokes, then `rounds` passes of {@link keystrokeTimes}, each on a new session of
 * `predictor`.
 * @param {{ session(): Parameters<typeof keystrokeTimes>[0] }} predictor
 * @param {string} passage
 * @param {number} chars
 * @param {number} rounds
 * @returns {number[][]} the keystroke times of each pass
 */
export function keystrokeRounds(predictor, passage, chars, rounds) {
  keystrokeTimes(predictor.session(), passage, 50);
  return Array.from({ length: rounds }, () => keystrokeTimes(predictor.session(), passage, chars));
}
