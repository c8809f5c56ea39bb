import { dirname, join } from 'node:path';
import { QuireError } from '../errors.js';
import { containerFormat } from '../io/container.js';
import { isDirectory, isFile, readRegularFile } from '../io/fs.js';
import type { LanguageModel } from '../model.js';
import type { BackendOption } from '../options.js';
import { CHECKPOINT_FILE, MODEL_FILE, loadModel, type LoadedModel, type ModelText, textMetadata, textOf } from '../train/checkpoint.js';
import { learningRate, type TrainConfig } from '../train/presets.js';
import { CompressedModel } from './compressed-model.js';

export { containerFormat } from '../io/container.js';

/** The compressed model written at the end of `quire compress`. */
export const COMPRESSED_FILE = 'model.qcomp';

/** `path`, or inside a run directory its model file (FP model, checkpoint, then compressed model). */
export function resolveModelPath(path: string): string {
  if (isDirectory(path)) {
    return [MODEL_FILE, CHECKPOINT_FILE, COMPRESSED_FILE].map((f) => join(path, f)).find((f) => isFile(f)) ?? join(path, MODEL_FILE);
  }
  return path;
}

/**
 * Reads a model file (or a run directory's model file): `E_IO` naming the path when it is
 * missing, not a regular file, or unreadable.
 */
export function readModelFile(path: string): { file: string; bytes: Uint8Array } {
  const file = resolveModelPath(path);
  return { file, bytes: readRegularFile(file, 'model file') };
}

/**
 * Loads any model file for evaluation: a full-precision model or checkpoint, or a compressed
 * model (dequantized: its matrices hold `Q(W)`). Missing file `E_IO`, corrupt `E_FORMAT`.
 */
export function loadAnyModel(path: string, options: BackendOption = {}): LoadedModel {
  const { file, bytes } = readModelFile(path);
  if (containerFormat(bytes) !== 'quire-compressed') return loadModel(file, options, bytes);
  const compressed = CompressedModel.fromBytes(bytes, options);
  try {
    const text = textOf(compressed.metadata, compressed.config.vocab, file);
    return { model: compressed.toModel(), ...text };
  } finally {
    compressed.dispose();
  }
}

/** A full-precision starting point of `quire compress`. */
export interface FpSource extends LoadedModel {
  file: string;
  /** The training run's settings, when the file or its run directory records them. */
  trainConfig?: TrainConfig;
  /** The learning rate of the run's last epoch, when known. */
  finalLr?: number;
  /** Bytes of the model saved as a plain `quire-model` file (the reference of the compression ratio). */
  fpModelBytes: number;
}

/**
 * Loads the FP model to compress. Anything that is not a full-precision quire model or
 * checkpoint (a compressed model, another file) is `E_FORMAT` saying so. The training settings
 * come from the file (checkpoints) or from `checkpoint.qckpt` next to it (final models).
 */
export function loadFpModel(path: string, options: BackendOption = {}): FpSource {
  const { file, bytes } = readModelFile(path);
  const format = containerFormat(bytes);
  if (format !== 'quire-model' && format !== 'quire-checkpoint') {
    throw new QuireError(
      'E_FORMAT',
      `${file} is not a full-precision quire model or checkpoint (${format ? `format '${format}'` : 'not a quire container'}); ` +
        `compress starts from the output of 'quire train'`,
    );
  }
  const loaded = loadModel(file, options, bytes);
  let training = loaded.training;
  const sibling = join(dirname(file), CHECKPOINT_FILE);
  if (!training && sibling !== file && isFile(sibling)) {
    const ckpt = loadModel(sibling, options);
    training = ckpt.training;
    ckpt.model.dispose();
  }
  const finalLr = training ? (training.history.at(-1)?.lr ?? learningRate(training.config, training.config.epochs)) : undefined;
  return { ...loaded, file, trainConfig: training?.config, finalLr, fpModelBytes: fpBytes(loaded.model, loaded) };
}

function fpBytes(model: LanguageModel, text: ModelText): number {
  return model.toBytes('quire-model', { ...textMetadata(text), created_by: 'quire' }, false).length;
}
