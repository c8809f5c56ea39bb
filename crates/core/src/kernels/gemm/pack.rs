//! Packing of A and B into the contiguous micro-panels the micro-kernel streams
//! (transposes are resolved here, so the kernel sees one layout).

/// A strided read-only view of a logical matrix: element `(x, d)` is `data[x·xs + d·ds]`.
/// `x` is the panel axis (rows of op(A), columns of op(B)), `d` the depth axis (k).
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub data: &'a [f32],
    pub xs: usize,
    pub ds: usize,
}

impl View<'_> {
    #[inline(always)]
    fn at(&self, x: usize, d: usize) -> f32 {
        self.data[x * self.xs + d * self.ds]
    }
}

/// Packs the block `x0..x0+xn` × `d0..d0+dn` of `src` into panels of `width`:
/// `out[(t·dn + d)·width + l] = src(x0 + t·width + l, d0 + d)`, zero where
/// `t·width + l ≥ xn`. `out` must hold `ceil(xn/width)·width·dn` floats (indexing panics
/// otherwise: the caller sizes it). Reads in storage order whichever axis is contiguous.
pub fn pack(src: View, x0: usize, xn: usize, d0: usize, dn: usize, width: usize, out: &mut [f32]) {
    let panels = xn.div_ceil(width);
    for t in 0..panels {
        let panel = &mut out[t * dn * width..(t + 1) * dn * width];
        let live = (xn - t * width).min(width);
        let xt = x0 + t * width;
        // Full panels of the kernels' widths: copies and transposes of a constant width.
        let done = live == width
            && match (src.xs, src.ds) {
                (1, ds) => with_panel_width!(width, full_panel(src.data, xt, ds, d0, panel)),
                (xs, 1) => with_panel_width!(width, gather_panel(src.data, xt, xs, d0, dn, panel)),
                _ => false,
            };
        if done {
            continue;
        }
        if src.xs == 1 {
            for d in 0..dn {
                let s = xt + (d0 + d) * src.ds;
                let row = &mut panel[d * width..(d + 1) * width];
                row[..live].copy_from_slice(&src.data[s..s + live]);
                row[live..].fill(0.0);
            }
        } else {
            strided(src, xt, d0, dn, width, live, panel);
        }
    }
}

/// `$f::<W>(args)` and `true` when `$width` is one of the kernels' panel widths (`MR`/`NR` of
/// every kit), else `false`: a constant width turns each row into inline moves.
macro_rules! with_panel_width {
    ($width:expr, $f:ident($($arg:expr),*)) => {
        match $width {
            4 => { $f::<4>($($arg),*); true }
            6 => { $f::<6>($($arg),*); true }
            8 => { $f::<8>($($arg),*); true }
            10 => { $f::<10>($($arg),*); true }
            16 => { $f::<16>($($arg),*); true }
            32 => { $f::<32>($($arg),*); true }
            _ => false,
        }
    };
}
use with_panel_width;

/// A full panel whose rows are contiguous in `data` (row `d` at `xt + (d0 + d)·ds`): a constant
/// `W` makes each row an inline copy (a library `memmove` per 4–32 floats cost about 8 % of a
/// small-preset training step).
#[inline(always)]
fn full_panel<const W: usize>(data: &[f32], xt: usize, ds: usize, d0: usize, panel: &mut [f32]) {
    for (d, row) in panel.chunks_exact_mut(W).enumerate() {
        let s = xt + (d0 + d) * ds;
        row.copy_from_slice(&data[s..s + W]);
    }
}

/// A full panel whose `W` source rows are contiguous along depth (row `l` at
/// `(xt + l)·xs + d0`): a transpose, written panel row by panel row so the stores are
/// contiguous; the `W` source rows are sliced once, so the loop carries no bounds checks.
#[inline(always)]
fn gather_panel<const W: usize>(data: &[f32], xt: usize, xs: usize, d0: usize, dn: usize, panel: &mut [f32]) {
    let rows: [&[f32]; W] = core::array::from_fn(|l| &data[(xt + l) * xs + d0..][..dn]);
    for (d, out) in panel.chunks_exact_mut(W).enumerate().take(dn) {
        for (o, row) in out.iter_mut().zip(&rows) {
            *o = row[d];
        }
    }
}

/// Any layout: element by element, zero past `live`.
fn strided(src: View, xt: usize, d0: usize, dn: usize, width: usize, live: usize, panel: &mut [f32]) {
    for l in 0..width {
        if l < live {
            for d in 0..dn {
                panel[d * width + l] = src.at(xt + l, d0 + d);
            }
        } else {
            for d in 0..dn {
                panel[d * width + l] = 0.0;
            }
        }
    }
}
