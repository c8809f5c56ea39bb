import { type Command, Option } from 'commander';
import type { BackendChoice } from '../backend/types.js';
import { loadAnyModel } from '../compress/load.js';
import { writeFileAtomic } from '../io/atomic.js';
import { exportOnnx } from '../onnx.js';
import { UsageError } from './usage.js';
import { writeOut } from './stdout.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a model (FP, or a compressed model dequantized) to ONNX: Gather + LSTM (gates i,o,f,c) + MatMul')
    .argument('<model>', 'model.qmodel / checkpoint.qckpt / model.qcomp file, or a run directory')
    .requiredOption('--onnx <file>', 'ONNX file to write')
    .addOption(new Option('--backend <name>', 'backend').choices(['auto', 'native', 'wasm']))
    .action((file: string, f: { onnx: string; backend?: BackendChoice }) => {
      if (!f.onnx.endsWith('.onnx')) throw new UsageError(`--onnx must name a .onnx file (got '${f.onnx}')`);
      const { model } = loadAnyModel(file, { backend: f.backend });
      try {
        const bytes = exportOnnx(model);
        writeFileAtomic(f.onnx, bytes);
        writeOut(`wrote ${f.onnx} (${bytes.length} bytes, opset 17)\n`);
      } finally {
        model.dispose();
      }
    });
}
