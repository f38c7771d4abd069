//! The recording decoder on raw bytes, and on small real recordings (WAV PCM/μ-law/A-law/
//! float, MP3, AAC in M4A) changed the ways broken or hostile files are: cut short, bits
//! flipped, header sizes and counts set to absurd values. A decoder panic is a finding
//! here even though `decode` turns it into an error for the server.
#![no_main]

// `decode.rs` is compiled in as is: the analysis crate also links the speech engine
// (CTranslate2, a C++ build of minutes) which the decoder does not use.
#[allow(dead_code)]
#[path = "../../crates/analysis/src/decode.rs"]
mod decode;

use decode::{decode, decode_any, DecodeError, Limits};
use kiku_domain::AudioFileType;
use kiku_fuzz::Choices;
use libfuzzer_sys::fuzz_target;

const SEEDS: &[(AudioFileType, &[u8])] = &[
    (AudioFileType::Wav, include_bytes!("../seeds/s16.wav")),
    (AudioFileType::Wav, include_bytes!("../seeds/mulaw.wav")),
    (
        AudioFileType::Wav,
        include_bytes!("../seeds/alaw-stereo.wav"),
    ),
    (AudioFileType::Wav, include_bytes!("../seeds/float.wav")),
    (AudioFileType::Mp3, include_bytes!("../seeds/mono.mp3")),
    (AudioFileType::M4a, include_bytes!("../seeds/stereo.m4a")),
];

/// Values a size, count or rate field is set to.
const ABSURD: &[u32] = &[
    0,
    1,
    2,
    3,
    0xFF,
    0xFFFF,
    0x7FFF_FFFF,
    0x8000_0000,
    0xFFFF_FFF0,
    u32::MAX,
];

fuzz_target!(|data: &[u8]| {
    let mut c = Choices::new(data);
    if c.byte().is_multiple_of(2) {
        check(decode_any(c.rest().to_vec(), Limits::default()));
        return;
    }
    let (declared, seed) = SEEDS[c.below(SEEDS.len())];
    let mut file = seed.to_vec();
    for _ in 0..=c.below(4) {
        mutate(&mut file, &mut c);
    }
    // To turn a finding into a test: the file it decodes (`KIKU_FUZZ_DUMP=file.m4a audio crash-…`).
    if let Some(path) = std::env::var_os("KIKU_FUZZ_DUMP") {
        std::fs::write(path, &file).expect("KIKU_FUZZ_DUMP is writable");
    }
    check(decode(file, declared, Limits::default()));
});

fn mutate(file: &mut Vec<u8>, c: &mut Choices<'_>) {
    let at = c.below(file.len());
    match c.byte() % 5 {
        0 => file.truncate(at),
        1 => {
            if let Some(b) = file.get_mut(at) {
                *b ^= 1 << (c.byte() % 8);
            }
        }
        // A 16- or 32-bit field, either byte order (RIFF is little-endian, MP4 big).
        2 | 3 => {
            let value = ABSURD[c.below(ABSURD.len())];
            let bytes = match c.byte() % 4 {
                0 => value.to_le_bytes().to_vec(),
                1 => value.to_be_bytes().to_vec(),
                2 => (value as u16).to_le_bytes().to_vec(),
                _ => (value as u16).to_be_bytes().to_vec(),
            };
            for (i, b) in bytes.into_iter().enumerate() {
                if let Some(slot) = file.get_mut(at + i) {
                    *slot = b;
                }
            }
        }
        // A run of the file repeated (extra frames, chunks or boxes).
        _ => {
            let len = c.below(512).min(file.len() - at);
            let run = file[at..at + len].to_vec();
            file.splice(at..at, run);
        }
    }
}

/// What the analysis relies on: a decoded recording has a rate and equally long channels.
fn check(decoded: Result<decode::DecodedAudio, DecodeError>) {
    match decoded {
        Ok(audio) => {
            assert!(audio.sample_rate > 0);
            assert!((1..=2).contains(&audio.channels.len()));
            let frames = audio.channels[0].len();
            assert!(frames > 0);
            assert!(audio.channels.iter().all(|ch| ch.len() == frames));
            assert!(audio.seconds() <= Limits::default().max_seconds + 1.0);
        }
        Err(DecodeError::DecoderPanicked) => panic!("the decoder panicked"),
        Err(_) => {}
    }
}
