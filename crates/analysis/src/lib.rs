//! The analysis pipeline, step by step: decoding recordings by their content, resampling
//! to the 16 kHz the speech models take; voice activity, recognition and metrics follow.

pub mod decode;
pub mod log_mel;
pub mod resample;
