//! The analysis pipeline, step by step: decoding recordings by their content (this
//! module so far); voice activity, recognition and metrics follow (see issue notes).

pub mod decode;
