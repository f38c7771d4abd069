//! The upload URL's verifier, as `app::upload` runs it on the URL's parts: garbage parts,
//! and a genuine URL with one part changed (which must then fail unless it still names the
//! same call and expiry).
#![no_main]

use kiku_domain::upload_signature::{SignatureError, SigningKey};
use kiku_domain::CallId;
use kiku_fuzz::Choices;
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::new(vec![7; 32]).expect("32 bytes");
    let now = OffsetDateTime::from_unix_timestamp(NOW).expect("a valid time");
    let mut c = Choices::new(data);
    let mut id = [0u8; 16];
    id.iter_mut().for_each(|b| *b = c.byte());
    let call = CallId::from(uuid::Uuid::from_bytes(id));
    let expires = NOW + i64::from(c.u32() as i32);
    let mut parts = [
        call.to_string(),
        expires.to_string(),
        key.sign(call, expires),
    ];
    match c.byte() % 3 {
        // Every part is the fuzzer's.
        0 => {
            for part in &mut parts {
                *part = c.text(96);
            }
        }
        // One part with one byte changed, inserted or dropped.
        1 => {
            let part = &mut parts[c.below(3)];
            let mut bytes = part.clone().into_bytes();
            let at = c.below(bytes.len() + 1);
            match c.byte() % 3 {
                0 if at < bytes.len() => bytes[at] = c.byte(),
                1 => bytes.insert(at, c.byte()),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
            *part = String::from_utf8_lossy(&bytes).into_owned();
        }
        // One part replaced by the fuzzer's text.
        _ => parts[c.below(3)] = c.text(96),
    }
    // As `app::upload::checked_url` reads them.
    let Ok(parsed_call) = parts[0].parse::<CallId>() else {
        return;
    };
    let Ok(parsed_expires) = parts[1].parse::<i64>() else {
        return;
    };
    let verdict = key.verify(parsed_call, parsed_expires, &parts[2], now);
    let genuine = parsed_call == call && parsed_expires == expires;
    match verdict {
        Ok(()) => {
            assert!(genuine, "a changed call or expiry passed: {parts:?}");
            assert!(parsed_expires >= NOW);
        }
        Err(SignatureError::Expired) => assert!(genuine && parsed_expires < NOW),
        Err(SignatureError::BadSignature) => {}
    }
});
