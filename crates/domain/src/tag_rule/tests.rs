use proptest::prelude::*;

use super::*;
use crate::analysis::{
    parse_speaker, report, speaker_name, AnalysisSettings, Roles, Transcript, Utterance,
};

/// A call of `lines` (speaker 0 is the user), in `language`.
fn report_of(language: &str, lines: &[(usize, &str)]) -> Report {
    let transcript = Transcript {
        format: 1,
        duration_seconds: 60.0,
        language: language.into(),
        speech: [vec![], vec![]],
        voices: [None, None],
        utterances: lines
            .iter()
            .enumerate()
            .map(|(i, (speaker, text))| Utterance {
                speaker: *speaker,
                start: i as f64 * 5.0,
                end: i as f64 * 5.0 + 4.0,
                text: (*text).into(),
                words: vec![],
            })
            .collect(),
        overlaps_estimated: false,
        truncated: false,
    };
    let roles = Roles {
        user_speaker: 0,
        user_side: crate::Side::From,
        confidence: 1.0,
        basis: "test".into(),
    };
    report(&transcript, &roles, &AnalysisSettings::default())
}

fn rule(keywords: &[&str], keyword_match: KeywordMatch, min_count: u32) -> TagRuleSpec {
    TagRuleSpec {
        name: "churn".into(),
        keywords: keywords.iter().map(|k| k.to_string()).collect(),
        keyword_match,
        min_count,
        speaker: None,
        tag: "解約".into(),
        enabled: true,
    }
}

#[test]
fn any_counts_the_total_and_all_each_keyword() {
    let r = report_of(
        "ja",
        &[
            (0, "ご解約ですね。違約金がかかります。"),
            (1, "解約したいです。解約料は？"),
        ],
    );
    let any = rule(&["解約", "違約金"], KeywordMatch::Any, 4);
    assert_eq!(any.counts(&r), vec![3, 1]);
    assert!(any.matches(&r));
    assert!(!rule(&["解約", "違約金"], KeywordMatch::Any, 5).matches(&r));
    assert!(rule(&["解約", "違約金"], KeywordMatch::All, 1).matches(&r));
    assert!(!rule(&["解約", "違約金"], KeywordMatch::All, 2).matches(&r));
}

#[test]
fn the_speaker_limits_whose_words_count() {
    let r = report_of("en", &[(0, "Do you want to cancel?"), (1, "No.")]);
    let mut customer = rule(&["cancel"], KeywordMatch::Any, 1);
    customer.speaker = Some(Role::Customer);
    assert!(!customer.matches(&r));
    customer.speaker = Some(Role::User);
    assert!(customer.matches(&r));
    customer.speaker = None;
    assert!(customer.matches(&r));
}

#[test]
fn english_keywords_are_whole_words_in_any_case() {
    let r = report_of("en", &[(1, "CANCEL it. It was cancelled, and uncancel.")]);
    assert_eq!(rule(&["cancel"], KeywordMatch::Any, 1).counts(&r), vec![1]);
    let phrase = rule(&["it was"], KeywordMatch::Any, 1);
    assert_eq!(phrase.counts(&r), vec![1]);
}

#[test]
fn validation_trims_drops_repeats_and_names_the_field() {
    let spec = TagRuleSpec {
        name: "  churn ".into(),
        keywords: vec![" Cancel".into(), "cancel ".into(), "解約".into()],
        tag: " churn ".into(),
        ..rule(&[], KeywordMatch::Any, 1)
    };
    let valid = spec.validate().expect("valid");
    assert_eq!(valid.name, "churn");
    assert_eq!(valid.keywords, vec!["Cancel", "解約"]);
    assert_eq!(valid.tag, "churn");
    let bad = |f: fn(&mut TagRuleSpec)| {
        let mut spec = rule(&["cancel"], KeywordMatch::Any, 1);
        f(&mut spec);
        spec.validate().expect_err("invalid")
    };
    assert_eq!(bad(|s| s.name = " ".into()), InvalidTagRule::Name);
    assert_eq!(bad(|s| s.keywords = vec![]), InvalidTagRule::Keywords);
    assert_eq!(
        bad(|s| s.keywords = vec![" ".into()]),
        InvalidTagRule::Keywords
    );
    assert_eq!(
        bad(|s| s.keywords = (0..51).map(|i| format!("k{i}")).collect()),
        InvalidTagRule::Keywords
    );
    assert_eq!(bad(|s| s.min_count = 0), InvalidTagRule::MinCount);
    assert_eq!(bad(|s| s.tag = "あ".repeat(513)), InvalidTagRule::Tag);
    assert!(rule(&["cancel"], KeywordMatch::Any, 1).validate().is_ok());
}

#[test]
fn names_round_trip() {
    for m in [KeywordMatch::Any, KeywordMatch::All] {
        assert_eq!(KeywordMatch::parse(m.as_str()), Some(m));
    }
    for s in [None, Some(Role::User), Some(Role::Customer)] {
        assert_eq!(parse_speaker(speaker_name(s)), Some(s));
    }
    assert_eq!(parse_speaker("either"), None);
}

proptest! {
    /// `all` at a threshold implies `any` at it; saying more never untags; either side
    /// counts what each side counts.
    #[test]
    fn thresholds_combine_consistently(
        words in proptest::collection::vec(0usize..3, 0..12),
        sides in proptest::collection::vec(0usize..2, 12),
        min in 1u32..4,
    ) {
        let vocabulary = ["refund", "cancel", "hello"];
        let lines: Vec<(usize, &str)> = words.iter().zip(&sides).map(|(w, s)| (*s, vocabulary[*w])).collect();
        let r = report_of("en", &lines);
        let keywords = ["refund", "cancel"];
        let all = rule(&keywords, KeywordMatch::All, min);
        let any = rule(&keywords, KeywordMatch::Any, min);
        if all.matches(&r) {
            prop_assert!(any.matches(&r));
        }
        let mut more = lines.clone();
        more.push((1, "refund cancel"));
        let r_more = report_of("en", &more);
        if any.matches(&r) {
            prop_assert!(any.matches(&r_more));
        }
        if all.matches(&r) {
            prop_assert!(all.matches(&r_more));
        }
        let side = |role| TagRuleSpec { speaker: Some(role), ..any.clone() };
        let sum: Vec<usize> = side(Role::User).counts(&r).iter().zip(side(Role::Customer).counts(&r)).map(|(u, c)| u + c).collect();
        prop_assert_eq!(any.counts(&r), sum);
    }
}
