//! Element-wise LSTM cell math for one time step of a batch (forward and backward).

#[inline]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Forward of one step for `B` rows.
///
/// `gates` holds the pre-activations `[B, 4H]` (order i, f, g, o) and is overwritten with the
/// activations. Reads `c_prev [B,H]`, writes `c [B,H]`, `h [B,H]` and `tanh_c [B,H]`.
pub fn forward_step(hidden: usize, gates: &mut [f32], c_prev: &[f32], c: &mut [f32], h: &mut [f32], tanh_c: &mut [f32]) {
    let hd = hidden;
    for (r, g) in gates.chunks_exact_mut(4 * hd).enumerate() {
        let (gi, rest) = g.split_at_mut(hd);
        let (gf, rest) = rest.split_at_mut(hd);
        let (gg, go) = rest.split_at_mut(hd);
        let row = r * hd..(r + 1) * hd;
        let (cp, cr, hr, tr) = (&c_prev[row.clone()], &mut c[row.clone()], &mut h[row.clone()], &mut tanh_c[row]);
        for j in 0..hd {
            let i = sigmoid(gi[j]);
            let f = sigmoid(gf[j]);
            let gv = gg[j].tanh();
            let o = sigmoid(go[j]);
            gi[j] = i;
            gf[j] = f;
            gg[j] = gv;
            go[j] = o;
            let cv = f * cp[j] + i * gv;
            let tc = cv.tanh();
            cr[j] = cv;
            tr[j] = tc;
            hr[j] = o * tc;
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
