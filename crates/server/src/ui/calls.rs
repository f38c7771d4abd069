//! The call-history pages: the list (filters, paging, live status) and the detail (player,
//! timeline, transcript, metrics, versions, swap).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use kiku_domain::analysis::sentiment::Polarity;
use kiku_domain::analysis::{call_notes, NoteKind, Report, Role};
use kiku_domain::search::CallSearch;
use kiku_domain::{CallId, CallStatus, EventType, Side};
use kiku_storage::{AnalysisRecord, CallRecord};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::call_notifications::{self, NotificationRow};
use super::error::UiError;
use super::form::value_of;
use super::i18n::{Lang, Text};
use super::session::{CsrfForm, Viewer};
use super::transcript::{pieces, Piece};
use super::{html, query_string};
use crate::app::{analysis, search, AppError};
use crate::http::AppState;

/// One row of the list.
struct Row {
    id: CallId,
    call_type: &'static str,
    user: String,
    from: String,
    to: String,
    start: String,
    duration: String,
    status: CallStatus,
    /// With the progress while analysing (`Analysing 40%`).
    status_text: String,
    score: String,
    tags: String,
    flags: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "calls.html")]
struct ListPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    rows: Vec<Row>,
    statuses: Vec<(&'static str, &'static str, bool)>,
    event_types: Vec<(&'static str, &'static str, bool)>,
    q: String,
    /// The company's users for the user filter: (id, name, chosen).
    users: Vec<(String, String, bool)>,
    number: String,
    tag: String,
    from: String,
    to: String,
    total: String,
    first: Option<String>,
    next: Option<String>,
    /// For the live status script: the API query of this page, and status labels.
    api_query: String,
    labels: String,
}

/// What the header shows of the signed-in person.
pub struct ViewerView {
    pub name: String,
    pub csrf: String,
    pub admin: bool,
}

impl ViewerView {
    pub fn of(viewer: &Viewer) -> Self {
        Self {
            name: viewer.user.name.clone(),
            csrf: viewer.csrf.clone(),
            admin: viewer.user.admin,
        }
    }
}

fn clock(seconds: f64) -> String {
    kiku_domain::analysis::text::clock(seconds)
}

/// `2026-01-05 10:00` in the offset the PBX sent.
fn when(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn talk_seconds(call: &CallRecord) -> f64 {
    let d = &call.data;
    let start = d.call_answered_at.unwrap_or(d.call_starts_at);
    (d.call_ends_at - start).as_seconds_f64().max(0.0)
}

fn party(call: &CallRecord, side: Side) -> String {
    call.data
        .participants
        .iter()
        .find(|p| p.side == side)
        .map(|p| match &p.name {
            Some(name) => format!("{name} ({})", p.number),
            None => p.number.clone(),
        })
        .unwrap_or_default()
}

/// The company user on the call (a participant with a user id), by the name the PBX sent.
fn user_of(call: &CallRecord) -> String {
    call.data
        .participants
        .iter()
        .find(|p| p.miitel_user_id.is_some())
        .map(|p| p.name.clone().unwrap_or_else(|| p.number.clone()))
        .unwrap_or_default()
}

/// The form's values as the search's: a date from the date fields is that day from
/// midnight UTC.
fn search_pairs(pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            let v = v.trim().to_string();
            if (k == "from" || k == "to") && v.len() == 10 {
                (k, format!("{v}T00:00:00Z"))
            } else {
                (k, v)
            }
        })
        .collect()
}

