//! Conversation metrics computed from who spoke when (MiiTel's definitions), fillers, and
//! the score. Pure functions over seconds-based spans, shared by stereo and mono calls.

pub mod fillers;
pub mod score;
pub mod timeline;

pub use score::{ScoreInputs, ScoreRule};
pub use timeline::{Span, Timeline};
