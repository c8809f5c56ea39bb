import { basename, dirname, join } from 'node:path';
import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { containerFormat, loadAnyModel, readModelFile } from '../compress/load.js';
import { writeFileAtomic } from '../io/atomic.js';
import { exportOnnx } from '../onnx.js';
import { compressedCodes, exportStateDict } from '../pytorch.js';
import { UsageError } from './usage.js';
import { writeOut } from './stdout.js';

type Format = 'onnx' | 'safetensors';

interface ExportFlags {
  onnx?: string;
  format?: Format;
  output?: string;
  codes?: boolean;
  backend?: BackendChoice;
}

/** `FILE.safetensors` → `FILE` (the stem the vocabulary and tokenizer files are named after). */
export function stemOf(file: string, ext: string): string {
  return file.endsWith(ext) ? file.slice(0, -ext.length) : file;
}

/** The output file: `--output`, `--onnx`, else the model file (or run directory's `model`) with the format's extension. */
function outputOf(model: string, f: ExportFlags, format: Format): string {
  if (f.output) return f.output;
  if (f.onnx) return f.onnx;
  const { file } = readModelFile(model);
  return join(dirname(file), `${basename(file).replace(/\.[^.]*$/, '')}.${format}`);
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(
      'export a model (FP, or a compressed model dequantized) to ONNX (Gather + LSTM, gates i,o,f,c + MatMul) or to a ' +
        "PyTorch state dict (safetensors, the layout of PyTorch's word_language_model) with its vocabulary next to it",
    )
    .argument('<model>', 'model.qmodel / checkpoint.qckpt / model.qcomp file, or a run directory')
    .addOption(new Option('--format <format>', 'what to write (default: onnx)').choices(['onnx', 'safetensors']))
    .option('-o, --output <file>', 'file to write (default: the model file with the extension .onnx / .safetensors)')
    .option('--onnx <file>', 'ONNX file to write (same as --format onnx --output FILE)')
    .option(
      '--codes',
      'safetensors of a compressed model: add its codes and scales (quire.<name>.codes I8 [k, rows, cols], quire.<name>.scales ' +
        'F32 [rows, groups, k])',
    )
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .action((file: string, f: ExportFlags) => {
      const format: Format = f.format ?? 'onnx';
      if (f.onnx && (format !== 'onnx' || f.output))
        throw new UsageError('--onnx FILE cannot be combined with --format safetensors or --output');
      if (f.codes && format !== 'safetensors') throw new UsageError('--codes needs --format safetensors');
      const out = outputOf(file, f, format);
      if (!out.endsWith(`.${format}`)) throw new UsageError(`the output must name a .${format} file (got '${out}')`);
      const codes = f.codes ? readModelFile(file) : undefined;
      if (codes && containerFormat(codes.bytes) !== 'quire-compressed') {
        throw new UsageError(`--codes needs a compressed model (${codes.file} is not a quire-compressed file)`);
      }
      const { model, vocabulary, tokenizer } = loadAnyModel(file, { backend: f.backend });
      try {
        if (format === 'onnx') {
          const bytes = exportOnnx(model);
          writeFileAtomic(out, bytes);
          writeOut(`wrote ${out} (${bytes.length} bytes, opset 17)\n`);
          return;
        }
        const bytes = exportStateDict(model, codes ? compressedCodes(codes.bytes, codes.file) : undefined);
        const stem = stemOf(out, '.safetensors');
        writeFileAtomic(out, bytes);
        writeFileAtomic(`${stem}.vocab.txt`, vocabulary.words.join('\n'));
        writeFileAtomic(`${stem}.tokenizer.json`, JSON.stringify(tokenizer));
        writeOut(`wrote ${out} (${bytes.length} bytes), ${stem}.vocab.txt (${vocabulary.size} words) and ${stem}.tokenizer.json\n`);
      } finally {
        model.dispose();
      }
    });
}