/// `GET /calls`: the call list over the search API's filters (`q`, `status`, several
/// `event_type`, `number`, `tag`, dates, …), a page at a time.
pub async fn list(
    State(app): State<AppState>,
    viewer: Viewer,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, UiError> {
    let (t, lang) = (viewer.text(), viewer.lang);
    let failed = |e: AppError| UiError::new(e, lang);
    let Query(raw) = query.map_err(|e| failed(AppError::InvalidRequest(e.body_text())))?;
    let pairs = search_pairs(raw.clone());
    let search = CallSearch::parse(&pairs, &[]).map_err(|e| failed(e.into()))?;
    let company = viewer.user.company_id;
    let (found, page) = search::search(&app, company, &search)
        .await
        .map_err(failed)?;
    let rows = found
        .into_iter()
        .map(|f| {
            let c = &f.call;
            let score = f
                .analysis
                .as_ref()
                .and_then(|d| d.detail["analysis"]["score"].as_f64())
                .map_or_else(String::new, |s| format!("{s:.0}"));
            let tags: Vec<&str> = c
                .data
                .tags
                .iter()
                .chain(f.analysis.iter().flat_map(|a| &a.auto_tags))
                .map(String::as_str)
                .collect();
            let mut flags: Vec<&'static str> = f
                .analysis
                .as_ref()
                .map(|d| d.flags.iter().map(|flag| t.flag(flag)).collect())
                .unwrap_or_default();
            if c.data.stereo_channels_ambiguous() {
                flags.push(t.flag_stereo_channels_ambiguous);
            }
            Row {
                id: c.id,
                call_type: t.call_type(c.data.event_type, c.data.call_answered_at.is_some()),
                user: user_of(c),
                from: party(c, Side::From),
                to: party(c, Side::To),
                start: when(c.data.call_starts_at),
                duration: clock(talk_seconds(c)),
                status: c.status,
                status_text: match c.progress_percent {
                    Some(p) if c.status == CallStatus::Analysing => {
                        format!("{} {p}%", t.status(c.status))
                    }
                    _ => t.status(c.status).to_string(),
                },
                score,
                tags: tags.join(", "),
                flags,
            }
        })
        .collect();
    let without_cursor: Vec<(String, String)> =
        raw.iter().filter(|(k, _)| k != "cursor").cloned().collect();
    let mut next = without_cursor.clone();
    let next = page.next_cursor.map(|c| {
        next.push(("cursor".into(), c.encode()));
        query_string(&next)
    });
    let total = match page.total {
        Some(total) if total.is_lower_bound => format!("{}+", total.count),
        Some(total) => total.count.to_string(),
        None => String::new(),
    };
    let labels: serde_json::Map<String, serde_json::Value> = CallStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), json!(t.status(*s))))
        .collect();
    let chosen = |key: &str, value: &str| raw.iter().any(|(k, v)| k == key && v == value);
    let body = ListPage {
        t,
        lang,
        viewer: ViewerView::of(&viewer),
        rows,
        statuses: CallStatus::ALL
            .iter()
            .map(|s| (s.as_str(), t.status(*s), chosen("status", s.as_str())))
            .collect(),
        event_types: EventType::ALL
            .iter()
            .map(|e| {
                (
                    e.as_str(),
                    t.event_type(*e),
                    chosen("event_type", e.as_str()),
                )
            })
            .collect(),
        q: value_of(&raw, "q").to_string(),
        users: crate::app::accounts::users(&app, company)
            .await
            .map_err(failed)?
            .into_iter()
            .map(|u| {
                let id = u.id.to_string();
                let on = chosen("user_id", &id);
                (id, u.name, on)
            })
            .collect(),
        number: value_of(&raw, "number").to_string(),
        tag: value_of(&raw, "tag").to_string(),
        from: value_of(&raw, "from").to_string(),
        to: value_of(&raw, "to").to_string(),
        total,
        first: raw
            .iter()
            .any(|(k, _)| k == "cursor")
            .then(|| query_string(&without_cursor)),
        next,
        api_query: query_string(&pairs),
        labels: serde_json::Value::Object(labels).to_string(),
    };
    html(body)
}

/// A phrase of the transcript.
struct PhraseView {
    role: &'static str,
    speaker: &'static str,
    start: f64,
    at: String,
    pieces: Vec<Piece>,
}

/// A call note ([`call_notes`]): what it records, who said it, where.
struct NoteView {
    kind: &'static str,
    role: &'static str,
    speaker: &'static str,
    start: f64,
    at: String,
    text: String,
    /// The dates, times and amounts it names, and for a question whether it was answered.
    details: Vec<String>,
}

struct Metric {
    name: &'static str,
    value: String,
    explain: &'static str,
}

