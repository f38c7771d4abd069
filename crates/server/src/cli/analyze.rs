//! `kiku analyze FILE`: one local recording through the same engine and report as
//! uploaded calls, without a server or database; prints the MiiTel-shaped call detail.

use std::path::PathBuf;

use clap::Args;
use kiku_analysis::pipeline::{AnalysisError, Engine, Recording};
use kiku_domain::analysis::{
    call_detail, company_side, detail_parties, speaker_of_channel, AnalysisSettings, Language,
    Roles, UserHints,
};
use kiku_domain::{CallData, CallId, ChannelType, EventType, Participant, Side, StereoChannel};
use serde_json::Value;

use crate::app::call_analysis;
use crate::config::Config;

#[derive(Args)]
pub struct AnalyzeArgs {
    /// A WAV, MP3 or M4A recording (the format is read from the content).
    pub file: PathBuf,
    /// The stereo channel the user (the company side) speaks on.
    #[arg(long, default_value = "left", value_parser = ["left", "right"])]
    pub user_channel: String,
    /// A single-channel recording of both parties (speaker separation).
    #[arg(long)]
    pub mono: bool,
    /// The call's event type; it says which party (FROM or TO) is the user.
    #[arg(long, default_value = "OUTGOING_CALL")]
    pub event_type: String,
    /// `auto` or a language code such as `en` or `ja`.
    #[arg(long, default_value = "auto")]
    pub language: String,
    /// CTranslate2 Whisper model folder (default: the configured one).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Company keywords to count, comma separated.
    #[arg(long, value_delimiter = ',')]
    pub keywords: Vec<String>,
    /// Words the recogniser should expect (product and people's names), comma separated;
    /// with the keywords and the --user-name names they head Whisper's prompt.
    #[arg(long, value_delimiter = ',')]
    pub vocabulary: Vec<String>,
    /// The user's name (repeatable): given to the recogniser, and with --mono looked for
    /// in a self-introduction.
    #[arg(long)]
    pub user_name: Vec<String>,
    /// With --mono: the company's name, which a self-introduction may say.
    #[arg(long)]
    pub company_name: Option<String>,
}

/// A failure with the code printed in the error object.
pub struct Failure {
    pub code: &'static str,
    pub message: String,
}

fn fail(code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        code,
        message: message.into(),
    }
}

pub fn run(config: &Config, args: AnalyzeArgs) -> Result<Value, Failure> {
    let event = EventType::parse(&args.event_type).ok_or_else(|| {
        fail(
            "invalid_request",
            format!(
                "--event-type {:?} is not a known event type",
                args.event_type
            ),
        )
    })?;
    let language = Language::try_from(args.language.clone())
        .map_err(|e| fail("invalid_request", format!("--language: {e}")))?;
    let settings = AnalysisSettings {
        language: language.clone(),
        keywords: args.keywords.clone(),
        vocabulary: args.vocabulary.clone(),
        ..Default::default()
    };
    settings
        .validate()
        .map_err(|e| fail("invalid_request", e))?;
    // Read as it is decoded, never whole into memory.
    let opened = std::fs::File::open(&args.file).and_then(|file| {
        if file.metadata()?.is_dir() {
            return Err(std::io::Error::other("it is a folder"));
        }
        Ok(file)
    });
    let audio = opened.map_err(|e| {
        fail(
            "unreadable_file",
            format!("cannot read {}: {e}", args.file.display()),
        )
    })?;
    let model = args.model.clone().unwrap_or_else(|| config.model_dir());
    if !model.join("model.bin").is_file() {
        return Err(fail(
            "no_model",
            format!(
                "no speech model in {}: run scripts/install-models or pass --model DIR",
                model.display()
            ),
        ));
    }
    let channel_type = if args.mono {
        ChannelType::Monaural
    } else {
        ChannelType::Stereo
    };
    let engine = Engine::load(&model, config.engine_options())
        .map_err(|e| fail("engine_failed", e.to_string()))?;
    let transcript = engine
        .analyse(
            Recording {
                audio,
                declared: None,
                channel_type,
                call_seconds: None,
                language,
                vocabulary: settings.recognition_vocabulary(&args.user_name),
            },
            &|_| true,
        )
        .map_err(|e| match e {
            AnalysisError::Unsupported(reason) => fail("unsupported", reason),
            e if e.is_permanent() => fail(
                "analysis_failed",
                format!("{}: {e}", kiku_domain::call_status::ANALYSIS_FAILED_MESSAGE),
            ),
            e => fail("engine_failed", e.to_string()),
        })?;

    let user_channel = if args.user_channel == "right" {
        StereoChannel::Right
    } else {
        StereoChannel::Left
    };
    let user_side = company_side(event);
    let data = local_call(
        event,
        user_side,
        user_channel,
        transcript.duration_seconds,
        channel_type,
    );
    let roles = if args.mono {
        let hints = UserHints {
            user_names: args.user_name.clone(),
            company_name: args.company_name.clone(),
        };
        call_analysis::decide_roles(&data, &transcript, &hints)
    } else {
        // The operator said which channel is the user's: no decision to make.
        Roles {
            user_speaker: speaker_of_channel(user_channel),
            user_side,
            confidence: 1.0,
            basis: format!("--user-channel {}", args.user_channel),
        }
    };
    let lexicons = crate::bootstrap::sentiment_lexicons(config);
    let report = crate::app::analysis::scored_report(&transcript, &roles, &settings, &lexicons);
    let parties = detail_parties(&data, &roles, |_| None);
    Ok(call_detail(CallId::new(), &data, &parties, &report))
}

/// Call data for a file that came with none: now, for as long as the recording lasts.
fn local_call(
    event: EventType,
    user_side: Side,
    user_channel: StereoChannel,
    seconds: f64,
    channel_type: ChannelType,
) -> CallData {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let other_channel = match user_channel {
        StereoChannel::Left => StereoChannel::Right,
        StereoChannel::Right => StereoChannel::Left,
    };
    let party = |side: Side| Participant {
        side,
        stereo_lr: if side == user_side {
            user_channel
        } else {
            other_channel
        },
        miitel_user_id: None,
        number: String::new(),
        name: None,
    };
    CallData {
        call_data_id: "local-file".into(),
        audio_file_type: kiku_domain::AudioFileType::Wav,
        event_type: event,
        group_name: None,
        queue_name: None,
        call_starts_at: now,
        call_answered_at: Some(now),
        call_ends_at: now + time::Duration::seconds_f64(seconds),
        circuit_number: None,
        audio_channel_type: channel_type,
        participants: vec![party(Side::From), party(Side::To)],
        tags: Vec::new(),
        extra: Default::default(),
    }
}
