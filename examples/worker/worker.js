// A browser Web Worker running quire off the main thread: it receives a model's bytes, answers
// with a greedy continuation ({ words, logits }) or an error ({ error: { code, message } }).
import * as quire from '../../dist/web/quire.js';
import { greedy } from '../edge/greedy.js';

self.onmessage = async ({ data }) => {
  try {
    await quire.init();
    self.postMessage(greedy(quire, new Uint8Array(data.model), { tokens: data.tokens }));
  } catch (err) {
    self.postMessage({ error: { code: err.code, message: err.message } });
  }
};
