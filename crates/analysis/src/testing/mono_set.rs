//! Generated MONAURAL calls with known turns and a known user: English and Japanese,
//! incoming and outgoing (the answering party speaks first), clearly different and
//! similar (pitch-shifted) voice pairs, in the formats PBXs upload.

use std::path::Path;
use std::process::Command;

use kiku_domain::{AudioFileType, EventType};

use super::{run, EspeakVoice, Line};

/// How a generated call is stored before upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// espeak-ng's own 16-bit PCM at 22,050 Hz.
    Pcm16,
    /// Telephone WAV: G.711 μ-law at 8 kHz.
    MuLaw8k,
    /// MP3 at 32 kb/s.
    Mp3,
}

/// `wav` (16-bit PCM) re-encoded as `encoding` with sox or ffmpeg, and its file type.
pub fn encode(
    work: &Path,
    wav: &[u8],
    encoding: Encoding,
) -> Result<(Vec<u8>, AudioFileType), String> {
    let input = || {
        let path = work.join("encode-in.wav");
        std::fs::write(&path, wav)
            .map(|()| path)
            .map_err(|e| e.to_string())
    };
    let (output, file_type) = match encoding {
        Encoding::Pcm16 => return Ok((wav.to_vec(), AudioFileType::Wav)),
        Encoding::MuLaw8k => {
            let output = work.join("encode-out.wav");
            run(Command::new("sox")
                .arg("-V1")
                .arg(input()?)
                .args(["-r", "8000", "-e", "mu-law"])
                .arg(&output))?;
            (output, AudioFileType::Wav)
        }
        Encoding::Mp3 => {
            let output = work.join("encode-out.mp3");
            run(Command::new("ffmpeg")
                .args(["-loglevel", "error", "-y", "-i"])
                .arg(input()?)
                .args(["-c:a", "libmp3lame", "-b:a", "32k"])
                .arg(&output))?;
            (output, AudioFileType::Mp3)
        }
    };
    Ok((std::fs::read(output).map_err(|e| e.to_string())?, file_type))
}

/// One generated mono call: voice `user` (0 or 1) is the company's user.
#[derive(Clone, Copy, Debug)]
pub struct MonoCase {
    pub name: &'static str,
    pub language: &'static str,
    pub event_type: EventType,
    pub voices: [EspeakVoice; 2],
    pub user: usize,
    pub encoding: Encoding,
    pub lines: &'static [Line],
}

const fn voice(name: &'static str, pitch: u8, shift_cents: i16) -> EspeakVoice {
    EspeakVoice {
        name,
        pitch,
        shift_cents,
    }
}

const fn line(speaker: usize, gap: f64, text: &'static str) -> Line {
    Line { speaker, gap, text }
}

/// The test set: every combination that matters appears at least once.
pub const MONO_CASES: &[MonoCase] = &[
    MonoCase {
        name: "english incoming, different voices, 8 kHz mu-law",
        language: "en",
        event_type: EventType::IncomingCall,
        voices: [voice("en-us", 30, 0), voice("en-gb+f3", 70, 0)],
        user: 0,
        encoding: Encoding::MuLaw8k,
        lines: INCOMING_EN,
    },
    MonoCase {
        name: "english outgoing, similar voices, mp3",
        language: "en",
        event_type: EventType::OutgoingCall,
        voices: [voice("en-us", 40, 0), voice("en-us", 40, 400)],
        user: 1,
        encoding: Encoding::Mp3,
        lines: OUTGOING_EN,
    },
    MonoCase {
        name: "japanese incoming, similar voices, wav",
        language: "ja",
        event_type: EventType::IncomingCall,
        voices: [voice("ja", 35, 0), voice("ja", 35, 400)],
        user: 0,
        encoding: Encoding::Pcm16,
        lines: INCOMING_JA,
    },
    MonoCase {
        name: "japanese outgoing, different voices, 8 kHz mu-law",
        language: "ja",
        event_type: EventType::OutgoingCall,
        voices: [voice("ja+f3", 70, 0), voice("ja", 30, 0)],
        user: 1,
        encoding: Encoding::MuLaw8k,
        lines: OUTGOING_JA,
    },
];