struct VersionView {
    number: u32,
    reason: &'static str,
    at: String,
    current: bool,
}

struct Party {
    side: &'static str,
    role: &'static str,
    name: String,
    number: String,
}

#[derive(Template)]
#[template(path = "call.html")]
struct DetailPage {
    t: &'static Text,
    lang: Lang,
    viewer: ViewerView,
    id: CallId,
    call_type: &'static str,
    status: CallStatus,
    status_text: &'static str,
    status_message: String,
    parties: Vec<Party>,
    started: String,
    answered: Option<String>,
    ended: String,
    duration: String,
    tags: String,
    /// Tags the company's auto-tag rules gave the call.
    auto_tags: String,
    flags: Vec<&'static str>,
    role_confidence: Option<String>,
    has_recording: bool,
    analysed: bool,
    earlier_version: bool,
    versions: Vec<VersionView>,
    phrases: Vec<PhraseView>,
    metrics: Vec<Metric>,
    summary: Vec<String>,
    notes: Vec<NoteView>,
    /// The language model's minutes (`write_minutes`), the text's lines.
    minutes: Option<Vec<String>>,
    /// Who spoke when, for the timeline script (JSON).
    timeline: String,
    /// Admins: the call's notifications.
    notifications: Option<Vec<NotificationRow>>,
}

fn reason_text(t: &Text, reason: kiku_domain::outbox::VersionReason) -> &'static str {
    use kiku_domain::outbox::VersionReason as R;
    match reason {
        R::Analysis => t.reason_analysis,
        R::Swap => t.reason_swap,
        R::Rescore => t.reason_rescore,
    }
}

/// The CSS class of a role's phrases and notes.
fn role_class(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Customer => "customer",
    }
}

fn role_name(t: &Text, role: Role) -> &'static str {
    match role {
        Role::User => t.user,
        Role::Customer => t.customer,
    }
}

/// The call notes of `r`, as the call detail's `call_notes` has them.
fn notes(t: &Text, r: &Report) -> Vec<NoteView> {
    call_notes(&r.phrases)
        .into_iter()
        .map(|n| {
            let mut details: Vec<String> = [n.dates, n.times, n.amounts].concat();
            if let Some(answered) = n.answered {
                details.push(
                    if answered {
                        t.note_answered
                    } else {
                        t.note_open
                    }
                    .into(),
                );
            }
            NoteView {
                kind: match n.kind {
                    NoteKind::Request => t.note_request,
                    NoteKind::Commitment => t.note_commitment,
                    NoteKind::Question => t.note_question,
                },
                role: role_class(n.role),
                speaker: role_name(t, n.role),
                start: n.start,
                at: clock(n.start),
                text: n.text,
                details,
            }
        })
        .collect()
}

fn number(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.digits$}"))
}

fn metrics(t: &Text, r: &Report) -> Vec<Metric> {
    let overlaps = if r.overlaps_estimated {
        format!("{} ({})", r.overlaps.len(), t.estimated)
    } else {
        r.overlaps.len().to_string()
    };
    let mut metrics = vec![
        Metric {
            name: t.metric_score,
            value: format!("{:.0}", r.score),
            explain: t.explain_score,
        },
        Metric {
            name: t.metric_tlr,
            value: format!("{:.0}% : {:.0}%", r.tlr * 100.0, (1.0 - r.tlr) * 100.0),
            explain: t.explain_tlr,
        },
        Metric {
            name: t.metric_silences,
            value: format!(
                "{} ({:.0}{})",
                r.silences.len(),
                r.silence_total_seconds,
                t.seconds
            ),
            explain: t.explain_silences,
        },
        Metric {
            name: t.metric_overlaps,
            value: overlaps,
            explain: t.explain_overlaps,
        },
        Metric {
            name: t.metric_speech_rate,
            value: format!(
                "{} {}",
                number(r.speech_rate_difference, 1),
                r.speech_rate_unit.replace('_', " ")
            ),
            explain: t.explain_speech_rate,
        },
        Metric {
            name: t.metric_intonation,
            value: format!("{} Hz", number(r.user.f0_std_dev_hz, 1)),
            explain: t.explain_intonation,
        },
        Metric {
            name: t.metric_rallies,
            value: r.rally_count.to_string(),
            explain: t.explain_rallies,
        },
        Metric {
            name: t.metric_monologue,
            value: clock(r.user.longest_monologue_seconds),
            explain: t.explain_monologue,
        },
        Metric {
            name: t.metric_fillers,
            value: r.user.filler_count.to_string(),
            explain: t.explain_fillers,
        },
        Metric {
            name: t.metric_keywords,
            value: r.keywords.len().to_string(),
            explain: t.explain_keywords,
        },
    ];
    // Only when a lexicon covered the call's language: no made-up 0 %.
    if let (Some(user), Some(customer)) = (r.user.sentiment, r.customer.sentiment) {
        let percent = |x: f64| format!("{}%", (x * 100.0).round());
        metrics.push(Metric {
            name: t.metric_sentiment,
            value: format!(
                "{} {} / {} · {} {} / {}",
                t.user,
                percent(user.positive),
                percent(user.negative),
                t.customer,
                percent(customer.positive),
                percent(customer.negative)
            ),
            explain: t.explain_sentiment,
        });
    }
    metrics
}

