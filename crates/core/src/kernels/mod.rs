//! Kernel sets and their selection.
//!
//! Natively the set is chosen at run time from the CPU (`avx512` > `avx2` > `scalar`), never at
//! compile time, so one binary is fast on new CPUs and correct on old ones. On wasm32 the set is
//! `simd128` (the module is compiled with `+simd128`). `QUIRE_KERNELS=scalar|avx2|avx512` or
//! [`force`] overrides the choice; forcing a set the CPU lacks is an `E_CONFIG` error.
//! Every kernel call records the set that really ran ([`last_used`]), so tests can verify a
//! forced set was used.

/// A [`PerSet`] of `<set>::$item` for the per-set modules `scalar`, `avx2`, `avx512` and
/// `simd128` in scope (each compiled where its ISA exists).
macro_rules! per_set_modules {
    ($item:ident) => {
        $crate::kernels::PerSet {
            scalar: &scalar::$item,
            #[cfg(target_arch = "x86_64")]
            avx2: &avx2::$item,
            #[cfg(target_arch = "x86_64")]
            avx512: &avx512::$item,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            simd128: &simd128::$item,
        }
    };
}

pub mod bcq;
pub mod exp;
pub mod gemm;

use crate::error::{Error, Result};
use std::sync::atomic::{AtomicU8, Ordering};

/// A family of kernel implementations sharing one contract per kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum KernelSet {
    Scalar = 1,
    Avx2 = 2,
    Avx512 = 3,
    Simd128 = 4,
}

impl KernelSet {
    pub fn name(self) -> &'static str {
        match self {
            KernelSet::Scalar => "scalar",
            KernelSet::Avx2 => "avx2",
            KernelSet::Avx512 => "avx512",
            KernelSet::Simd128 => "simd128",
        }
    }

    pub fn parse(name: &str) -> Result<KernelSet> {
        match name.trim().to_ascii_lowercase().as_str() {
            "scalar" => Ok(KernelSet::Scalar),
            "avx2" => Ok(KernelSet::Avx2),
            "avx512" => Ok(KernelSet::Avx512),
            "simd128" => Ok(KernelSet::Simd128),
            other => Err(Error::config(format!("unknown kernel set '{other}': use scalar, avx2, avx512 or simd128"))),
        }
    }

    fn from_u8(v: u8) -> Option<KernelSet> {
        match v {
            1 => Some(KernelSet::Scalar),
            2 => Some(KernelSet::Avx2),
            3 => Some(KernelSet::Avx512),
            4 => Some(KernelSet::Simd128),
            _ => None,
        }
    }

    /// Whether this machine (or wasm build) can run the set.
    pub fn supported(self) -> bool {
        match self {
            KernelSet::Scalar => true,
            KernelSet::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
            KernelSet::Avx2 => has_avx2(),
            KernelSet::Avx512 => has_avx512(),
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    // POPCNT comes with every AVX2 CPU; the set's popcount kernel uses it.
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("popcnt")
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx2() -> bool {
    false
}

/// AVX-512 as the kernels use it: F, BW, VL (and DQ); VPOPCNTDQ is checked separately.
#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    has_avx2()
        && is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512dq")
}
#[cfg(not(target_arch = "x86_64"))]
fn has_avx512() -> bool {
    false
}

/// Whether AVX-512 VPOPCNTDQ (vector popcount) is available.
#[cfg(target_arch = "x86_64")]
pub fn has_vpopcntdq() -> bool {
    has_avx512() && is_x86_feature_detected!("avx512vpopcntdq")
}
#[cfg(not(target_arch = "x86_64"))]
pub fn has_vpopcntdq() -> bool {
    false
}

static ACTIVE: AtomicU8 = AtomicU8::new(0);
static LAST_USED: AtomicU8 = AtomicU8::new(0);

/// The best set this machine supports.
pub fn detect() -> KernelSet {
    if cfg!(target_arch = "wasm32") {
        if KernelSet::Simd128.supported() {
            KernelSet::Simd128
        } else {
            KernelSet::Scalar
        }
    } else if has_avx512() {
        KernelSet::Avx512
    } else if has_avx2() {
        KernelSet::Avx2
    } else {
        KernelSet::Scalar
    }
}

/// Whether this build's simd128 kernels use relaxed SIMD (the wasm module built with
/// `+relaxed-simd`; always false natively).
pub const fn relaxed_simd() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"))
}

