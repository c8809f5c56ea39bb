//! Memory estimates checked before large allocations, so that a size which passes validation but
//! cannot be allocated is an `E_CONFIG` error instead of an abort (native) or a trap (wasm).

use crate::error::{Error, Result};

/// Bytes of `count` values of `size` bytes each, `None` on overflow.
pub fn bytes_of(count: usize, size: usize) -> Option<usize> {
    count.checked_mul(size)
}

/// Sum of byte counts, `None` on overflow (or when any part overflowed).
pub fn total(parts: &[Option<usize>]) -> Option<usize> {
    parts.iter().try_fold(0usize, |a, p| a.checked_add((*p)?))
}

/// `Ok` when `bytes` more can be allocated now, else `E_CONFIG` naming `what` and the size.
///
/// On wasm32 the linear memory is at most 4 GiB, so the check is exact arithmetic against what
/// is left (nothing is grown: wasm memory never shrinks). Natively it asks the allocator for the
/// block and releases it untouched: no page is written, and a request the OS refuses (more than
/// memory plus swap under Linux's default overcommit rule) fails here instead of aborting later.
/// `None` means the size overflowed the address space.
pub fn ensure_allocatable(bytes: Option<usize>, what: &str) -> Result<()> {
    let refuse =
        |detail: String| Err(Error::config(format!("{what} needs {detail}, more than this machine can allocate; use smaller sizes")));
    let Some(bytes) = bytes else {
        return refuse("more bytes than the address space holds".to_string());
    };
    if bytes > isize::MAX as usize {
        return refuse(format!("{} bytes", bytes));
    }
    #[cfg(target_arch = "wasm32")]
    {
        let used = core::arch::wasm32::memory_size(0) as u64 * 65536;
        let left = (4u64 << 30).saturating_sub(used);
        if bytes as u64 > left {
            return refuse(format!("{} (wasm memory has {} left of 4 GiB)", human(bytes as u64), human(left)));
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // Small requests cannot fail in a way worth probing for.
        if bytes >= 64 << 20 {
            let mut probe: Vec<u8> = Vec::new();
            if probe.try_reserve_exact(bytes).is_err() {
                return refuse(human(bytes as u64));
            }
        }
    }
    Ok(())
}

/// A zero-filled vector of `n` values, or `E_CONFIG` naming `what` when it cannot be allocated.
/// One fallible allocation does the check (no separate probe): natively the allocator refuses
/// what the OS will not give, on wasm32 the failed `memory.grow` does.
pub fn try_zeros<T: Clone + Default>(n: usize, what: &str) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        let detail =
            bytes_of(n, std::mem::size_of::<T>()).map_or("more bytes than the address space holds".to_string(), |b| human(b as u64));
        Error::config(format!("{what} needs {detail}, more than this machine can allocate; use smaller sizes"))
    })?;
    v.resize(n, T::default());
    Ok(v)
}

fn human(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_and_impossible_sizes_are_config_errors() {
        assert_eq!(ensure_allocatable(None, "x").unwrap_err().code, crate::ErrorCode::Config);
        assert_eq!(ensure_allocatable(Some(usize::MAX / 2), "x").unwrap_err().code, crate::ErrorCode::Config);
        assert!(try_zeros::<f32>(usize::MAX / 2, "x").is_err());
        assert!(ensure_allocatable(Some(1 << 20), "x").is_ok());
        assert_eq!(try_zeros::<f32>(3, "x").unwrap(), vec![0.0; 3]);
        assert_eq!(total(&[Some(1), None]), None);
        assert_eq!(total(&[Some(1), Some(2)]), Some(3));
    }
}
