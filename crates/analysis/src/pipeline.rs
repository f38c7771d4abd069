//! One recording in, one role-free [`Transcript`] out: decode → 16 kHz per channel →
//! voice activity → stretches of joined speech → recognition (in parallel lanes) →
//! pitch. Every way a recording can be unusable is a [`AnalysisError::BadRecording`]
//! with the specific cause; engine trouble is an [`AnalysisError::Engine`] worth a retry.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use kiku_domain::analysis::{
    counts_characters, Language, Transcript, Utterance, Voice, Word, TRANSCRIPT_FORMAT,
};
use kiku_domain::metrics::Span;
use kiku_domain::{AudioFileType, ChannelType};

use crate::chunks::{heard, stretches, Stretch};
use crate::decode::{decode_file, Limits};
use crate::fallback::PROMPT_RESET_TEMPERATURE;
use crate::lanes;
use crate::mono;
use crate::pitch::pitch_stats;
use crate::recognise::{
    ComputeDevice, RecogniseError, Recogniser, RecogniserOptions, Segment, CHUNK_SAMPLES,
};
use crate::resample::{to_target_rate, TARGET_RATE};
use crate::speaker::{SpeakerEncoder, SpeakerError};
use crate::vad::{speech_spans, VadSettings};

/// Recordings shorter than this cannot be analysed.
const MIN_RECORDING_SECONDS: f64 = 1.0;
/// A recording covering less than this share of the call is not the call's recording.
const MIN_SHARE_OF_CALL: f64 = 0.5;
/// Speech is decoded in stretches of at most this much joined speech, each read in
/// Whisper's 30 s windows, the next starting where the text was complete
/// (faster-whisper's seeking). A stretch's last window is mostly short and costs a whole
/// encoder pass, so fewer, longer stretches cost less; they are also what the lanes
/// share, so a call still splits into enough of them to keep every lane busy.
const STRETCH_SECONDS: f64 = 90.0;
/// Seek again only when this much speech is left undecoded, and progress is this much.
const SEEK_MIN_SECONDS: f64 = 1.0;
/// Tokens of previous text kept per voice (more than a prompt takes).
const CONTEXT_KEPT: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The recording cannot be analysed; retrying will not help.
    #[error("{0}")]
    BadRecording(String),
    /// Kiku cannot analyse this kind of call yet; retrying will not help.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    Engine(#[from] RecogniseError),
    #[error("cannot load the speaker encoder: {0}")]
    SpeakerEncoder(#[from] SpeakerError),
    /// The caller asked to stop (lease lost, shutting down, time limit).
    #[error("the analysis was stopped")]
    Stopped,
}

impl AnalysisError {
    /// Whether the call should fail now rather than be retried.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            AnalysisError::BadRecording(_) | AnalysisError::Unsupported(_)
        )
    }
}

/// What the engine needs to know about one recording.
#[derive(Debug)]
pub struct Recording {
    /// The recording's file, read as it is decoded (never whole into memory).
    pub audio: std::fs::File,
    /// The type the PBX declared; `None` accepts any supported format.
    pub declared: Option<AudioFileType>,
    pub channel_type: ChannelType,
    /// How long the call lasted by its call data, when known.
    pub call_seconds: Option<f64>,
    pub language: Language,
    /// Words the recogniser is told to expect (the company's vocabulary and keywords, the
    /// participants' names: `AnalysisSettings::recognition_vocabulary`); may be empty.
    pub vocabulary: Vec<String>,
}

/// How the engine runs.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// CPU threads for recognition in all (split between two lanes), and for
    /// speaker embeddings.
    pub threads: usize,
    pub beam_size: usize,
    /// Where recognition runs (the speaker encoder and everything else run on the CPU).
    pub device: ComputeDevice,
    /// No recording is decoded past this, whatever the call data says.
    pub max_recording_seconds: f64,
    /// The speaker encoder (`encoder.safetensors`) that separates the voices of MONAURAL
    /// calls; without it they are refused.
    pub speaker_encoder: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            beam_size: 5,
            device: ComputeDevice::Cpu,
            max_recording_seconds: 4.0 * 3600.0,
            speaker_encoder: None,
        }
    }
}

/// A loaded speech model and the settings it runs with. `Sync`: one engine serves
/// every worker.
pub struct Engine {
    recogniser: Recogniser,
    speaker: Option<SpeakerEncoder>,
    options: EngineOptions,
    /// Recognition runs in parallel in this many lanes (the model's replicas).
    lanes: usize,
    description: String,
}

