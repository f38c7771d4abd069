//! The analysis engine, step by step: decoding recordings by their content, resampling to
//! the 16 kHz the speech models take, voice activity per channel, stretches of joined speech,
//! Whisper recognition with word timings, pitch, and the [`pipeline`] that runs them for a
//! call (with the company's vocabulary in the prompt, [`tokenizer`]); [`diarize`] and the speaker encoder prepare mono calls; [`sentiment`] reads the
//! sentiment lexicons.

pub mod chunks;
pub mod decode;
pub mod diarize;
pub mod fallback;
pub mod lanes;
pub mod log_mel;
pub mod mono;
pub mod pipeline;
pub mod pitch;
pub mod recognise;
pub mod resample;
pub mod sentiment;
pub mod speaker;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod tokenizer;
pub mod vad;
pub mod words;