/// The user (voice 0) answers, introduces themselves; a 1.2 s overlap near the end.
const INCOMING_EN: &[Line] = &[
    line(
        0,
        0.0,
        "Thank you for calling Northwind Broadband, this is Daniel speaking. How can I help you?",
    ),
    line(
        1,
        0.6,
        "Hi Daniel, I am calling about my bill for this month. It is much higher than usual.",
    ),
    line(
        0,
        0.5,
        "I am sorry about that. Could you tell me your account number, please?",
    ),
    line(1, 0.7, "Sure, it is four five seven two nine one."),
    line(
        0,
        0.8,
        "Thank you. I can see an extra charge for a movie rental on the tenth.",
    ),
    line(
        1,
        0.5,
        "I never rented a movie, so please take that charge off my bill.",
    ),
    line(
        0,
        0.6,
        "Of course, I have removed it. Is there anything else I can help you with today?",
    ),
    line(1, -1.2, "No, that is all. Thank you so much, goodbye."),
];

/// The customer (voice 0) answers; the user (voice 1) introduces themselves.
const OUTGOING_EN: &[Line] = &[
    line(0, 0.0, "Hello?"),
    line(1, 0.7, "Hello, this is Emma calling from Northwind Broadband. Am I speaking with Mister Mitchell?"),
    line(0, 0.6, "Yes, that is me. What is this about?"),
    line(1, 0.5, "We are upgrading the fibre network in your street next week, and I would like to book an engineer visit."),
    line(0, 0.8, "Oh, I see. Will the internet be down for long?"),
    line(1, 0.6, "Only for about two hours. Would Tuesday morning suit you?"),
    line(0, 0.7, "Tuesday morning is fine. Thank you for letting me know."),
    line(1, 0.5, "You are welcome. The engineer will call you before arriving. Goodbye."),
];

/// 「お電話ありがとうございます、北風電気の鈴木と申します。」 (hiragana: espeak-ng reads no kanji).
const INCOMING_JA: &[Line] = &[
    line(0, 0.0, "おでんわ ありがとう ございます。 きたかぜ でんき の すずき と もうします。"),
    line(1, 0.6, "もしもし、 こんにちは。 こんげつ の せいきゅうしょ に ついて おききしたい のですが。"),
    line(0, 0.5, "かしこまりました。 おそれいりますが、 おきゃくさま の おなまえ を おねがい いたします。"),
    line(1, 0.7, "たなか はなこ です。"),
    line(0, 0.6, "たなかさま、 ありがとう ございます。 ただいま おしらべ いたします ので、 しょうしょう おまち ください。"),
    line(1, 0.8, "はい、 よろしく おねがいします。"),
    line(0, 1.0, "おまたせ いたしました。 こんげつ は でんき の しようりょう が おおかった ようです。"),
    line(1, 0.5, "そうですか。 わかりました。 ありがとう ございました。"),
];

/// The customer (voice 0) answers; the user (voice 1) names the company.
const OUTGOING_JA: &[Line] = &[
    line(0, 0.0, "はい、 たなか です。"),
    line(1, 0.6, "おせわに なって おります。 きたかぜ でんき の すずき と もうします。"),
    line(0, 0.5, "あ、 すずきさん。 おせわに なって おります。"),
    line(1, 0.6, "せんじつ の おみつもり の けん で おでんわ いたしました。 いま、 すこし よろしい でしょうか。"),
    line(0, 0.7, "はい、 だいじょうぶ です。"),
    line(1, 0.5, "ありがとう ございます。 らいしゅう の かようび に、 こうじ の ひと が うかがいます。"),
    line(0, 0.8, "わかりました。 よろしく おねがいします。"),
    line(1, 0.5, "それでは、 しつれい いたします。"),
];