impl Engine {
    pub fn load(model_dir: &Path, options: EngineOptions) -> Result<Self, AnalysisError> {
        let threads = options.threads.max(1);
        let replicas = threads.min(2);
        let recogniser = Recogniser::load(
            model_dir,
            RecogniserOptions {
                replicas,
                threads_per_replica: (threads / replicas).max(1),
                beam_size: options.beam_size,
                device: options.device,
            },
        )?;
        let model = model_dir.file_name().map_or_else(
            || model_dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let speaker = options
            .speaker_encoder
            .as_deref()
            .map(|path| SpeakerEncoder::load(path).map(|e| e.with_threads(threads)))
            .transpose()?;
        let description = format!(
            "whisper {model} int8 beam {}{}; webrtc vad; yin f0{}",
            options.beam_size.max(1),
            match options.device {
                ComputeDevice::Cpu => String::new(),
                ComputeDevice::Cuda(i) => format!(" on cuda:{i}"),
            },
            if speaker.is_some() {
                "; ge2e 2-means diarization"
            } else {
                ""
            }
        );
        Ok(Self {
            recogniser,
            speaker,
            options,
            lanes: replicas,
            description,
        })
    }

    /// Model and pipeline, as stored next to each analysis.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Analyses `recording`. `progress` gets the share done (0–1) and returns `false` to
    /// stop the analysis.
    pub fn analyse(
        &self,
        recording: Recording,
        progress: &(dyn Fn(f64) -> bool + Sync),
    ) -> Result<Transcript, AnalysisError> {
        let Recording {
            audio,
            declared,
            channel_type,
            call_seconds,
            language,
            vocabulary,
        } = recording;
        let encoder = match (channel_type, &self.speaker) {
            (ChannelType::Stereo, _) => None,
            (ChannelType::Monaural, Some(encoder)) => Some(encoder),
            (ChannelType::Monaural, None) => {
                return Err(AnalysisError::Unsupported(
                    "MONAURAL calls need the speaker encoder, which is not installed (scripts/install-models installs it)".into(),
                ))
            }
        };
        let (channels, truncated) = self.decode(audio, declared, call_seconds, channel_type)?;
        let duration = channels[0].len() as f64 / f64::from(TARGET_RATE);
        // Each STEREO channel holds one party, so voices far below them are background;
        // a MONAURAL recording holds both, and the quieter party must not be cut.
        let vad = match channel_type {
            ChannelType::Stereo => VadSettings::one_party(),
            ChannelType::Monaural => VadSettings::default(),
        };
        let speech: Vec<Vec<Span>> = channels.iter().map(|c| speech_spans(c, vad)).collect();
        if speech.iter().all(Vec::is_empty) {
            return Err(bad("no speech was found in the recording"));
        }
        let stretches: Vec<Vec<Stretch>> = speech
            .iter()
            .map(|s| stretches(&heard(s, duration), STRETCH_SECONDS))
            .collect();
        let language = match &language {
            Language::Fixed(code) => code.clone(),
            Language::Auto => self.detect_language(&channels, &stretches)?,
        };
        let vocabulary = self.recogniser.vocabulary_tokens(&vocabulary, &language);
        // Progress counts windows, about one per 30 s of a stretch (seeking adds some).
        let total = stretches
            .iter()
            .flatten()
            .map(|s| (s.seconds() / 30.0).ceil().max(1.0) as usize)
            .sum::<usize>()
            .max(1);
        let done = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let tick = || {
            let n = done.fetch_add(1, Ordering::SeqCst) + 1;
            if !progress((n as f64 / total as f64).min(1.0)) {
                stop.store(true, Ordering::SeqCst);
            }
            !stop.load(Ordering::SeqCst)
        };
        let costs: Vec<Vec<f64>> = stretches
            .iter()
            .map(|ws| {
                ws.iter()
                    .map(|w| w.seconds() + lanes::WINDOW_OVERHEAD_SECONDS)
                    .collect()
            })
            .collect();
        let per_lane: Vec<Result<Vec<Utterance>, AnalysisError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = lanes::plan(&costs, self.lanes)
                .into_iter()
                .map(|lane| {
                    let (channels, stretches, language, vocabulary, tick) =
                        (&channels, &stretches, &language, &vocabulary, &tick);
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for run in lane {
                            let (samples, stretches) = (
                                &channels[run.channel],
                                &stretches[run.channel][run.stretches],
                            );
                            out.extend(self.transcribe(
                                run.channel,
                                samples,
                                stretches,
                                language,
                                vocabulary,
                                tick,
                            )?);
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(bad("the recogniser crashed on this recording")))
                })
                .collect()
        });
        let mut utterances = Vec::new();
        for result in per_lane {
            utterances.extend(result?);
        }
        for u in &mut utterances {
            end_words_with_speech(u, &speech[u.speaker]);
        }
        utterances.sort_by(|a, b| a.start.total_cmp(&b.start));
        // Each speaker's speech, and the channel it is on.
        let (speech, utterances, on_channel): ([Vec<Span>; 2], _, [usize; 2]) = match encoder {
            Some(encoder) => {
                let d = mono::diarize_speech(encoder, &channels[0], &speech[0]);
                let joiner = if counts_characters(&language) {
                    ""
                } else {
                    " "
                };
                (
                    d.turns.clone(),
                    mono::assign(utterances, &d, joiner),
                    [0, 0],
                )
            }
            None => ([speech[0].clone(), speech[1].clone()], utterances, [0, 1]),
        };
        let voice = |i: usize| {
            pitch_stats(&channels[on_channel[i]], &speech[i]).map(|p| Voice {
                f0_mean_hz: p.mean_hz,
                f0_std_dev_hz: p.std_dev_hz,
            })
        };
        Ok(Transcript {
            format: TRANSCRIPT_FORMAT,
            duration_seconds: duration,
            language,
            voices: [voice(0), voice(1)],
            speech,
            utterances,
            // One channel cannot show two voices at once: turns never overlap there.
            overlaps_estimated: encoder.is_some(),
            truncated,
        })
    }

    /// Two 16 kHz channels of the recording and whether it ran past the decode cap, or
    /// why there are none.
    fn decode(
        &self,
        audio: std::fs::File,
        declared: Option<AudioFileType>,
        call_seconds: Option<f64>,
        channel_type: ChannelType,
    ) -> Result<(Vec<Vec<f32>>, bool), AnalysisError> {
        let max_seconds = call_seconds
            .map_or(self.options.max_recording_seconds, |s| s * 1.25 + 120.0)
            .min(self.options.max_recording_seconds);
        let limits = Limits {
            max_seconds,
            max_channels: 2,
        };
        let audio = decode_file(audio, declared, limits).map_err(|e| bad(&e.to_string()))?;
        let (seconds, truncated) = (audio.seconds(), audio.truncated);
        if seconds < MIN_RECORDING_SECONDS {
            return Err(bad(&format!("the recording is only {seconds:.1} s long")));
        }
        if let Some(call) = call_seconds {
            if call > 10.0 && seconds < call * MIN_SHARE_OF_CALL {
                return Err(bad(&format!(
                    "the recording lasts {seconds:.1} s but the call lasted {call:.1} s"
                )));
            }
        }
        let channels = match (channel_type, audio.channels.len()) {
            (ChannelType::Stereo, 2) | (ChannelType::Monaural, 1) => audio.channels,
            // A MONAURAL call recorded on two channels: both voices, mixed down.
            (ChannelType::Monaural, _) => vec![audio.mixed_down()],
            (ChannelType::Stereo, n) => {
                return Err(bad(&format!(
                    "the call is STEREO but the recording has {n} channel(s)"
                )))
            }
        };
        let channels =
            to_target_rate(&channels, audio.sample_rate).map_err(|e| bad(&e.to_string()))?;
        Ok((channels, truncated))
    }

    /// The language of the first 30 s of the channel with the most speech.
    fn detect_language(
        &self,
        channels: &[Vec<f32>],
        stretches: &[Vec<Stretch>],
    ) -> Result<String, AnalysisError> {
        let busiest = (0..channels.len())
            .max_by(|a, b| {
                let speech = |i: usize| {
                    stretches[i]
                        .iter()
                        .map(Stretch::speech_seconds)
                        .sum::<f64>()
                };
                speech(*a).total_cmp(&speech(*b))
            })
            .unwrap_or(0);
        let Some(first) = stretches[busiest].first() else {
            return Ok("en".into());
        };
        let samples = first.samples(&channels[busiest], f64::from(TARGET_RATE));
        Ok(self.recogniser.detect_language(&samples)?)
    }

    fn transcribe(
        &self,
        speaker: usize,
        samples: &[f32],
        stretches: &[Stretch],
        language: &str,
        vocabulary: &[String],
        tick: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<Utterance>, AnalysisError> {
        let rate = f64::from(TARGET_RATE);
        let mut out = Vec::new();
        // What this voice said so far, for conditioning (one channel is one voice).
        let mut context: Vec<String> = Vec::new();
        for stretch in stretches {
            let audio = stretch.samples(samples, rate);
            let mut seek = 0.0;
            loop {
                let from = ((seek * rate) as usize).min(audio.len());
                let decoded = self.recogniser.transcribe_chunk(
                    &audio[from..],
                    seek,
                    language,
                    vocabulary,
                    &context,
                )?;
                let cut = decoded.resume_at.is_some();
                let reached = match decoded.resume_at {
                    Some(at) => seek + at,
                    None => decoded.segments.last().map_or(seek, |s| s.end),
                };
                // Text sampled hot is no context for the next window (faster-whisper's
                // prompt reset), nor is anything before it.
                if decoded.temperature > PROMPT_RESET_TEMPERATURE {
                    context.clear();
                } else {
                    context.extend(decoded.tokens);
                    let keep = context.len().saturating_sub(CONTEXT_KEPT);
                    context.drain(..keep);
                }
                for segment in decoded.segments {
                    out.extend(utterances(speaker, segment, stretch, language));
                }
                // Whisper may end its output before the window does, or leave its last
                // segment unfinished: decode the rest from where its output is complete
                // (faster-whisper's seeking). A window that gave nothing (or next to
                // nothing) is passed over whole, as faster-whisper does.
                let (progress, left) = if cut {
                    (0.0, 0.0)
                } else {
                    (SEEK_MIN_SECONDS, SEEK_MIN_SECONDS)
                };
                let window_end = seek + (audio.len() - from).min(CHUNK_SAMPLES) as f64 / rate;
                let next = if reached > seek + progress {
                    reached
                } else {
                    window_end
                };
                if !tick() {
                    return Err(AnalysisError::Stopped);
                }
                if stretch.speech_after(next) > left {
                    seek = next;
                } else {
                    break;
                }
            }
        }
        Ok(out)
    }
}

