//! [`Engine`]: runs an LSTM language model token by token for `B` streams. Quantized matrices
//! (LSTM, softmax, embedding) stay packed and go through the LUT kernels; the others use the
//! f32 dot-product GEMM kernel. Everything a step touches is allocated by [`Engine::reset`] or,
//! for the kernels' lazily sized buffers (stream tables, activation planes), by the first step:
//! later [`Engine::step`]s allocate nothing on the calling thread (tested for every kernel); its
//! products split their rows across the worker pool (`crate::threads`).
//!
//! One step, per stream `b` with token `x_b`: `h⁰ = E[x_b]`; for each layer `l`:
//! `z = W_ih·h^{l} + W_hh·h_{t−1}^{l+1} + bias` (gate order i, f, g, o), the cell of
//! [`crate::lstm`] computed by `cell.rs` with an exp that is the same code on every ISA (so a
//! step's outputs do not depend on the kernel set, see there); then `logits = W_s·h^{L} + b_s`,
//! where a tied model's `W_s` is its embedding `E` (one matrix, packed once when quantized).
//! With an adaptive softmax (`lstm::adaptive`) the step's "logits" are the exact log-probabilities
//! `log p(w)` over all V tokens (head log-softmax plus each tail's log-softmax): softmax, sampling,
//! top-k and cross-entropy read them as they read logits.
//!
//! Head first: [`Engine::feed`] and [`Engine::output_of_state`] compute only the head of an
//! adaptive output layer (shortlist and one log-probability per cluster); a tail cluster is
//! computed (for every stream, by the same products as the full step, so its values are the
//! same bits) when a reader needs it. Every word of cluster `i` has `log p(w) ≤ log p(cluster i)`
//! (a tail's log-softmax is `≤ 0`: its largest entry's `exp` is exactly 1), so
//! [`Engine::candidates`] / [`Engine::top_k`] skip a cluster whose head entry is below the k-th
//! best found so far and still return what the full distribution gives; [`Engine::sample`] draws
//! a cluster from the head and computes that cluster's tail only (see there).
//! This is the model's evaluation forward pass (no dropout), one time step at a time.

use super::cell;
use super::sample::{by_logit, pick, Sampler};
use super::weights::{Weight, BATCHED_MIN};
use crate::bcq::lut::LutScratch;
use crate::bcq::Kernel;
use crate::compress::CompressedModel;
use crate::error::{check_len, Error, Result};
use crate::format::read;
use crate::kernels::exp::exp_shift_sum;
use crate::kernels::{self, KernelSet};
use crate::lstm::adaptive::{Adaptive, Tail};
use crate::lstm::softmax::{cross_entropy, finite_loss};
use crate::lstm::{tensor_layout, LstmConfig, LstmModel};
use crate::threads::{parallel_ranges, Rows};
use std::collections::BTreeMap;

/// The kernel named `name`: `auto`, the kernel a model was compressed for (`popcount-a<k>` when its
/// metadata records `k` activation bits ([`crate::compress::activation_bits`]; retrained with
/// quantized activations), else `lut-i8`); `popcount`, the popcount kernel with those recorded
/// bits (`E_CONFIG` when there are none); any other name as [`Kernel::parse`] reads it.
/// `E_FORMAT` when the recorded bits are not 1..=8.
pub fn kernel_for(name: &str, metadata: &BTreeMap<String, String>) -> Result<Kernel> {
    match name {
        "auto" => Ok(match crate::compress::activation_bits(metadata)? {
            Some(k) => Kernel::popcount(k)?,
            None => Kernel::LutI8,
        }),
        "popcount" => match crate::compress::activation_bits(metadata)? {
            Some(k) => Kernel::popcount(k),
            None => Err(Error::config(
                "kernel 'popcount' takes its activation bits from the model file, which records none: use popcount-a1 … popcount-a8",
            )),
        },
        _ => Kernel::parse(name, None),
    }
}

/// Fewest streams per worker for the per-stream work of a step (cell, embedding rows, bias).
const STREAMS_PER_CHUNK: usize = 2;

/// Largest number of streams per step.
pub const MAX_STREAMS: usize = 64;

/// Per-layer weights.
struct Layer {
    w_ih: Weight,
    w_hh: Weight,
    bias: Vec<f32>,
}

