//! `analyse_call`: the recording through the speech engine on a blocking thread, under
//! the analysis timeout, then roles, report and the result stored as the call's next
//! version (with its event) — or the cause, permanent (bad recording) or worth a retry.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use kiku_analysis::pipeline::{AnalysisError, Recording};
use kiku_domain::analysis::AudioRedaction;
use kiku_domain::{pii, AudioFileType};
use kiku_storage::FinishOutcome;

use super::{redact_recording, JobContext, Outcome};
use crate::app::{analysis, call_analysis, AppError};

/// Reports made again when the settings keep changing under a finishing analysis.
const SCORING_ATTEMPTS: usize = 3;

pub async fn run(ctx: &JobContext<'_>) -> Result<Outcome, AppError> {
    let (app, job) = (ctx.app, ctx.job);
    let Some(engine) = ctx.engine else {
        return Ok(Outcome::Retry {
            cause: "this worker has no speech engine".into(),
            at: None,
        });
    };
    let Some(call_id) = job.call_id else {
        return Ok(Outcome::GiveUp("an analysis job without its call".into()));
    };
    let Some(call) = app.store.call(job.company_id, call_id).await? else {
        return Ok(Outcome::GiveUp("the call no longer exists".into()));
    };
    let Some(audio) = &call.audio else {
        return Ok(Outcome::GiveUp("the call has no recording".into()));
    };
    // Streamed to a file (a temporary copy from a bucket, deleted when closed): the engine
    // decodes from it, and only as far as the call's length needs.
    let file = match app.blobs.get_file(&audio.key).await {
        Ok(file) => file,
        Err(e) => {
            return Ok(Outcome::Retry {
                cause: format!("cannot read the recording: {e}"),
                at: None,
            })
        }
    };
    let (settings, _) = analysis::settings_as_stored(app, job.company_id).await?;
    let data = &call.data;
    let call_seconds =
        (data.call_ends_at - data.call_answered_at.unwrap_or(data.call_starts_at)).as_seconds_f64();
    // A redacted copy (made when the call was analysed before) is a WAV.
    let declared = match audio.redacted_at {
        Some(_) => AudioFileType::Wav,
        None => data.audio_file_type,
    };
    let recording = Recording {
        audio: file,
        declared: Some(declared),
        channel_type: data.audio_channel_type,
        call_seconds: (call_seconds > 0.0).then_some(call_seconds),
        language: settings.language.clone(),
        vocabulary: settings.recognition_vocabulary(&party_names(data)),
    };

    let engine = engine.clone();
    let (stop, progress) = (ctx.stop.clone(), ctx.progress.clone());
    let analysis = tokio::task::spawn_blocking(move || {
        engine.analyse(recording, &|share| {
            progress.store((share * 100.0).clamp(0.0, 99.0) as u8, Ordering::Relaxed);
            !stop.requested.load(Ordering::Relaxed)
        })
    });
    let mut shutdown = ctx.shutdown.clone();
    let shutdown_watch = async move {
        // A closed channel (no sender left) means no shutdown will come.
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let started = std::time::Instant::now();
    let deadline = tokio::time::sleep(ctx.options.analysis_timeout);
    tokio::pin!(analysis, deadline, shutdown_watch);
    let mut timed_out = false;
    let outcome = loop {
        tokio::select! {
            result = &mut analysis => break result,
            () = &mut deadline, if !timed_out => {
                timed_out = true;
                ctx.stop.requested.store(true, Ordering::Relaxed);
            }
            () = &mut shutdown_watch, if !ctx.stop.requested.load(Ordering::Relaxed) => {
                ctx.stop.requested.store(true, Ordering::Relaxed);
            }
        }
    };
    let stopped_for_shutdown = matches!(outcome, Ok(Err(AnalysisError::Stopped))) && !timed_out;
    if !stopped_for_shutdown {
        let analysed = outcome.as_ref().ok().and_then(|r| r.as_ref().ok());
        app.metrics
            .analysis(analysed.map(|t| t.duration_seconds), started.elapsed());
    }
    let transcript = match outcome {
        Ok(Ok(transcript)) => transcript,
        Ok(Err(AnalysisError::Stopped)) if timed_out => {
            let minutes = ctx.options.analysis_timeout.as_secs() / 60;
            return Ok(Outcome::GiveUp(format!(
                "the analysis took longer than {minutes} minutes"
            )));
        }
        Ok(Err(AnalysisError::Stopped)) => return Ok(Outcome::Requeue),
        Ok(Err(e)) if e.is_permanent() => return Ok(Outcome::GiveUp(e.to_string())),
        Ok(Err(e)) => {
            return Ok(Outcome::Retry {
                cause: e.to_string(),
                at: None,
            })
        }
        Err(_panic) => {
            return Ok(Outcome::GiveUp(
                "the analysis crashed on this recording".into(),
            ))
        }
    };
    if ctx.stop.lease_lost.load(Ordering::Relaxed) {
        return Ok(Outcome::Closed);
    }
    let hints = call_analysis::hints(app, job.company_id, data).await?;
    let roles = call_analysis::decide_roles(data, &transcript, &hints);
    let transcript = Arc::new(transcript);
    let mut copy = None;
    for _ in 0..SCORING_ATTEMPTS {
        // The settings as they are now: a change made while the call was analysed applies,
        // and storing checks that they are still these.
        let (settings, stored) = analysis::settings_as_stored(app, job.company_id).await?;
        let transcript = if settings.redact_personal_data {
            let names =
                pii::names_to_find(data.participants.iter().filter_map(|p| p.name.as_deref()));
            Arc::new(pii::redact(&transcript, &names).0)
        } else {
            transcript.clone()
        };
        if copy.is_none() {
            match redact_recording::write_copy(app, audio, declared, &transcript, &settings).await {
                Ok(written) => copy = written,
                Err(cause) => return Ok(Outcome::Retry { cause, at: None }),
            }
        }
        let keep_original = settings.keep_original_recording;
        let write_minutes = analysis::writes_minutes(app, &settings);
        let redact_audio = settings.redact_audio != AudioRedaction::Off;
        let (heard, decided, lexicons) = (transcript.clone(), roles.clone(), app.sentiment.clone());
        // Scored on the transcript as stored: redacted text is what the sentiment reads.
        let scored = tokio::task::spawn_blocking(move || {
            analysis::scored_report(&heard, &decided, &settings, &lexicons)
        })
        .await;
        let Ok(report) = scored else {
            return Ok(Outcome::GiveUp(
                "the report crashed on this recording".into(),
            ));
        };
        let new = analysis::new_analysis(
            engine_name(ctx),
            &transcript,
            &roles,
            &report,
            write_minutes,
        )?;
        let now = app.clock.now();
        let finished = app
            .store
            .finish_analysis(job.id, ctx.worker, &new, stored.as_deref(), now);
        match finished.await? {
            FinishOutcome::Stored { version } => {
                tracing::info!(worker = ctx.worker, call = %call_id, version, score = report.score, "analysis completed");
                match copy {
                    Some(copy) if redact_audio => {
                        let truncated = transcript.truncated;
                        redact_recording::use_copy(app, call_id, copy, keep_original, truncated)
                            .await;
                    }
                    Some(copy) => redact_recording::discard(app, copy).await,
                    None => {}
                }
                return Ok(Outcome::Closed);
            }
            FinishOutcome::NotHeld => {
                tracing::warn!(worker = ctx.worker, call = %call_id, "finished too late; the job had moved on");
                if let Some(copy) = copy {
                    redact_recording::discard(app, copy).await;
                }
                return Ok(Outcome::Closed);
            }
            FinishOutcome::SettingsChanged => continue,
        }
    }
    Ok(Outcome::Retry {
        cause: "the analysis settings kept changing while the report was made".into(),
        at: None,
    })
}

fn engine_name<'a>(ctx: &'a JobContext<'_>) -> &'a str {
    ctx.engine.map_or("", |e| e.description())
}

/// The participants' names the call data gives, for the recogniser's vocabulary.
fn party_names(data: &kiku_domain::CallData) -> Vec<String> {
    data.participants
        .iter()
        .filter_map(|p| p.name.clone())
        .collect()
}
