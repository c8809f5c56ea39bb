//! Named parameter tensors. The same structure holds the gradients.

use super::adaptive::Adaptive;
use super::config::LstmConfig;
use crate::rng::Rng;

/// One named tensor, row-major.
#[derive(Debug, Clone)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Index of each tensor in [`Params::tensors`]; the order is also the initialisation and
/// file order: `embedding [V,H]`, then per layer `l`: `lstm.l.w_ih [4H,H]`,
/// `lstm.l.w_hh [4H,H]`, `lstm.l.bias [4H]`, then `softmax.weight [V,H]` (absent when the
/// embedding is tied to the softmax: the embedding is then the softmax weight), `softmax.bias [V]`.
/// With an adaptive softmax the last two are its head, `softmax.head.weight [S+n,H]` and
/// `softmax.head.bias [S+n]` (at the same indices), followed per tail cluster `i` by
/// `softmax.tail.i.proj [dᵢ,H]` and `softmax.tail.i.weight [sizeᵢ,dᵢ]` (`adaptive.rs`).
#[derive(Debug, Clone)]
pub struct Params {
    pub tensors: Vec<Tensor>,
    pub layers: usize,
    pub tied: bool,
}

/// Names and shapes of the tensors of a model with `config`, in model (and file) order: the one
/// source of the parameter layout, used by the model, its files, compressed files and the engine.
pub fn tensor_layout(config: &LstmConfig) -> Vec<(String, Vec<usize>)> {
    let (v, h) = (config.vocab, config.hidden);
    let mut out = vec![("embedding".to_string(), vec![v, h])];
    for l in 0..config.layers {
        out.push((format!("lstm.{l}.w_ih"), vec![4 * h, h]));
        out.push((format!("lstm.{l}.w_hh"), vec![4 * h, h]));
        out.push((format!("lstm.{l}.bias"), vec![4 * h]));
    }
    if let Some(a) = Adaptive::of(config) {
        out.push(("softmax.head.weight".to_string(), vec![a.head_size(), h]));
        out.push(("softmax.head.bias".to_string(), vec![a.head_size()]));
        for (i, t) in a.tails.iter().enumerate() {
            out.push((format!("softmax.tail.{i}.proj"), vec![t.dim, h]));
            out.push((format!("softmax.tail.{i}.weight"), vec![t.size(), t.dim]));
        }
        return out;
    }
    if !config.tied {
        out.push(("softmax.weight".to_string(), vec![v, h]));
    }
    out.push(("softmax.bias".to_string(), vec![v]));
    out
}

impl Params {
    /// All tensors zero, with the shapes `config` implies ([`tensor_layout`]).
    pub fn zeros(config: &LstmConfig) -> Self {
        let tensors = tensor_layout(config).into_iter().map(|(name, shape)| tensor(&name, &shape)).collect();
        Params { tensors, layers: config.layers, tied: config.tied }
    }

    /// Uniform `[−s, s]` initialisation of every tensor, in tensor order, from `rng`.
    pub fn init_uniform(&mut self, scale: f32, rng: &mut Rng) {
        for t in &mut self.tensors {
            for v in &mut t.data {
                *v = rng.uniform(-scale, scale);
            }
        }
    }

    pub fn embedding(&self) -> &[f32] {
        &self.tensors[0].data
    }
    pub fn w_ih(&self, l: usize) -> &[f32] {
        &self.tensors[1 + 3 * l].data
    }
    pub fn w_hh(&self, l: usize) -> &[f32] {
        &self.tensors[2 + 3 * l].data
    }
    pub fn bias(&self, l: usize) -> &[f32] {
        &self.tensors[3 + 3 * l].data
    }
    /// The softmax weight `[V, H]`: the embedding when tied, the head `[S+n, H]` when adaptive.
    pub fn softmax_weight(&self) -> &[f32] {
        &self.tensors[softmax_indices(self.layers, self.tied).0].data
    }
    pub fn softmax_bias(&self) -> &[f32] {
        &self.tensors[softmax_indices(self.layers, self.tied).1].data
    }

    /// Mutable view of tensor `i` (indices as in the type's doc).
    pub fn data_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.tensors[i].data
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.tensors.iter().position(|t| t.name == name)
    }

    pub fn count(&self) -> usize {
        self.tensors.iter().map(|t| t.data.len()).sum()
    }
}

fn tensor(name: &str, shape: &[usize]) -> Tensor {
    Tensor { name: name.to_string(), shape: shape.to_vec(), data: vec![0.0; shape.iter().product()] }
}

/// Tensor indices of layer `l`'s `w_ih`, `w_hh`, `bias`, and of the softmax weight and bias.
pub fn layer_indices(l: usize) -> (usize, usize, usize) {
    (1 + 3 * l, 2 + 3 * l, 3 + 3 * l)
}

/// Indices of the tensor holding the softmax weight (the embedding, 0, when `tied`; the head's
/// weight with an adaptive softmax) and of the softmax bias (the head's bias).
pub fn softmax_indices(layers: usize, tied: bool) -> (usize, usize) {
    if tied {
        (0, 1 + 3 * layers)
    } else {
        (1 + 3 * layers, 2 + 3 * layers)
    }
}

/// Indices of tail cluster `i`'s projection and output weight (adaptive softmax only).
pub fn tail_indices(layers: usize, i: usize) -> (usize, usize) {
    (3 + 3 * layers + 2 * i, 4 + 3 * layers + 2 * i)
}
