//! The recording's redacted copy, for a company that hides personal data in the audio:
//! made from the original while its analysis finishes, stored (durably) before the call
//! points at it, and only then — if the company keeps no originals — the original deleted.
//! A crash anywhere leaves the original in place: before the switch it is still the
//! call's recording; after it, its key is kept in `original_audio_key` until deleted.

use bytes::Bytes;
use futures_util::stream;
use kiku_analysis::decode::{decode_file, Limits};
use kiku_domain::analysis::{AnalysisSettings, AudioRedaction, Transcript};
use kiku_domain::{audio, pii, AudioFileType, CallId};
use kiku_storage::{AudioInfo, NewAudio};

use crate::app::App;

/// A copy written but not yet the call's recording.
pub struct RedactedCopy {
    original: AudioInfo,
    copy: NewAudio,
}

/// Writes the redacted copy of `original` (the call's recording as analysed), hiding
/// what `redacted` (its transcript, redacted) replaced; `None` when the company does not
/// redact audio, nothing was found, or the recording is already a redacted copy.
pub async fn write_copy(
    app: &App,
    original: &AudioInfo,
    declared: AudioFileType,
    redacted: &Transcript,
    settings: &AnalysisSettings,
) -> Result<Option<RedactedCopy>, String> {
    let how = settings.redact_audio;
    if how == AudioRedaction::Off
        || !settings.redact_personal_data
        || original.redacted_at.is_some()
    {
        return Ok(None);
    }
    let spans = pii::redacted_times(redacted);
    if spans.is_empty() {
        return Ok(None);
    }
    let file = app
        .blobs
        .get_file(&original.key)
        .await
        .map_err(|e| format!("cannot read the recording to redact it: {e}"))?;
    let limits = Limits {
        max_seconds: redacted.duration_seconds + 1.0,
        max_channels: 2,
    };
    let wav = tokio::task::spawn_blocking(move || {
        let mut decoded = decode_file(file, Some(declared), limits).map_err(|e| e.to_string())?;
        audio::hide(&mut decoded.channels, decoded.sample_rate, &spans, how);
        Ok::<_, String>(audio::pcm16_wav(&decoded.channels, decoded.sample_rate))
    })
    .await
    .map_err(|_| "redacting the recording crashed".to_string())??;
    let key = format!("{}-redacted.wav", original.key);
    let body = Box::pin(stream::iter([Ok::<_, std::io::Error>(Bytes::from(wav))]));
    let bytes = app
        .blobs
        .put_stream(&key, body, u64::MAX)
        .await
        .map_err(|e| format!("cannot store the redacted recording: {e}"))?;
    Ok(Some(RedactedCopy {
        original: original.clone(),
        copy: NewAudio { key, bytes },
    }))
}

/// Makes the stored copy the call's recording, then deletes the original unless the
/// company keeps originals (or only part of the recording was analysed, so the copy is
/// not all of it).
pub async fn use_copy(
    app: &App,
    call: CallId,
    ready: RedactedCopy,
    keep_original: bool,
    truncated: bool,
) {
    let RedactedCopy { original, copy } = ready;
    let now = app.clock.now();
    match app
        .store
        .use_redacted_audio(call, &original.key, copy.clone(), now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            // Replaced or redacted meanwhile: this copy is of nothing.
            discard(app, RedactedCopy { original, copy }).await;
            return;
        }
        Err(e) => {
            tracing::warn!(call = %call, error = %e, "could not switch the call to its redacted recording");
            return;
        }
    }
    if keep_original || truncated {
        return;
    }
    if let Err(e) = app.blobs.delete(&original.key).await {
        tracing::warn!(call = %call, error = %e, "could not delete the original recording; it stays, recorded as the original");
        return;
    }
    if let Err(e) = app.store.forget_original_audio(call, &original.key).await {
        tracing::warn!(call = %call, error = %e, "the original recording was deleted but its key is still recorded");
    }
}

/// Deletes a copy that will not be used (the job moved on, or the company stopped
/// redacting audio while it ran).
pub async fn discard(app: &App, unused: RedactedCopy) {
    if let Err(e) = app.blobs.delete(&unused.copy.key).await {
        tracing::warn!(error = %e, "could not delete an unused redacted recording");
    }
}
