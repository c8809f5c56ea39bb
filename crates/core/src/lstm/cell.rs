//! Element-wise LSTM cell math for one time step of a batch (forward and backward).

use crate::kernels::exp::exp_shift_sum;

/// In place on one row of pre-activations `[i | f | g | o]` (H each): `σ` on i, f, o and
/// `tanh` on g, through one vectorised exp: `σ(x) = 1/(1 + e^{−x})`, `tanh(x) = 2σ(2x) − 1`
/// (absolute error ~1e-7; saturates cleanly since the exp kernel clamps its input).
fn activate_gates(row: &mut [f32], hidden: usize) {
    let (g_lo, g_hi) = (2 * hidden, 3 * hidden);
    let scale = |seg: &mut [f32], k: f32| seg.iter_mut().for_each(|v| *v *= k);
    scale(&mut row[..g_lo], -1.0);
    scale(&mut row[g_lo..g_hi], -2.0);
    scale(&mut row[g_hi..], -1.0);
    exp_shift_sum(row, 0.0);
    let squash = |seg: &mut [f32], a: f32, b: f32| seg.iter_mut().for_each(|v| *v = a / (1.0 + *v) - b);
    squash(&mut row[..g_lo], 1.0, 0.0);
    squash(&mut row[g_lo..g_hi], 2.0, 1.0);
    squash(&mut row[g_hi..], 1.0, 0.0);
}

/// `out[j] ← tanh(x[j])` as `2/(1 + e^{−2x}) − 1` with the vectorised exp.
fn tanh_into(x: &[f32], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = -2.0 * v;
    }
    exp_shift_sum(out, 0.0);
    for o in out.iter_mut() {
        *o = 2.0 / (1.0 + *o) - 1.0;
    }
}

/// Forward of one step for `B` rows.
///
/// `gates` holds the pre-activations `[B, 4H]` (order i, f, g, o) and is overwritten with the
/// activations. Reads `c_prev [B,H]`, writes `c [B,H]`, `h [B,H]` and `tanh_c [B,H]`.
pub fn forward_step(hidden: usize, gates: &mut [f32], c_prev: &[f32], c: &mut [f32], h: &mut [f32], tanh_c: &mut [f32]) {
    let hd = hidden;
    for (r, g) in gates.chunks_exact_mut(4 * hd).enumerate() {
        activate_gates(g, hd);
        let row = r * hd..(r + 1) * hd;
        let (cp, cr) = (&c_prev[row.clone()], &mut c[row.clone()]);
        for j in 0..hd {
            cr[j] = g[hd + j] * cp[j] + g[j] * g[2 * hd + j];
        }
        let tr = &mut tanh_c[row.clone()];
        tanh_into(cr, tr);
        for ((hv, &o), &t) in h[row].iter_mut().zip(&g[3 * hd..]).zip(tr.iter()) {
            *hv = o * t;
        }
    }
}

/// Backward of one step for `B` rows.
///
/// Inputs: activated `gates [B,4H]`, `c_prev`, `tanh_c`, `dh [B,H]` (total gradient w.r.t.
/// `h_t`), and `dc [B,H]` holding `∂J/∂c_t` from step t+1 (overwritten with `∂J/∂c_{t−1}`).
/// Writes the pre-activation gradients into `d_gates [B,4H]`.
pub fn backward_step(hidden: usize, gates: &[f32], c_prev: &[f32], tanh_c: &[f32], dh: &[f32], dc: &mut [f32], d_gates: &mut [f32]) {
    let hd = hidden;
    for (r, (g, dg)) in gates.chunks_exact(4 * hd).zip(d_gates.chunks_exact_mut(4 * hd)).enumerate() {
        let row = r * hd..(r + 1) * hd;
        let (cp, tc, dhr, dcr) = (&c_prev[row.clone()], &tanh_c[row.clone()], &dh[row.clone()], &mut dc[row]);
        for j in 0..hd {
            let (i, f, gv, o) = (g[j], g[hd + j], g[2 * hd + j], g[3 * hd + j]);
            let t = tc[j];
            let dcv = dcr[j] + dhr[j] * o * (1.0 - t * t);
            dg[j] = dcv * gv * i * (1.0 - i);
            dg[hd + j] = dcv * cp[j] * f * (1.0 - f);
            dg[2 * hd + j] = dcv * i * (1.0 - gv * gv);
            dg[3 * hd + j] = dhr[j] * t * o * (1.0 - o);
            dcr[j] = dcv * f;
        }
    }
}