/// The loaded model, its carried state and its work buffers.
pub struct Engine {
    config: LstmConfig,
    metadata: BTreeMap<String, String>,
    kernel: Kernel,
    pub(super) embedding: Weight,
    layers: Vec<Layer>,
    /// The softmax weight (the head's when adaptive); `None` when tied to the embedding (which
    /// then serves both).
    softmax: Option<Weight>,
    softmax_bias: Vec<f32>,
    /// Adaptive softmax: its clusters, each tail's projection and weight, and the buffers of a
    /// step: head log-probabilities `B×(S+n)`, a tail's projection `B×d` and logits `B×size`,
    /// and one row of log-softmax scratch.
    adaptive: Option<Adaptive>,
    tails: Vec<(Weight, Weight)>,
    head: Vec<f32>,
    tail_p: Vec<f32>,
    tail_z: Vec<f32>,
    spare: Vec<f32>,
    /// Which tails of the current output are in `logits` (all of them after a full step).
    tails_done: Vec<bool>,
    /// The packed inputs of the batched full-precision products ([`BATCHED_MIN`] streams or more).
    xpack: Vec<f32>,
    batch: usize,
    /// Carried `h` and `c` per layer, `B×H` each.
    h: Vec<Vec<f32>>,
    c: Vec<Vec<f32>>,
    /// Layer input `B×H`, gates and recurrent product `B×4H`.
    x: Vec<f32>,
    /// Logits consumed by the cross-entropy of `evaluate` (`B×V`) and its per-row losses.
    ce_logits: Vec<f32>,
    ce_loss: Vec<f64>,
    gates: Vec<f32>,
    rec: Vec<f32>,
    logits: Vec<f32>,
    has_logits: bool,
    /// Most scale groups per row over the packed matrices (sizes the scratch).
    scale_groups: usize,
    scratch: LutScratch,
    sampler: Sampler,
}

impl Engine {
    /// Loads a model file: `quire-compressed` (packed matrices kept packed) or a full-precision
    /// `quire-model` / `quire-checkpoint`. Anything else, or a corrupt file, is `E_FORMAT`;
    /// an unknown kernel `E_CONFIG`.
    pub fn from_bytes(bytes: &[u8], kernel: Kernel) -> Result<Engine> {
        let format = read(bytes)?.meta("format")?.to_string();
        if format == crate::compress::file::COMPRESSED_FORMAT {
            Self::from_compressed(CompressedModel::from_bytes(bytes)?, kernel)
        } else {
            let (model, metadata) = LstmModel::from_bytes(bytes)?;
            Self::from_model(&model, metadata, kernel)
        }
    }

    /// [`Engine::from_bytes`] with the kernel named as [`kernel_for`] reads it (`auto`: the
    /// kernel the file's metadata asks for).
    pub fn open(bytes: &[u8], kernel: &str) -> Result<Engine> {
        let kernel = kernel_for(kernel, &read(bytes)?.metadata)?;
        Self::from_bytes(bytes, kernel)
    }

    /// An engine over the full-precision weights of `model` (its carried state is not used).
    pub fn from_model(model: &LstmModel, metadata: BTreeMap<String, String>, kernel: Kernel) -> Result<Engine> {
        let mut tensors = BTreeMap::new();
        for name in model.tensor_names() {
            let shape = model.tensor_shape(&name)?;
            tensors.insert(name.clone(), (shape, model.get_tensor(&name)?));
        }
        Self::assemble(model.config().clone(), metadata, kernel, tensors, BTreeMap::new())
    }

    /// An engine over a compressed model: its quantized matrices stay packed.
    pub fn from_compressed(cm: CompressedModel, kernel: Kernel) -> Result<Engine> {
        let tensors = cm.fp.into_iter().map(|(n, s, v)| (n, (s, v))).collect();
        let packed = cm.quantized.into_iter().map(|q| (q.name, q.matrix)).collect();
        Self::assemble(cm.config, cm.metadata, kernel, tensors, packed)
    }

