//! IEEE 754 binary16 ("half", safetensors `F16`) conversions, for the scales of compressed
//! models: an f16 scale costs half the bytes of an f32 one, and rounding a scale to f16 moves a
//! dequantized weight by at most 2⁻¹¹ of that scale, far below the quantization error itself.

/// Smallest positive normal f16 (2⁻¹⁴); below it f16 keeps fewer significant bits.
const MIN_NORMAL: f32 = 6.103_515_6e-5;

/// The f16 nearest to `x` (ties to even), as its bits. Overflow gives ±∞, NaN stays NaN.
pub fn f16_bits(x: f32) -> u16 {
    let b = x.to_bits();
    let sign = ((b >> 16) & 0x8000) as u16;
    let exp = ((b >> 23) & 0xff) as i32;
    let man = b & 0x7f_ffff;
    if exp == 0xff {
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    // Keep the top bits of the significand, dropping `shift` bits rounded to nearest, ties to even.
    let round = |m: u32, shift: u32| {
        let (kept, rest, half) = (m >> shift, m & ((1 << shift) - 1), 1 << (shift - 1));
        kept + u32::from(rest > half || (rest == half && kept & 1 == 1))
    };
    if e <= 0 {
        // Subnormal f16 (or zero): value m·2⁻²⁴ with the implicit 1 made explicit.
        if e < -10 {
            return sign;
        }
        return sign | round(man | 0x80_0000, (14 - e) as u32) as u16;
    }
    // A carry out of the significand correctly bumps the exponent (up to ∞).
    sign | round(((e as u32) << 23) | man, 13) as u16
}

/// The value of the f16 with bits `h` (exact).
pub fn f16_value(h: u16) -> f32 {
    let sign = (u32::from(h) & 0x8000) << 16;
    let (exp, man) = (u32::from(h >> 10) & 0x1f, u32::from(h) & 0x3ff);
    match exp {
        0 => {
            let v = man as f32 * (1.0 / 16_777_216.0);
            f32::from_bits(v.to_bits() | sign)
        }
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
    }
}

/// `x` rounded to the nearest f16 when that keeps f16's full precision (a normal f16, or zero);
/// otherwise (too large for f16, or so small that f16 would keep few bits) `x` unchanged.
pub fn round_to_f16(x: f32) -> f32 {
    let r = f16_value(f16_bits(x));
    if r.is_finite() && (r == 0.0 && x == 0.0 || r.abs() >= MIN_NORMAL) {
        r
    } else {
        x
    }
}

/// Whether every value of `xs` is exactly an f16 (so storing them as f16 loses nothing).
pub fn all_f16(xs: &[f32]) -> bool {
    xs.iter().all(|&x| f16_value(f16_bits(x)).to_bits() == x.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f16_round_trips_and_decodes_to_its_value() {
        for h in 0..=u16::MAX {
            let v = f16_value(h);
            let (exp, man) = ((h >> 10) & 0x1f, h & 0x3ff);
            if exp == 0x1f && man != 0 {
                assert!(v.is_nan());
                continue;
            }
            assert_eq!(f16_bits(v), h, "{h:#06x}");
            // The value from the definition: (−1)^s · 2^(e−15) · (1 + m/1024), or 2^−14 · m/1024.
            let mag = match exp {
                0 => f64::from(man) / 1024.0 * 2f64.powi(-14),
                0x1f => f64::INFINITY,
                _ => (1.0 + f64::from(man) / 1024.0) * 2f64.powi(i32::from(exp) - 15),
            };
            assert_eq!(f64::from(v), if h & 0x8000 != 0 { -mag } else { mag }, "{h:#06x}");
        }
    }

    #[test]
    fn rounds_to_the_nearest_f16_ties_to_even() {
        // Every f16 interval, probed at its ends, midpoint and either side of the midpoint.
        for h in 0..0x7bffu16 {
            let (lo, hi) = (f16_value(h), f16_value(h + 1));
            let mid = (f64::from(lo) + f64::from(hi)) / 2.0;
            let mid32 = mid as f32;
            assert_eq!(f64::from(mid32), mid, "midpoints are f32 values");
            let even = if h & 1 == 0 { h } else { h + 1 };
            assert_eq!(f16_bits(mid32), even, "tie at {mid}");
            assert_eq!(f16_bits(f32::from_bits(mid32.to_bits() - 1)), h);
            assert_eq!(f16_bits(f32::from_bits(mid32.to_bits() + 1)), h + 1);
            assert_eq!(f16_bits(-mid32), even | 0x8000);
        }
        // Beyond the largest f16 (65504) rounding goes to ∞ from the midpoint to 65536 on.
        assert_eq!(f16_bits(65519.0), 0x7bff);
        assert_eq!(f16_bits(65520.0), 0x7c00);
        assert_eq!(f16_bits(1e30), 0x7c00);
        assert_eq!(f16_bits(f32::NEG_INFINITY), 0xfc00);
        assert!(f16_value(f16_bits(f32::NAN)).is_nan());
        assert_eq!(f16_bits(1e-30), 0);
        assert_eq!(f16_bits(-1e-30), 0x8000);
    }

    #[test]
    fn round_to_f16_keeps_values_f16_cannot_hold_well() {
        assert_eq!(round_to_f16(0.1), f16_value(f16_bits(0.1)));
        assert_ne!(round_to_f16(0.1), 0.1);
        assert_eq!(round_to_f16(0.0), 0.0);
        assert_eq!(round_to_f16(1e-6), 1e-6, "subnormal in f16: kept");
        assert_eq!(round_to_f16(1e6), 1e6, "overflows f16: kept");
        assert!(all_f16(&[round_to_f16(0.1), 0.5, -2.0, 0.0]));
        assert!(!all_f16(&[0.5, 1e-6]));
    }
}
