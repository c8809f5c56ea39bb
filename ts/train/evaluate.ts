import { Batcher } from '../data/batcher.js';
import { QuireError } from '../errors.js';
import type { TokenSource } from '../data/token-source.js';
import type { LanguageModel } from '../model.js';

export interface Evaluation {
  /** Perplexity per word: `exp(total NLL / words)`, which equals the per-token one unless tokens are subword pieces. */
  perplexity: number;
  /** Perplexity per token, `exp(loss)`. */
  tokenPerplexity: number;
  /** Mean cross-entropy, nats per token. */
  loss: number;
  /** Tokens predicted. */
  tokens: number;
}

/**
 * Perplexity of `model` on `ids`, per word (`tokensPerWord`: the split's tokens over its words,
 * 1 for word tokenizers; subword models and word models then compare on one scale) and per token
 * `exp(mean CE)`, without dropout, with `batch` contiguous
 * streams and windows of `steps` (state carried across windows, zeroed at the start; the last
 * window may be shorter so every usable token counts). Leaves the model's state reset to `batch`.
 * A window whose loss is not finite (a diverged model) ends it with perplexity NaN.
 */
export function evaluatePerplexity(
  model: Pick<LanguageModel, 'resetState' | 'evaluate'>,
  ids: Uint32Array | TokenSource,
  batch: number,
  steps: number,
  tokensPerWord = 1,
): Evaluation {
  const batcher = new Batcher(ids, batch, steps, true);
  model.resetState(batch);
  let sum = 0;
  let tokens = 0;
  for (let i = 0; i < batcher.windows; i++) {
    const w = batcher.window(i);
    const n = w.inputs.length;
    try {
      sum += model.evaluate(w.inputs, w.targets) * n;
    } catch (err) {
      // A diverged model: its perplexity is not finite, which callers report with what they keep.
      if (err instanceof QuireError && err.code === 'E_NONFINITE')
        return { perplexity: Number.NaN, tokenPerplexity: Number.NaN, loss: Number.NaN, tokens: tokens + n };
      throw err;
    }
    tokens += n;
  }
  const loss = sum / tokens;
  return { perplexity: Math.exp(loss * tokensPerWord), tokenPerplexity: Math.exp(loss), loss, tokens };
}