    fn assemble(
        config: LstmConfig,
        metadata: BTreeMap<String, String>,
        kernel: Kernel,
        mut fp: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
        mut packed: BTreeMap<String, crate::quant::BinaryMatrix>,
    ) -> Result<Engine> {
        config.validate()?;
        let kernel = kernel.checked()?;
        let (v, h) = (config.vocab, config.hidden);
        let mut take = |name: &str, shape: &[usize]| -> Result<Weight> {
            if let Some(m) = packed.remove(name) {
                if [m.rows(), m.cols()] != shape {
                    return Err(Error::format(format!("quantized tensor '{name}' is {}×{}, expected {shape:?}", m.rows(), m.cols())));
                }
                return Weight::packed(m);
            }
            let (s, data) = fp.remove(name).ok_or_else(|| Error::format(format!("tensor '{name}' is missing")))?;
            if s != shape {
                return Err(Error::format(format!("tensor '{name}' has shape {s:?}, expected {shape:?}")));
            }
            Ok(match shape {
                [rows, cols] => Weight::Dense { rows: *rows, cols: *cols, data, panels: None },
                _ => Weight::Dense { rows: 1, cols: data.len(), data, panels: None },
            })
        };
        let vector = |w: Weight| -> Result<Vec<f32>> {
            match w {
                Weight::Dense { data, .. } => Ok(data),
                _ => Err(Error::format("a bias cannot be quantized")),
            }
        };
        // The one parameter layout (`lstm::tensor_layout`), in its order: embedding,
        // (w_ih, w_hh, bias) per layer, softmax weight (unless tied) and bias.
        let mut weights =
            tensor_layout(&config).into_iter().map(|(name, shape)| take(&name, &shape)).collect::<Result<Vec<_>>>()?.into_iter();
        let mut next = || weights.next().expect("the layout names every tensor");
        let embedding = next();
        let mut layers = Vec::new();
        for _ in 0..config.layers {
            let (w_ih, w_hh) = (next(), next());
            let bias = vector(next())?;
            layers.push(Layer { w_ih, w_hh, bias });
        }
        let softmax = if config.tied { None } else { Some(next()) };
        let softmax_bias = vector(next())?;
        let adaptive = Adaptive::of(&config);
        let tails: Vec<(Weight, Weight)> = adaptive.iter().flat_map(|a| &a.tails).map(|_| (next(), next())).collect();
        let groups = std::iter::once(&embedding)
            .chain(&softmax)
            .chain(layers.iter().flat_map(|l| [&l.w_ih, &l.w_hh]))
            .chain(tails.iter().flat_map(|(p, w)| [p, w]))
            .map(Weight::groups)
            .max()
            .unwrap_or(1);
        let mut e = Engine {
            config,
            metadata,
            kernel,
            embedding,
            layers,
            softmax,
            softmax_bias,
            adaptive,
            tails,
            head: Vec::new(),
            tail_p: Vec::new(),
            tail_z: Vec::new(),
            spare: Vec::new(),
            tails_done: Vec::new(),
            xpack: Vec::new(),
            batch: 0,
            h: Vec::new(),
            c: Vec::new(),
            x: Vec::new(),
            ce_logits: Vec::new(),
            ce_loss: Vec::new(),
            gates: Vec::new(),
            rec: Vec::new(),
            logits: Vec::new(),
            has_logits: false,
            scale_groups: groups,
            scratch: LutScratch::new(8 * h.div_ceil(64), groups, 1),
            sampler: Sampler::new(v, 0),
        };
        e.reset(1)?;
        Ok(e)
    }

    pub fn config(&self) -> &LstmConfig {
        &self.config
    }

