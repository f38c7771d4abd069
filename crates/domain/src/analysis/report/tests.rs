use super::*;
use crate::analysis::{Utterance, Voice};
use crate::metrics::ScoreRule;

fn span(start: f64, end: f64) -> Span {
    Span::new(start, end)
}

fn say(speaker: usize, start: f64, end: f64, text: &str) -> Utterance {
    Utterance {
        speaker,
        start,
        end,
        text: text.into(),
        words: vec![],
    }
}

/// Six minutes; speaker 0 talks 25 s, speaker 1 18.5 s; one 1.5 s overlap (23.5–25) and
/// one 5 s silence (40–45).
fn transcript() -> Transcript {
    Transcript {
        format: 1,
        duration_seconds: 360.0,
        language: "en".into(),
        speech: [
            vec![span(1.0, 11.0), span(15.0, 25.0), span(45.0, 50.0)],
            vec![span(11.0, 13.0), span(23.5, 40.0)],
        ],
        voices: [
            Some(Voice {
                f0_mean_hz: 120.0,
                f0_std_dev_hz: 20.0,
            }),
            None,
        ],
        utterances: vec![
            say(1, 11.0, 13.0, "Hi."),
            say(
                0,
                1.0,
                11.0,
                "Hello, this is Kiku support, um, how can I help?",
            ),
            say(0, 15.0, 25.0, "Our support team will send the quote today."),
            say(
                1,
                23.5,
                40.0,
                "Uh, thanks, please send the quote to my office address.",
            ),
            say(0, 45.0, 50.0, "Done, goodbye."),
        ],
        overlaps_estimated: false,
        truncated: false,
    }
}

fn roles(user: usize) -> Roles {
    Roles {
        user_speaker: user,
        user_side: crate::Side::From,
        confidence: 1.0,
        basis: "test".into(),
    }
}

#[test]
fn metrics_and_score_by_hand() {
    let settings = AnalysisSettings {
        keywords: vec!["support".into(), "quote".into()],
        ..Default::default()
    };
    let r = report(&transcript(), &roles(0), &settings);
    assert!((r.tlr - 25.0 / 43.5).abs() < 1e-9);
    assert_eq!(r.silences, vec![span(40.0, 45.0)]);
    assert_eq!(r.overlaps, vec![span(23.5, 25.0)]);
    assert_eq!(r.rally_count, 4);
    // 50 + 30 (6 min) − (57.47 − 40) − 10 × 1/6 − 10 × 1/6
    let by_hand = 50.0 + 30.0 - (25.0 / 43.5 * 100.0 - 40.0) - 10.0 / 6.0 - 10.0 / 6.0;
    assert!((r.score - by_hand).abs() < 1e-9, "{} vs {by_hand}", r.score);
    assert_eq!(
        r.phrases[0].text,
        "Hello, this is Kiku support, um, how can I help?"
    );
    assert_eq!(r.phrases[0].role, Role::User);
    assert_eq!(r.phrases[0].filler_count, 1);
    assert_eq!(r.user.filler_count, 1);
    assert_eq!(r.customer.filler_count, 1);
    // Words without fillers: 9 + 8 + 2 = 19 over 25 s of speech.
    assert_eq!(r.user.speech_rate, Some(19.0 * 60.0 / 25.0));
    assert_eq!(r.speech_rate_unit, "words_per_minute");
    assert_eq!(r.user.keyword_count, 3, "support twice, quote once");
    assert_eq!(r.customer.keyword_count, 1);
    assert_eq!(r.user.f0_mean_hz, Some(120.0));
    assert_eq!(r.customer.f0_mean_hz, None);
    assert!(r.transcript_text.starts_with(
        "0:01 (User) Hello, this is Kiku support, how can I help?\n0:11 (Customer) Hi."
    ));
    assert!(r.phrases.iter().any(|p| p.in_summary));
    assert!(!r.phrases[1].in_summary, "'Hi.' carries no content");
}

