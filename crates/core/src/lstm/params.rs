//! Named parameter tensors. The same structure holds the gradients.

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
/// `lstm.l.w_hh [4H,H]`, `lstm.l.bias [4H]`, then `softmax.weight [V,H]`, `softmax.bias [V]`.
#[derive(Debug, Clone)]
pub struct Params {
    pub tensors: Vec<Tensor>,
    pub layers: usize,
}

impl Params {
    /// All tensors zero, with the shapes `config` implies.
    pub fn zeros(config: &LstmConfig) -> Self {
        let (v, h) = (config.vocab, config.hidden);
        let mut tensors = vec![tensor("embedding", &[v, h])];
        for l in 0..config.layers {
            tensors.push(tensor(&format!("lstm.{l}.w_ih"), &[4 * h, h]));
            tensors.push(tensor(&format!("lstm.{l}.w_hh"), &[4 * h, h]));
            tensors.push(tensor(&format!("lstm.{l}.bias"), &[4 * h]));
        }
        tensors.push(tensor("softmax.weight", &[v, h]));
        tensors.push(tensor("softmax.bias", &[v]));
        Params { tensors, layers: config.layers }
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
    pub fn softmax_weight(&self) -> &[f32] {
        &self.tensors[1 + 3 * self.layers].data
    }
    pub fn softmax_bias(&self) -> &[f32] {
        &self.tensors[2 + 3 * self.layers].data
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

pub fn softmax_indices(layers: usize) -> (usize, usize) {
    (1 + 3 * layers, 2 + 3 * layers)
}