    /// The file's caller metadata (e.g. the vocabulary).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    pub fn kernel(&self) -> Kernel {
        self.kernel
    }

    /// Streams of the carried state.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// `(name, bits)` of every weight matrix (32 = full precision), in model order.
    pub fn bits(&self) -> Vec<(String, usize)> {
        let names = tensor_layout(&self.config).into_iter().filter(|(_, shape)| shape.len() == 2).map(|(name, _)| name);
        names.zip(self.matrices().map(Weight::bits)).collect()
    }

    /// Every weight matrix, in model order (the 2-D tensors of `tensor_layout`).
    fn matrices(&self) -> impl Iterator<Item = &Weight> {
        std::iter::once(&self.embedding)
            .chain(self.layers.iter().flat_map(|l| [&l.w_ih, &l.w_hh]))
            .chain(&self.softmax)
            .chain(self.tails.iter().flat_map(|(p, w)| [p, w]))
    }

    /// Bytes of the weights as held in memory (packed matrices with their kernel layout).
    pub fn weight_bytes(&self) -> usize {
        let vectors: usize = self.layers.iter().map(|l| 4 * l.bias.len()).sum::<usize>() + 4 * self.softmax_bias.len();
        let mats: usize = self.matrices().map(Weight::bytes).sum();
        mats + vectors
    }

    /// Zeroes the carried state for `batch` streams (1..=[`MAX_STREAMS`], else `E_CONFIG`) and
    /// sizes every buffer a step needs.
    pub fn reset(&mut self, batch: usize) -> Result<()> {
        if !(1..=MAX_STREAMS).contains(&batch) {
            return Err(Error::config(format!("batch must be 1 to {MAX_STREAMS} (got {batch})")));
        }
        let (h, v, layers) = (self.config.hidden, self.config.vocab, self.config.layers);
        self.batch = batch;
        self.h = vec![vec![0.0; batch * h]; layers];
        self.c = vec![vec![0.0; batch * h]; layers];
        self.x = vec![0.0; batch * h];
        self.ce_logits = vec![0.0; batch * v];
        self.ce_loss = vec![0.0; batch];
        self.gates = vec![0.0; batch * 4 * h];
        self.rec = vec![0.0; batch * 4 * h];
        self.logits = vec![0.0; batch * v];
        if let Some(a) = &self.adaptive {
            let widest = |f: fn(&Tail) -> usize| a.tails.iter().map(f).max().unwrap_or(0);
            self.head = vec![0.0; batch * a.head_size()];
            self.tail_p = vec![0.0; batch * widest(|t| t.dim)];
            self.tail_z = vec![0.0; batch * widest(Tail::size)];
            self.spare = vec![0.0; a.head_size().max(widest(Tail::size))];
            self.tails_done = vec![false; a.tails.len()];
        }
        self.has_logits = false;
        self.scratch = LutScratch::new(8 * h.div_ceil(64), self.scale_groups, batch);
        if batch >= BATCHED_MIN {
            let set = kernels::active();
            let tied = self.softmax.is_none();
            let layers = self.layers.iter_mut().flat_map(|l| [&mut l.w_ih, &mut l.w_hh]);
            let out = self.softmax.iter_mut().chain(tied.then_some(&mut self.embedding));
            let tails = self.tails.iter_mut().flat_map(|(p, w)| [p, w]);
            let need = layers.chain(out).chain(tails).map(|w| w.prepare_batched(set, batch)).max().unwrap_or(0);
            self.xpack = vec![0.0; need];
        }
        Ok(())
    }

    /// Seeds the sampler's PRNG ([`crate::rng::Rng`]).
    pub fn seed(&mut self, seed: u64) {
        self.sampler.seed(seed);
    }

    /// Feeds one token per stream (`tokens`: B ids `< V`), advances the state and returns the
    /// logits `B×V` (row `b` = stream `b`). `E_SHAPE` for a wrong count or an id out of range
    /// (the state is then unchanged).
    pub fn step(&mut self, tokens: &[u32]) -> Result<&[f32]> {
        self.check_tokens(tokens)?;
        let set = kernels::active();
        self.forward(tokens, set);
        self.has_logits = true;
        Ok(&self.logits)
    }

    /// [`Engine::step`] with the output layer computed on demand: the same state afterwards, and
    /// the same logits for every reader ([`Engine::logits`], [`Engine::top_k`],
    /// [`Engine::candidates`], [`Engine::values`], [`Engine::sample`]), but an adaptive model
    /// computes its head now and a tail cluster only when a reader needs it (a full-softmax model
    /// computes its logits now, as `step`). Errors as `step`'s.
    pub fn feed(&mut self, tokens: &[u32]) -> Result<()> {
        self.check_tokens(tokens)?;
        let set = kernels::active();
        self.recur(tokens, set);
        self.head_output(set);
        self.has_logits = true;
        Ok(())
    }

    /// [`Engine::step`] without the output layer: advances the carried state exactly as `step`
    /// does (the same `h` and `c`, bit for bit) but computes no logits, which costs about half a
    /// step at V ≈ 10⁴ (the softmax product is as large as the LSTM's). Afterwards there are no
    /// logits (as after [`Engine::set_state`]). Errors as `step`'s, the state then unchanged.
    pub fn advance(&mut self, tokens: &[u32]) -> Result<()> {
        self.check_tokens(tokens)?;
        self.recur(tokens, kernels::active());
        self.has_logits = false;
        Ok(())
    }

    /// The logits of the step that left the carried state: the output layer on the top layer's
    /// `h`, with no token fed and the state unchanged. For a state set with [`Engine::set_state`]
    /// (or left by [`Engine::advance`]) these are, bit for bit, the logits the step that made that
    /// state returned; after a reset, those of a zero state (the output bias).
    pub fn logits_of_state(&mut self) -> Result<&[f32]> {
        let top = self.config.layers - 1;
        self.x.copy_from_slice(&self.h[top]);
        self.output(kernels::active());
        self.has_logits = true;
        Ok(&self.logits)
    }

    /// [`Engine::logits_of_state`] with the output layer computed on demand, as [`Engine::feed`]
    /// computes it.
    pub fn output_of_state(&mut self) {
        let top = self.config.layers - 1;
        self.x.copy_from_slice(&self.h[top]);
        self.head_output(kernels::active());
        self.has_logits = true;
    }

    fn check_tokens(&self, tokens: &[u32]) -> Result<()> {
        check_len("tokens", tokens.len(), self.batch)?;
        self.check_ids(tokens)
    }

    /// The step itself (inputs validated): the recurrent part, then the output layer.
    fn forward(&mut self, tokens: &[u32], set: KernelSet) {
        self.recur(tokens, set);
        self.output(set);
    }

    /// The recurrent part of a step: embedding and LSTM layers; the top layer's `h` ends in `self.x`.
    fn recur(&mut self, tokens: &[u32], set: KernelSet) {
        let (hd, b, kernel) = (self.config.hidden, self.batch, self.kernel);
        // Streams are independent outside the products: their per-stream work (embedding rows,
        // gate sums and cell) is split across the worker pool, which changes no result.
        let x = Rows::new(&mut self.x, hd);
        let embedding = &self.embedding;
        parallel_ranges(b, 1, STREAMS_PER_CHUNK, |range| {
            // SAFETY: workers get disjoint stream ranges.
            let rows = unsafe { x.get(range.clone()) };
            for (row, &t) in rows.chunks_exact_mut(hd).zip(&tokens[range]) {
                embedding.row_into(t as usize, row);
            }
        });
        for (l, layer) in self.layers.iter().enumerate() {
            layer.w_ih.matmul(&self.x, b, &mut self.gates, set, kernel, &mut self.scratch, &mut self.xpack);
            layer.w_hh.matmul(&self.h[l], b, &mut self.rec, set, kernel, &mut self.scratch, &mut self.xpack);
            let (gates, c, h, rec) =
                (Rows::new(&mut self.gates, 4 * hd), Rows::new(&mut self.c[l], hd), Rows::new(&mut self.h[l], hd), &self.rec);
            parallel_ranges(b, 1, STREAMS_PER_CHUNK, |range| {
                // SAFETY: workers get disjoint stream ranges.
                let (gates, c, h) = unsafe { (gates.get(range.clone()), c.get(range.clone()), h.get(range.clone())) };
                for (gr, rr) in gates.chunks_exact_mut(4 * hd).zip(rec[range.start * 4 * hd..].chunks_exact(4 * hd)) {
                    for ((g, r), bias) in gr.iter_mut().zip(rr).zip(&layer.bias) {
                        *g += r + bias;
                    }
                }
                cell::step(hd, gates, c, h);
            });
            self.x.copy_from_slice(&self.h[l]);
        }
    }

    /// The output layer of a step: logits (or adaptive log-probabilities) of the top layer's `h` in `self.x`.
    fn output(&mut self, set: KernelSet) {
        self.head_output(set);
        for i in 0..self.tails_done.len() {
            self.tail(i, set);
        }
    }

    /// The output layer's head: the logits of a full softmax; an adaptive model's head
    /// log-probabilities (in `self.head`, the shortlist's also in `self.logits`), no tail yet.
    fn head_output(&mut self, set: KernelSet) {
        let (b, kernel) = (self.batch, self.kernel);
        let softmax = self.softmax.as_ref().unwrap_or(&self.embedding);
        let out = if self.adaptive.is_some() { &mut self.head } else { &mut self.logits };
        softmax.matmul(&self.x, b, out, set, kernel, &mut self.scratch, &mut self.xpack);
        let (rows, bias) = (Rows::new(out, self.softmax_bias.len()), &self.softmax_bias);
        parallel_ranges(b, 1, STREAMS_PER_CHUNK, |range| {
            // SAFETY: workers get disjoint stream ranges.
            for row in unsafe { rows.get(range) }.chunks_exact_mut(bias.len()) {
                for (z, bias) in row.iter_mut().zip(bias) {
                    *z += bias;
                }
            }
        });
        // Adaptive: the head logits become log-probabilities, the shortlist's are `log p(w)`.
        let Some(a) = &self.adaptive else { return };
        let (v, hs) = (self.config.vocab, a.head_size());
        for (row, out) in self.head.chunks_exact_mut(hs).zip(self.logits.chunks_exact_mut(v)) {
            log_softmax(row, &mut self.spare);
            out[..a.shortlist].copy_from_slice(&row[..a.shortlist]);
        }
        self.tails_done.fill(false);
    }

    /// Tail cluster `i` of an adaptive output (head computed): `log p(w)` of its tokens, for all
    /// rows, into `self.logits` (nothing when already there).
    fn tail(&mut self, i: usize, set: KernelSet) {
        let Some(a) = &self.adaptive else { return };
        if self.tails_done[i] {
            return;
        }
        let (b, v, hs, kernel) = (self.batch, self.config.vocab, a.head_size(), self.kernel);
        let (tail, (proj, weight)) = (&a.tails[i], &self.tails[i]);
        let (d, size) = (tail.dim, tail.size());
        let tail_z = &mut self.tail_z[..b * size];
        proj.matmul(&self.x, b, &mut self.tail_p[..b * d], set, kernel, &mut self.scratch, &mut self.xpack);
        weight.matmul(&self.tail_p[..b * d], b, tail_z, set, kernel, &mut self.scratch, &mut self.xpack);
        for (r, z) in tail_z.chunks_exact_mut(size).enumerate() {
            log_softmax(z, &mut self.spare);
            let cluster = self.head[r * hs + a.shortlist + i];
            for (o, lp) in self.logits[r * v + tail.lo..r * v + tail.hi].iter_mut().zip(z.iter()) {
                *o = cluster + lp;
            }
        }
        self.tails_done[i] = true;
    }

    /// Tail clusters of the current output computed so far, and of the model (`(0, 0)` for a
    /// full softmax).
    pub fn tails_computed(&self) -> (usize, usize) {
        (self.tails_done.iter().filter(|&&d| d).count(), self.tails_done.len())
    }

    /// Every tail of the current output not computed yet.
    fn all_tails(&mut self) {
        if self.tails_done.iter().any(|d| !d) {
            let set = kernels::active();
            for i in 0..self.tails_done.len() {
                self.tail(i, set);
            }
        }
    }

    /// The carried state of stream `b`: for each layer its `h`, then for each layer its `c`
    /// (`2·L·H` values). `E_CONFIG` for `b ≥ B`.
    pub fn state(&self, b: usize) -> Result<Vec<f32>> {
        self.check_stream(b)?;
        let hd = self.config.hidden;
        Ok(self.h.iter().chain(&self.c).flat_map(|s| s[b * hd..(b + 1) * hd].iter().copied()).collect())
    }

    /// Replaces the carried state of stream `b` by `state` (as [`Engine::state`] gives it); the
    /// last logits are dropped. `E_SHAPE` for a wrong length, `E_NONFINITE` for NaN or ∞,
    /// `E_CONFIG` for `b ≥ B`; on error nothing changes.
    pub fn set_state(&mut self, b: usize, state: &[f32]) -> Result<()> {
        self.check_stream(b)?;
        let (hd, layers) = (self.config.hidden, self.config.layers);
        check_len("state", state.len(), 2 * layers * hd)?;
        if state.iter().any(|v| !v.is_finite()) {
            return Err(Error::non_finite("the state holds NaN or infinity"));
        }
        for (dst, src) in self.h.iter_mut().chain(self.c.iter_mut()).zip(state.chunks_exact(hd)) {
            dst[b * hd..(b + 1) * hd].copy_from_slice(src);
        }
        self.has_logits = false;
        Ok(())
    }

    fn check_stream(&self, b: usize) -> Result<()> {
        if b >= self.batch {
            return Err(Error::config(format!("stream {b} does not exist (batch {})", self.batch)));
        }
        Ok(())
    }

    /// The logits of the last step (`E_STATE` before the first step after a reset); after
    /// [`Engine::feed`], every tail not computed yet is computed now.
    pub fn logits(&mut self) -> Result<&[f32]> {
        self.check_logits()?;
        self.all_tails();
        Ok(&self.logits)
    }

    fn check_logits(&self) -> Result<()> {
        if self.has_logits {
            Ok(())
        } else {
            Err(Error::state("no logits yet: call step() first"))
        }
    }

    /// Mean cross-entropy (nats per token) of a window of `T·B` tokens, time-major
    /// (`inputs[t·B + b]` is step `t` of stream `b`, predicting `targets[t·B + b]`); the state
    /// carries. `E_SHAPE` for lengths that are not a positive multiple of B or ids out of range;
    /// `E_NONFINITE` for a non-finite loss.
    pub fn evaluate(&mut self, inputs: &[u32], targets: &[u32]) -> Result<f64> {
        check_len("targets", targets.len(), inputs.len())?;
        let b = self.batch;
        if inputs.is_empty() || !inputs.len().is_multiple_of(b) {
            return Err(Error::shape(format!("a window holds T·B tokens with B = {b} (the batch set by reset); got {}", inputs.len())));
        }
        let v = self.config.vocab as u32;
        if let Some(&bad) = inputs.iter().chain(targets).find(|&&t| t >= v) {
            return Err(Error::shape(format!("token id {bad} is outside the vocabulary of {v}")));
        }
        let set = kernels::active();
        let mut sum = 0.0;
        for (inp, tgt) in inputs.chunks_exact(b).zip(targets.chunks_exact(b)) {
            self.forward(inp, set);
            // The training model's cross-entropy (vectorised exp, f64 sums) on a copy: the
            // logits of the last step stay readable after `evaluate`.
            self.ce_logits.copy_from_slice(&self.logits);
            cross_entropy(&mut self.ce_logits, self.config.vocab, tgt, &mut self.ce_loss, None);
            sum += self.ce_loss.iter().sum::<f64>();
        }
        self.has_logits = true;
        finite_loss(sum / inputs.len() as f64)
    }

    /// Draws the next token of every stream from the last logits: `softmax(z/temperature)`
    /// restricted to the `top_k` largest logits (0 = all); temperature 0 picks the argmax; one
    /// PRNG draw per stream when sampling. When an adaptive model's tails are not all computed
    /// (after [`Engine::feed`]), the argmax and the top-k draws take their ids from the
    /// head-first [`Engine::candidates`] (the same ids, values and draw as the full
    /// distribution's); a draw from all V at temperature 1 picks a head entry with the draw and,
    /// for a cluster, a word of its tail with the draw's remaining fraction (the same
    /// distribution, `p(cluster)·p(w | cluster)`; the same word as the full draw unless the draw
    /// lies within rounding of a boundary between words); at another temperature every tail is
    /// computed first. `E_CONFIG` for a negative or non-finite temperature, `E_STATE` before the
    /// first step.
    pub fn sample(&mut self, temperature: f32, top_k: usize, out: &mut [u32]) -> Result<()> {
        check_len("out", out.len(), self.batch)?;
        if !(temperature.is_finite() && temperature >= 0.0) {
            return Err(Error::config(format!("temperature must be finite and >= 0 (got {temperature})")));
        }
        self.check_logits()?;
        let v = self.config.vocab;
        let full = top_k == 0 || top_k >= v;
        if self.tails_done.iter().all(|&d| d) || (full && temperature != 1.0 && temperature != 0.0) {
            self.all_tails();
            for (row, o) in self.logits.chunks_exact(v).zip(out.iter_mut()) {
                *o = self.sampler.draw(row, temperature, top_k);
            }
            return Ok(());
        }
        for (r, o) in out.iter_mut().enumerate() {
            *o = if temperature == 0.0 {
                self.ranked(r, 1, 0.0, None)[0]
            } else if !full {
                let u = self.sampler.uniform();
                let ids = self.ranked(r, top_k, 0.0, None);
                pick(&self.logits[r * v..(r + 1) * v], ids.iter().copied(), temperature, u).0
            } else {
                self.draw_head_first(r)
            };
        }
        Ok(())
    }

    /// One draw from all V at temperature 1 for stream `r` of an adaptive output: a head entry,
    /// then, for a cluster, a word of its tail with the draw's remaining fraction.
    fn draw_head_first(&mut self, r: usize) -> u32 {
        let Some(a) = &self.adaptive else { unreachable!("only adaptive outputs have tails") };
        let (v, hs, shortlist) = (self.config.vocab, a.head_size(), a.shortlist);
        let u = self.sampler.uniform();
        let (entry, within) = pick(&self.head[r * hs..(r + 1) * hs], 0..hs as u32, 1.0, u);
        let Some(i) = (entry as usize).checked_sub(shortlist) else { return entry };
        let (lo, hi) = (a.tails[i].lo as u32, a.tails[i].hi as u32);
        self.tail(i, kernels::active());
        pick(&self.logits[r * v..(r + 1) * v], lo..hi, 1.0, within).0
    }

    /// The `k` largest logits of stream `b` of the last step, as ids in decreasing order
    /// (ties: lower id first); an adaptive model computes only the tails that can hold one
    /// ([`Engine::candidates`]). `E_STATE` before a step, `E_CONFIG` for `b ≥ B`.
    pub fn top_k(&mut self, b: usize, k: usize) -> Result<Vec<u32>> {
        self.candidates(b, k, 0.0, None)
    }

    /// The ids of stream `b` (among `among`, else all V) whose logits are the `k` largest, and,
    /// with `slack > 0`, every other such id whose logit is at least the k-th's minus `slack`;
    /// in decreasing order of logit (ties: lower id first): what ranking the full row gives.
    /// An adaptive model computes its tails largest head entry first, and none whose head entry
    /// is below the k-th logit found so far minus `slack` (its words' logits are at most its
    /// head entry), nor one holding none of `among` (exact for NaN-free logits). `E_STATE` before
    /// a step, `E_CONFIG` for `b ≥ B` or a negative or non-finite `slack`, `E_SHAPE` for an id of
    /// `among` outside the vocabulary.
    pub fn candidates(&mut self, b: usize, k: usize, slack: f32, among: Option<&[u32]>) -> Result<Vec<u32>> {
        self.check_stream(b)?;
        self.check_logits()?;
        if !(slack.is_finite() && slack >= 0.0) {
            return Err(Error::config(format!("slack must be finite and >= 0 (got {slack})")));
        }
        self.check_ids(among.unwrap_or(&[]))?;
        Ok(if k == 0 { Vec::new() } else { self.ranked(b, k, slack, among) })
    }

    /// The logits of stream `b` for `ids` (computing the tails that hold them). Errors as
    /// [`Engine::candidates`]'.
    pub fn values(&mut self, b: usize, ids: &[u32]) -> Result<Vec<f32>> {
        self.check_stream(b)?;
        self.check_logits()?;
        self.check_ids(ids)?;
        let set = kernels::active();
        for &id in ids {
            if let Some(i) = self.cluster_of(id) {
                self.tail(i, set);
            }
        }
        let row = &self.logits[b * self.config.vocab..];
        Ok(ids.iter().map(|&id| row[id as usize]).collect())
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        let v = self.config.vocab as u32;
        match ids.iter().find(|&&t| t >= v) {
            Some(bad) => Err(Error::shape(format!("token id {bad} is outside the vocabulary of {v}"))),
            None => Ok(()),
        }
    }

    /// The tail cluster holding `id` (`None`: the shortlist, or a full softmax).
    fn cluster_of(&self, id: u32) -> Option<usize> {
        self.adaptive.as_ref().and_then(|a| a.locate(id as usize).1)
    }

    /// [`Engine::candidates`] on validated arguments, `k ≥ 1`.
    fn ranked(&mut self, b: usize, k: usize, slack: f32, among: Option<&[u32]>) -> Vec<u32> {
        let v = self.config.vocab;
        let (shortlist, bounds): (usize, Vec<(u32, u32)>) = match &self.adaptive {
            Some(a) => (a.shortlist, a.tails.iter().map(|t| (t.lo as u32, t.hi as u32)).collect()),
            None => (v, Vec::new()),
        };
        let n = bounds.len();
        // `among` by cluster (0: the shortlist, i + 1: tail i).
        let mut groups = among.map(|ids| {
            let mut g = vec![Vec::new(); n + 1];
            for &id in ids {
                g[self.cluster_of(id).map_or(0, |i| i + 1)].push(id);
            }
            g
        });
        let mut pool: Vec<u32> = match &mut groups {
            Some(g) => std::mem::take(&mut g[0]),
            None => (0..shortlist as u32).collect(),
        };
        let hs = shortlist + n;
        let heads: Vec<f32> = (0..n).map(|i| self.head[b * hs + shortlist + i]).collect();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&x, &y| heads[y].total_cmp(&heads[x]).then(x.cmp(&y)));
        let (row, set) = (b * v..(b + 1) * v, kernels::active());
        for i in order {
            if pool.len() >= k {
                let z = &self.logits[row.clone()];
                pool.select_nth_unstable_by(k - 1, by_logit(z));
                if heads[i] < z[pool[k - 1] as usize] - slack {
                    break;
                }
            }
            match &mut groups {
                Some(g) if g[i + 1].is_empty() => continue,
                Some(g) => pool.append(&mut g[i + 1]),
                None => pool.extend(bounds[i].0..bounds[i].1),
            }
            self.tail(i, set);
        }
        let z = &self.logits[row];
        if pool.len() > k {
            pool.select_nth_unstable_by(k - 1, by_logit(z));
            let floor = z[pool[k - 1] as usize] - slack;
            let rest = pool.split_off(k);
            if slack > 0.0 {
                pool.extend(rest.into_iter().filter(|&i| z[i as usize] >= floor));
            }
        }
        pool.sort_unstable_by(by_logit(z));
        pool
    }
}

/// `z ← log softmax(z)` (max-shifted, the sum in f64), with `spare` (at least `z.len()`) as scratch.
fn log_softmax(z: &mut [f32], spare: &mut [f32]) {
    let max = z.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let tmp = &mut spare[..z.len()];
    tmp.copy_from_slice(z);
    let shift = max + exp_shift_sum(tmp, max).ln() as f32;
    for v in z.iter_mut() {
        *v -= shift;
    }
}