#[test]
fn swapping_roles_mirrors_role_metrics() {
    let settings = AnalysisSettings::default();
    let a = report(&transcript(), &roles(0), &settings);
    let b = report(&transcript(), &roles(1), &settings);
    assert!((a.tlr + b.tlr - 1.0).abs() < 1e-9);
    assert_eq!(a.user, b.customer);
    assert_eq!(a.silences, b.silences);
    assert_eq!(a.rally_count, b.rally_count);
    assert_eq!(b.phrases[0].role, Role::Customer);
}

#[test]
fn company_rule_changes_the_score() {
    let rule = ScoreRule {
        keyword_points: vec![("quote".into(), 10.0)],
        ..ScoreRule::default()
    };
    let base = report(&transcript(), &roles(0), &AnalysisSettings::default());
    let custom = report(
        &transcript(),
        &roles(0),
        &AnalysisSettings {
            keywords: vec!["quote".into()],
            score_rule: rule,
            ..Default::default()
        },
    );
    assert!((custom.score - base.score - 20.0).abs() < 1e-9);
}

#[test]
fn japanese_counts_characters_and_uses_japanese_labels() {
    let t = Transcript {
        language: "ja".into(),
        speech: [vec![span(0.0, 6.0)], vec![span(7.0, 9.0)]],
        utterances: vec![
            say(0, 0.0, 6.0, "えー、お世話になります。"),
            say(1, 7.0, 9.0, "はい。"),
        ],
        duration_seconds: 10.0,
        ..transcript()
    };
    let r = report(&t, &roles(0), &AnalysisSettings::default());
    assert_eq!(r.speech_rate_unit, "characters_per_minute");
    assert_eq!(r.user.filler_count, 1);
    assert_eq!(r.user.speech_rate, Some(8.0 * 60.0 / 6.0));
    assert!(r
        .transcript_text
        .starts_with("0:00 (ユーザー) お世話になります。"));
}

#[test]
fn an_empty_transcript_reports_zeroes() {
    let r = report(
        &Transcript::default(),
        &roles(0),
        &AnalysisSettings::default(),
    );
    assert_eq!(r.tlr, 0.0);
    assert!(r.phrases.is_empty() && r.silences.is_empty());
    assert!(r.score.is_finite());
}

#[test]
fn keywords_are_timed_by_their_words() {
    let mut t = transcript();
    t.utterances[2].words = [
        "Our", "support", "team", "will", "send", "the", "quote", "today.",
    ]
    .iter()
    .enumerate()
    .map(|(i, w)| crate::analysis::Word::new(15.0 + i as f64, 15.5 + i as f64, *w))
    .collect();
    let settings = AnalysisSettings {
        keywords: vec!["Quote".into(), "support team".into()],
        ..Default::default()
    };
    let r = report(&t, &roles(0), &settings);
    let timed: Vec<(&str, f64)> = r
        .keywords
        .iter()
        .filter(|k| k.role == Role::User)
        .map(|k| (k.keyword.as_str(), k.starts_at))
        .collect();
    assert_eq!(timed, [("support team", 16.0), ("Quote", 21.0)]);
}

#[test]
fn japanese_keywords_are_found_across_character_words() {
    let t = Transcript {
        language: "ja".into(),
        speech: [vec![span(0.0, 4.0)], vec![]],
        utterances: vec![Utterance {
            speaker: 0,
            start: 0.0,
            end: 4.0,
            text: "お見積です".into(),
            words: "お見積です"
                .chars()
                .enumerate()
                .map(|(i, c)| crate::analysis::Word::new(i as f64 * 0.5, i as f64 * 0.5 + 0.5, c))
                .collect(),
        }],
        ..transcript()
    };
    let settings = AnalysisSettings {
        keywords: vec!["見積".into()],
        ..Default::default()
    };
    let r = report(&t, &roles(0), &settings);
    assert_eq!(r.keywords.len(), 1);
    assert_eq!(r.keywords[0].starts_at, 0.5);
}
