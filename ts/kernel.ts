/**
 * Kernel of the packed products `Ŵ·x`: one vocabulary for `matmul`/`matvec` and the inference
 * engine (the core parses these names in one place).
 *
 * - `lut-i8`: 16-entry tables of signed partial sums rounded to int8, looked up by byte shuffles
 *   (16, 32 or 64 lookups per shuffle with the 128-, 256- or 512-bit kernel sets) and summed in
 *   integers: the fast default.
 * - `lut-f32`: exact f32 tables interleaved over blocks of vectors: equal to the dequantized
 *   product up to rounding, each vector bit-identical whatever the batch, threads or ISA.
 * - `popcount-a<k>`: the activations binarized into k = 1..8 greedy binary codes per product,
 *   XNOR + popcount (Xu et al.'s W+A setting, which changes the results; see docs/benchmarks.md
 *   for where it pays).
 * - `popcount`: the popcount kernel with its activation bits given apart: `matmul`'s
 *   `activationBits` (default 2), or for inference the bits the model file records (`E_CONFIG`
 *   when it records none).
 * - `auto` (the default): for `matmul`, `lut-i8`; for inference, `popcount-a<k>` for a model
 *   retrained with k-bit activations (its file records `activation_bits`), else `lut-i8`.
 */
export type Kernel = 'auto' | 'lut-i8' | 'lut-f32' | 'popcount' | `popcount-a${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8}`;

/** Every name {@link Kernel} allows, for CLI choices. */
export const KERNELS: readonly Kernel[] = [
  'auto',
  'lut-i8',
  'lut-f32',
  'popcount',
  ...([1, 2, 3, 4, 5, 6, 7, 8] as const).map((k) => `popcount-a${k}` as const),
];
