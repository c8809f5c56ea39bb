//! Bit-packed binary-coding kernels (`y = Ŵ·x` without dequantizing): scalar reference and
//! one file per ISA.