async fn detail_page(
    app: &AppState,
    viewer: &Viewer,
    call_id: &str,
    version: Option<u32>,
) -> Result<Response, UiError> {
    let (t, lang) = (viewer.text(), viewer.lang);
    let failed = |e: AppError| UiError::new(e, lang);
    let not_found = || failed(AppError::NotFound("no such call in this company".into()));
    let company = viewer.user.company_id;
    let id: CallId = call_id.parse().map_err(|_| not_found())?;
    let call = app
        .store
        .call(company, id)
        .await
        .map_err(|e| failed(e.into()))?
        .ok_or_else(not_found)?;
    let versions = app
        .store
        .analysis_versions(company, id)
        .await
        .map_err(|e| failed(e.into()))?;
    // The current result as the API shows it; an earlier one from the kept versions.
    let current_record = app
        .store
        .analysis(company, id)
        .await
        .map_err(|e| failed(e.into()))?;
    let current = current_record.as_ref().map(|r| r.version);
    let auto_tags: Vec<String> = app
        .store
        .auto_tags(company, &[id])
        .await
        .map_err(|e| failed(e.into()))?
        .into_iter()
        .map(|t| t.tag)
        .collect();
    let shown: Option<&AnalysisRecord> = match version {
        Some(n) => Some(
            versions
                .iter()
                .find(|v| v.version == n)
                .ok_or_else(not_found)?,
        ),
        None => current_record.as_ref(),
    };
    let report: Option<Report> = shown
        .map(|r| serde_json::from_str(&r.report))
        .transpose()
        .map_err(|e| failed(AppError::internal(e)))?;
    let d = &call.data;
    let role_of = |side: Side| match &report {
        Some(r) if r.roles.role_of_side(side) == Role::User => t.user,
        Some(_) => t.customer,
        None => "",
    };
    let parties = d
        .participants
        .iter()
        .map(|p| Party {
            side: match p.side {
                Side::From => t.col_from,
                Side::To => t.col_to,
            },
            role: role_of(p.side),
            name: p.name.clone().unwrap_or_default(),
            number: p.number.clone(),
        })
        .collect();
    let mut flags: Vec<&'static str> = Vec::new();
    if d.stereo_channels_ambiguous() {
        flags.push(t.flag_stereo_channels_ambiguous);
    }
    let keywords: Vec<String> = report
        .as_ref()
        .map(|r| {
            let mut k: Vec<String> = r.keywords.iter().map(|h| h.keyword.clone()).collect();
            k.sort();
            k.dedup();
            k
        })
        .unwrap_or_default();
    let (phrases, metrics, summary, notes, timeline) = match &report {
        Some(r) => {
            if r.roles.need_review() {
                flags.push(t.flag_roles_need_review);
            }
            if r.recording_truncated {
                flags.push(t.flag_recording_truncated);
            }
            let phrases = r
                .phrases
                .iter()
                .map(|p| PhraseView {
                    role: role_class(p.role),
                    speaker: role_name(t, p.role),
                    start: p.start,
                    at: clock(p.start),
                    pieces: pieces(&p.text, &p.words, &keywords),
                })
                .collect();
            let summary = r
                .summary_text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            let spans = |v: &[kiku_domain::metrics::Span]| -> Vec<[f64; 2]> {
                v.iter().map(|s| [s.start, s.end]).collect()
            };
            // Phrases that are not neutral, to colour each party's speech by.
            let moods: Vec<Value> = r
                .phrases
                .iter()
                .filter_map(|p| {
                    let s = p.sentiment.filter(|s| s.polarity != Polarity::Neutral)?;
                    Some(json!([p.start, p.end, p.role, s.polarity]))
                })
                .collect();
            let timeline = json!({
                "duration": r.duration_seconds,
                "user": spans(&r.user.speech),
                "customer": spans(&r.customer.speech),
                "silences": spans(&r.silences),
                "overlaps": spans(&r.overlaps),
                "sentiment": moods,
                "labels": {"positive": t.positive, "negative": t.negative},
            });
            let notes = notes(t, r);
            (phrases, metrics(t, r), summary, notes, timeline.to_string())
        }
        None => (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            "null".to_string(),
        ),
    };
    let versions_view = versions
        .iter()
        .map(|v| VersionView {
            number: v.version,
            reason: reason_text(t, v.reason),
            at: when(v.created_at),
            current: Some(v.version) == shown.map(|s| s.version),
        })
        .collect();
    let page = DetailPage {
        t,
        lang,
        viewer: ViewerView::of(viewer),
        id,
        call_type: t.call_type(d.event_type, d.call_answered_at.is_some()),
        status: call.status,
        status_text: t.status(call.status),
        status_message: call.status.message(call.status_reason.as_deref()),
        parties,
        started: when(d.call_starts_at),
        answered: d.call_answered_at.map(when),
        ended: when(d.call_ends_at),
        duration: clock(talk_seconds(&call)),
        tags: d.tags.join(", "),
        auto_tags: auto_tags.join(", "),
        flags,
        role_confidence: report
            .as_ref()
            .filter(|r| r.roles.need_review())
            .map(|r| format!("{:.0}%", r.roles.confidence * 100.0)),
        has_recording: call.audio.is_some(),
        analysed: report.is_some(),
        earlier_version: shown.map(|s| s.version) != current,
        versions: versions_view,
        phrases,
        metrics,
        summary,
        notes,
        minutes: app
            .store
            .minutes(company, id)
            .await
            .map_err(|e| failed(e.into()))?
            .map(|m| m.text.lines().map(str::to_string).collect()),
        timeline,
        notifications: call_notifications::rows(app, viewer, id).await?,
    };
    html(page)
}