/// What ends a sentence, in the scripts Whisper writes.
const SENTENCE_ENDS: &[char] = &['.', '?', '!', '。', '？', '！'];

/// Pauses longer than this between joined spans split a segment into two utterances.
const TURN_GAP_SECONDS: f64 = 1.0;

/// A recognised segment as utterances in recording time. Whisper may run one segment
/// across a joint of the stretch; with word timings it is split there when the speaker
/// paused for more than [`TURN_GAP_SECONDS`] (another party's turn lies in between).
fn utterances(
    speaker: usize,
    segment: Segment,
    stretch: &Stretch,
    language: &str,
) -> Vec<Utterance> {
    let start = stretch.to_recording(segment.start, true);
    let end = stretch.to_recording(segment.end, false).max(start);
    if segment.words.is_empty() {
        return vec![Utterance {
            speaker,
            start,
            end,
            text: segment.text,
            words: Vec::new(),
        }];
    }
    let mut groups: Vec<(Span, Vec<Word>)> = Vec::new();
    let mut sentence_ended = false;
    for w in segment.words {
        let at = stretch.word_start(w.start);
        // The aligner stretches a word over the pause next to it: the first word after a
        // pause can start well inside the piece before it, the last one before a pause
        // can end inside the next. A word that starts a sentence goes with the piece
        // holding its end, any other with the piece holding its start.
        let span = if sentence_ended {
            stretch.span_at(w.end.max(at) - 1e-3)
        } else {
            stretch.span_at(at)
        };
        sentence_ended = w.text.trim_end().ends_with(SENTENCE_ENDS);
        let start = stretch.to_recording(at, true).max(span.start);
        let word = Word {
            start,
            end: stretch
                .to_recording(w.end.max(at), false)
                .clamp(start, span.end),
            text: w.text,
            probability: Some(w.probability),
        };
        // Punctuation alone ("。" aligned after the pause) closes what came before.
        let punctuation = !word.text.chars().any(char::is_alphanumeric);
        match groups.last_mut() {
            Some((_, words)) if punctuation => {
                let at = words.last().map_or(word.start, |w| w.end);
                words.push(Word {
                    start: at,
                    end: at,
                    ..word
                });
            }
            Some((last, words)) if span.start - last.end <= TURN_GAP_SECONDS => {
                *last = Span::new(last.start, span.end.max(last.end));
                words.push(word);
            }
            _ => groups.push((span, vec![word])),
        }
    }
    let joiner = if counts_characters(language) { "" } else { " " };
    groups
        .into_iter()
        .filter_map(|(_, words)| utterance_of_words(speaker, words, joiner))
        .filter(|u| u.text.chars().any(char::is_alphanumeric))
        .collect()
}

