// The portable part of every edge example: load a compressed model's bytes, continue a prompt
// greedily (temperature 0) for `tokens` words, and return the words with the logits of the
// last step. It uses only the `quire/web` facade passed in, so the same code runs in Deno, Bun,
// Cloudflare's workerd, a browser Web Worker and Node (the test compares their logits bit for bit).

/**
 * @param {typeof import('../../dist/web/quire.js')} quire  the `quire/web` module, after `await quire.init(...)`
 * @param {Uint8Array} modelBytes  a `model.qcomp` (or FP model) file
 * @param {{ prompt?: string, tokens?: number }} [options]
 */
export function greedy(quire, modelBytes, { prompt = 'the meaning of', tokens = 8 } = {}) {
  const engine = quire.InferenceEngine.fromBytes(modelBytes);
  try {
    const vocabulary = quire.Vocabulary.fromMetadata(engine.metadata, engine.config.vocab);
    const words = [...quire.generateWords(engine, vocabulary, { prompt, tokens, temperature: 0 })];
    // generateWords feeds every word but the last back; feed it too, for the next-word logits.
    const logits = engine.step(vocabulary.encode(words.slice(-1)));
    return { words, logits: Array.from(logits) };
  } finally {
    engine.dispose();
  }
}