/// The set in force: forced, else `QUIRE_KERNELS` (if valid and supported), else [`detect`].
pub fn active() -> KernelSet {
    if let Some(k) = KernelSet::from_u8(ACTIVE.load(Ordering::Relaxed)) {
        return k;
    }
    let chosen =
        std::env::var("QUIRE_KERNELS").ok().and_then(|v| KernelSet::parse(&v).ok()).filter(|k| k.supported()).unwrap_or_else(detect);
    ACTIVE.store(chosen as u8, Ordering::Relaxed);
    chosen
}

/// Forces a kernel set for all later calls. `E_CONFIG` if this machine cannot run it.
pub fn force(set: KernelSet) -> Result<()> {
    if !set.supported() {
        return Err(Error::config(format!("kernel set '{}' is not supported here (best available: '{}')", set.name(), detect().name())));
    }
    ACTIVE.store(set as u8, Ordering::Relaxed);
    Ok(())
}

/// Records that a kernel of `set` ran; called by [`PerSet::get`], the one dispatch point.
/// (Stores only on a change, so workers calling it per tile do not contend for the line.)
pub fn mark_used(set: KernelSet) {
    if LAST_USED.load(Ordering::Relaxed) != set as u8 {
        LAST_USED.store(set as u8, Ordering::Relaxed);
    }
}

/// Every kernel set, in order (scalar first).
pub const ALL_SETS: [KernelSet; 4] = [KernelSet::Scalar, KernelSet::Avx2, KernelSet::Avx512, KernelSet::Simd128];

/// The sets a test should exercise here: the supported ones. When `QUIRE_REQUIRE_KERNELS` lists
/// sets (comma-separated, e.g. `avx512,avx2` on a CI machine that must test them), a listed set
/// this machine lacks, or an unknown name, panics instead of being skipped silently.
pub fn sets_to_test() -> Vec<KernelSet> {
    if let Ok(list) = std::env::var("QUIRE_REQUIRE_KERNELS") {
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let set = KernelSet::parse(name).unwrap_or_else(|e| panic!("QUIRE_REQUIRE_KERNELS: {}", e.message));
            assert!(set.supported(), "QUIRE_REQUIRE_KERNELS asks for '{name}', which this machine (or build) cannot run");
        }
    }
    ALL_SETS.into_iter().filter(|s| s.supported()).collect()
}

/// A kernel family's table of entry points, one per kernel set this build holds: every family
/// (GEMM, stream LUT, int8 LUT and popcount, exp) dispatches through one of these, selected by
/// the set in force ([`active`]) and recorded as used in one place ([`PerSet::get`]).
pub struct PerSet<T: 'static> {
    pub scalar: &'static T,
    #[cfg(target_arch = "x86_64")]
    pub avx2: &'static T,
    #[cfg(target_arch = "x86_64")]
    pub avx512: &'static T,
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    pub simd128: &'static T,
}

impl<T> PerSet<T> {
    /// The entry of `set`, recorded as used. Panics when this machine (or build) cannot run
    /// `set`: the entries are `unsafe fn`s whose one precondition is a supported set, and this is
    /// the one place every caller passes through, so a safe wrapper taking any `set` stays sound.
    pub fn get(&self, set: KernelSet) -> &'static T {
        assert!(set.supported(), "kernel set '{}' is not supported here", set.name());
        mark_used(set);
        match set {
            #[cfg(target_arch = "x86_64")]
            KernelSet::Avx512 => self.avx512,
            #[cfg(target_arch = "x86_64")]
            KernelSet::Avx2 => self.avx2,
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            KernelSet::Simd128 => self.simd128,
            _ => self.scalar,
        }
    }
}

/// The set of the most recent kernel call, if any ran.
pub fn last_used() -> Option<KernelSet> {
    KernelSet::from_u8(LAST_USED.load(Ordering::Relaxed))
}