/// The model hears a little past the speech ([`heard`]) and the aligner stretches a
/// word over the pause after it: a word ends no later than the speech it lies in.
fn end_words_with_speech(utterance: &mut Utterance, speech: &[Span]) {
    for w in &mut utterance.words {
        if let Some(span) = speech
            .iter()
            .rev()
            .find(|s| s.start < w.end && s.end > w.start)
        {
            w.end = w.end.min(span.end).max(w.start);
        }
    }
    if let Some(last) = utterance.words.last() {
        utterance.end = last.end.max(utterance.start);
    }
}

/// An utterance made of `words`, its text the words joined as the language writes them.
pub(crate) fn utterance_of_words(
    speaker: usize,
    words: Vec<Word>,
    joiner: &str,
) -> Option<Utterance> {
    let (start, end) = (words.first()?.start, words.last()?.end);
    let text = words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(joiner);
    Some(Utterance {
        speaker,
        start,
        end,
        text,
        words,
    })
}

fn bad(cause: &str) -> AnalysisError {
    AnalysisError::BadRecording(cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunks::stretches;
    use crate::recognise::TimedWord;

    fn word(start: f64, end: f64, text: &str) -> TimedWord {
        TimedWord {
            start,
            end,
            text: text.into(),
            probability: 0.9,
        }
    }

    #[test]
    fn words_stretched_over_a_pause_stay_in_their_sentence() {
        // Pieces 5 and 6 s apart in the recording, joined with 0.4 s gaps in the stretch:
        // [10, 12] at stretch 0–2, [17, 19] at 2.4–4.4 and [25, 26] at 4.8–5.8.
        let spans = [
            Span::new(10.0, 12.0),
            Span::new(17.0, 19.0),
            Span::new(25.0, 26.0),
        ];
        let stretch = stretches(&spans, 30.0).remove(0);
        let segment = Segment {
            start: 0.0,
            end: 5.0,
            text: "3時間ほどです。ありがとう。".into(),
            words: vec![
                word(0.2, 1.5, "です。"),
                // The aligner starts it inside the first piece; it ends in the second.
                word(1.8, 2.6, "あり"),
                word(2.6, 3.2, "がとう"),
                // Aligned after a long pause: it still ends the sentence before it.
                word(4.9, 5.0, "。"),
            ],
        };
        let said = utterances(0, segment.clone(), &stretch, "ja");
        let texts: Vec<&str> = said.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(texts, ["です。", "ありがとう。"]);
        assert!(said[1].start >= 17.0, "{:?}", said[1]);
        assert!(said[0].end <= 12.0, "{:?}", said[0]);
        assert_eq!(said[1].end, said[1].words[1].end, "the stop adds no time");

        // The last word before a pause, its end stretched into the next piece, stays.
        let english = Segment {
            start: 0.0,
            end: 3.2,
            text: "The delivery was missed yesterday. I am".into(),
            words: vec![
                word(0.2, 1.0, "The delivery"),
                word(1.0, 1.6, "was missed"),
                word(1.7, 2.5, "yesterday."),
                word(2.5, 3.0, "I"),
                word(3.0, 3.2, "am"),
            ],
        };
        let said = utterances(0, english, &stretch, "en");
        let texts: Vec<&str> = said.iter().map(|u| u.text.as_str()).collect();
        assert_eq!(texts, ["The delivery was missed yesterday.", "I am"]);

        // Punctuation alone is no utterance.
        let alone = Segment {
            words: vec![word(2.5, 2.6, "。")],
            ..segment
        };
        assert!(utterances(0, alone, &stretch, "ja").is_empty());
    }

    #[test]
    fn a_word_ends_with_the_speech_it_lies_in() {
        let w = |start: f64, end: f64, text: &str| Word {
            start,
            end,
            text: text.into(),
            probability: Some(0.9),
        };
        let mut said = Utterance {
            speaker: 0,
            start: 20.0,
            end: 25.5,
            text: "Thanks. Goodbye.".into(),
            words: vec![w(20.0, 21.0, "Thanks."), w(24.5, 25.5, "Goodbye.")],
        };
        end_words_with_speech(&mut said, &[Span::new(19.9, 21.2), Span::new(24.4, 25.1)]);
        assert_eq!((said.words[0].end, said.words[1].end), (21.0, 25.1));
        assert_eq!(said.end, 25.1);
        // A word in no speech (the model heard it in a kept pause) keeps its times.
        end_words_with_speech(&mut said, &[Span::new(10.0, 12.0)]);
        assert_eq!(said.end, 25.1);
    }
}
