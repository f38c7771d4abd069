//! Whisper's temperature fallback, as Whisper and faster-whisper run it. Conditioned on
//! earlier text, beam search sometimes loops ("sorry about that, we should have sent you
//! a letter" four times over) or drifts into text the audio does not hold; the output
//! then compresses too well or is too unlikely, and the window is decoded again by
//! sampling at rising temperatures. Pure rules; the model calls live in `recognise`.

use std::io::Write;

use flate2::write::ZlibEncoder;
use flate2::Compression;

/// Temperatures tried in turn: beam search first, then sampling.
pub const TEMPERATURES: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
/// Hypotheses sampled at a temperature above zero (faster-whisper's `best_of`).
pub const BEST_OF: usize = 5;
/// Text that compresses better than this repeats itself.
const COMPRESSION_RATIO_THRESHOLD: f64 = 2.4;
/// Text the model finds less likely than this (mean log-probability per token) is doubtful.
pub const LOG_PROB_THRESHOLD: f64 = -1.0;
/// A window the model judges this likely to hold no speech is silent (when it is also
/// unsure of its text).
const NO_SPEECH_THRESHOLD: f64 = 0.6;
/// Text decoded above this temperature is not used as context for the next window.
pub const PROMPT_RESET_TEMPERATURE: f32 = 0.5;

/// What one decoding attempt gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attempt {
    pub temperature: f32,
    /// Mean log-probability per token: CTranslate2's score with length penalty 1.
    /// (faster-whisper divides the sum by one token more, which let a lone "you" through
    /// on pure silence; its VAD never gives it pure silence.)
    pub avg_log_prob: f64,
    pub compression_ratio: f64,
    pub no_speech_prob: f64,
}

/// What to do with an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    /// The window holds no speech: no text, and no point in sampling.
    Silence,
    /// Decode again at the next temperature.
    Retry,
}

impl Attempt {
    pub fn verdict(&self) -> Verdict {
        let unsure = self.avg_log_prob < LOG_PROB_THRESHOLD;
        if self.no_speech_prob > NO_SPEECH_THRESHOLD && unsure {
            Verdict::Silence
        } else if self.compression_ratio > COMPRESSION_RATIO_THRESHOLD || unsure {
            Verdict::Retry
        } else {
            Verdict::Accept
        }
    }
}

/// Text bytes over zlib-compressed bytes: about 1.5–2 for speech, more for loops.
pub fn compression_ratio(text: &str) -> f64 {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return 0.0;
    }
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .map_or(bytes.len(), |c| c.len());
    bytes.len() as f64 / compressed.max(1) as f64
}

/// Which attempt to keep when every temperature was retried: the likeliest one that does
/// not repeat itself, else the likeliest.
pub fn best(attempts: &[Attempt]) -> Option<usize> {
    let likeliest = |keep: &dyn Fn(&Attempt) -> bool| {
        attempts
            .iter()
            .enumerate()
            .filter(|(_, a)| keep(a))
            .max_by(|(_, a), (_, b)| a.avg_log_prob.total_cmp(&b.avg_log_prob))
            .map(|(i, _)| i)
    };
    likeliest(&|a| a.compression_ratio <= COMPRESSION_RATIO_THRESHOLD)
        .or_else(|| likeliest(&|_| true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(avg_log_prob: f64, compression_ratio: f64, no_speech_prob: f64) -> Attempt {
        Attempt {
            temperature: 0.0,
            avg_log_prob,
            compression_ratio,
            no_speech_prob,
        }
    }

    #[test]
    fn loops_compress_well_and_speech_does_not() {
        let speech = "Thank you, that is reassuring. While I have you, can I ask about my bill?";
        assert!(
            compression_ratio(speech) < 1.5,
            "{}",
            compression_ratio(speech)
        );
        let looped = "I am sorry about that, we should have sent you a letter. ".repeat(4);
        assert!(compression_ratio(&looped) > COMPRESSION_RATIO_THRESHOLD);
        assert_eq!(compression_ratio(""), 0.0);
    }

    #[test]
    fn verdicts() {
        assert_eq!(attempt(-0.3, 1.6, 0.01).verdict(), Verdict::Accept);
        assert_eq!(attempt(-0.3, 3.1, 0.01).verdict(), Verdict::Retry, "a loop");
        assert_eq!(
            attempt(-1.4, 1.6, 0.1).verdict(),
            Verdict::Retry,
            "unlikely text"
        );
        assert_eq!(attempt(-1.4, 1.6, 0.9).verdict(), Verdict::Silence);
        assert_eq!(
            attempt(-0.2, 1.6, 0.9).verdict(),
            Verdict::Accept,
            "confident text is kept even where the model suspects silence"
        );
    }

    #[test]
    fn the_likeliest_attempt_that_does_not_loop_is_kept() {
        let attempts = [
            attempt(-0.2, 3.0, 0.0),
            attempt(-1.5, 1.8, 0.0),
            attempt(-1.2, 2.0, 0.0),
        ];
        assert_eq!(best(&attempts), Some(2));
        let all_loop = [attempt(-0.9, 3.0, 0.0), attempt(-0.5, 2.8, 0.0)];
        assert_eq!(best(&all_loop), Some(1));
        assert_eq!(best(&[]), None);
    }
}