pub async fn detail(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(call_id): Path<String>,
) -> Result<Response, UiError> {
    detail_page(&app, &viewer, &call_id, None).await
}

pub async fn version(
    State(app): State<AppState>,
    viewer: Viewer,
    Path((call_id, version)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let number: u32 = version
        .parse()
        .map_err(|_| UiError::new(AppError::NotFound("no such version".into()), viewer.lang))?;
    detail_page(&app, &viewer, &call_id, Some(number)).await
}

/// `POST /calls/{id}/swap` (the Operation menu, after its confirmation): a new version.
pub async fn swap(
    State(app): State<AppState>,
    viewer: Viewer,
    Path(call_id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    viewer.check_csrf(&app, &form.csrf)?;
    let lang = viewer.lang;
    let not_found = || {
        UiError::new(
            AppError::NotFound("no such call in this company".into()),
            lang,
        )
    };
    let id: CallId = call_id.parse().map_err(|_| not_found())?;
    let version = analysis::swap(&app, viewer.user.company_id, id)
        .await
        .map_err(|e| UiError::new(e, lang))?;
    tracing::info!(call_id = %id, user_id = %viewer.user.id, version, "user and customer swapped (web UI)");
    Ok(Redirect::to(&format!("/calls/{id}")).into_response())
}
