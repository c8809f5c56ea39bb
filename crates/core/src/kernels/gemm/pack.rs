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
        if src.xs == 1 {
            for d in 0..dn {
                let s = xt + (d0 + d) * src.ds;
                let row = &mut panel[d * width..(d + 1) * width];
                row[..live].copy_from_slice(&src.data[s..s + live]);
                row[live..].fill(0.0);
            }
        } else {
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
    }
}
