import { readModelFile } from './compress/load.js';
import { InferenceEngine, type InferenceOptions } from './infer.js';
import { type ModelText, textOf } from './train/checkpoint.js';

export interface LoadedEngine extends ModelText {
  engine: InferenceEngine;
  /** The file read. */
  file: string;
  /** Its size in bytes. */
  fileBytes: number;
}

/**
 * Loads a model file (compressed, FP model or checkpoint; a run directory picks its model file)
 * into an inference engine with its vocabulary and tokenizer. Missing file `E_IO`, corrupt `E_FORMAT`.
 */
export function loadEngine(path: string, options: InferenceOptions = {}): LoadedEngine {
  const { file, bytes } = readModelFile(path);
  const engine = InferenceEngine.fromBytes(bytes, options);
  try {
    return { engine, ...textOf(engine.metadata, engine.config.vocab, file), file, fileBytes: bytes.length };
  } catch (err) {
    engine.dispose();
    throw err;
  }
}
