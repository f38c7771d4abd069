//! The analysis pipeline, step by step: decoding recordings by their content, resampling
//! to the 16 kHz the speech models take, Whisper's log-mel features, voice activity per
//! channel; recognition and the wiring to metrics follow.

pub mod chunks;
pub mod decode;
pub mod diarize;
pub mod log_mel;
pub mod pipeline;
pub mod pitch;
pub mod recognise;
pub mod resample;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod vad;
pub mod words;
