use super::*;
use proptest::prelude::*;
use serde_json::json;
use std::time::Duration;

#[test]
fn names_are_one_to_hundred_characters() {
    assert!(EndpointName::parse("").is_err());
    assert!(EndpointName::parse("  ").is_err());
    assert_eq!(EndpointName::parse(" CRM ").expect("valid").as_str(), "CRM");
    assert!(EndpointName::parse(&"あ".repeat(100)).is_ok());
    assert!(EndpointName::parse(&"あ".repeat(101)).is_err());
}

#[test]
fn urls_are_http_with_a_host() {
    assert!(EndpointUrl::parse("https://example.com/hook").is_ok());
    assert!(EndpointUrl::parse("http://127.0.0.1:8080/").is_ok());
    for bad in [
        "ftp://example.com/",
        "file:///etc/passwd",
        "example.com",
        "http://",
        "https://u:p@example.com/",
        "javascript:alert(1)",
    ] {
        assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn headers_refuse_reserved_names_in_any_case() {
    for name in [
        "User-Agent",
        "user-agent",
        "CONTENT-TYPE",
        "Webhook-Signature",
        "webhook-id",
        "Host",
    ] {
        let err = ExtraHeaders::parse(&json!({ name: "x" })).expect_err(name);
        assert_eq!(err, InvalidEndpoint::HeaderReserved(name.into()));
    }
    assert_eq!(
        ExtraHeaders::parse(&json!({"bad name": "x"})),
        Err(InvalidEndpoint::HeaderName("bad name".into()))
    );
    assert_eq!(
        ExtraHeaders::parse(&json!({"X-A": "a\r\nX-B: b"})),
        Err(InvalidEndpoint::HeaderValue("X-A".into()))
    );
    assert_eq!(
        ExtraHeaders::parse(&json!({"X-A": 1})),
        Err(InvalidEndpoint::HeadersShape)
    );
    assert_eq!(
        ExtraHeaders::parse(&json!(["X-A"])),
        Err(InvalidEndpoint::HeadersShape)
    );
    let ok = ExtraHeaders::parse(&json!({"Authorization": "Bearer s3cret", "X-Tenant": "a"}))
        .expect("valid");
    assert_eq!(ok.names(), vec!["Authorization", "X-Tenant"]);
    assert!(!format!("{ok:?}").contains("s3cret"));
}

#[test]
fn payload_keys_cannot_replace_kikus() {
    for key in RESERVED_PAYLOAD_KEYS {
        assert_eq!(
            ExtraPayload::parse(&json!({ key: 1 })),
            Err(InvalidEndpoint::PayloadReserved(key.into()))
        );
    }
    assert_eq!(
        ExtraPayload::parse(&json!("x")),
        Err(InvalidEndpoint::PayloadShape)
    );
    assert!(ExtraPayload::parse(&json!({"source": "kiku", "nested": {"call": 1}})).is_ok());
}

#[test]
fn events_default_and_subsets() {
    assert_eq!(
        OutgoingEvents::default().names(),
        vec!["call_analysis_completed", "call_analysis_failed"]
    );
    assert!(OutgoingEvents::parse::<&str>(&[]).is_err());
    assert!(OutgoingEvents::parse(&["call_analysis_swapped"]).is_err());
    let e = OutgoingEvents::parse(&["call_analysis_rescored", "call_analysis_rescored"])
        .expect("valid");
    assert_eq!(e.names(), vec!["call_analysis_rescored"]);
    assert!(e.contains(EventKind::CallAnalysisRescored));
    assert!(!e.contains(EventKind::CallAnalysisCompleted));
}

fn result(status: Option<u16>) -> AttemptResult {
    AttemptResult {
        status,
        retry_after: None,
    }
}

#[test]
fn outcomes_follow_standard_webhooks() {
    let p = DeliveryPolicy::default();
    assert_eq!(decide(&p, 1, result(Some(204)), 0.5), Decision::Delivered);
    assert_eq!(decide(&p, 8, result(Some(200)), 0.5), Decision::Delivered);
    assert_eq!(
        decide(&p, 1, result(Some(410)), 0.5),
        Decision::DisableEndpoint
    );
    for status in [
        None,
        Some(500),
        Some(503),
        Some(429),
        Some(301),
        Some(404),
        Some(400),
    ] {
        assert_eq!(
            decide(&p, 1, result(status), 0.5),
            Decision::Retry(Duration::from_secs(5)),
            "{status:?}"
        );
    }
    assert_eq!(
        decide(&p, 2, result(Some(500)), 0.5),
        Decision::Retry(Duration::from_secs(300))
    );
    assert_eq!(
        decide(&p, 7, result(Some(500)), 0.5),
        Decision::Retry(Duration::from_secs(36_000))
    );
    assert_eq!(decide(&p, 8, result(Some(500)), 0.5), Decision::GaveUp);
    assert_eq!(decide(&p, 8, result(None), 0.5), Decision::GaveUp);
}

#[test]
fn jitter_is_twenty_percent_at_the_extremes() {
    let p = DeliveryPolicy::default();
    assert_eq!(
        decide(&p, 2, result(None), 0.0),
        Decision::Retry(Duration::from_secs(240))
    );
    assert_eq!(
        decide(&p, 2, result(None), 1.0),
        Decision::Retry(Duration::from_secs(360))
    );
}

#[test]
fn retry_after_is_clamped_to_one_to_two_times_the_base() {
    let p = DeliveryPolicy::default();
    let asked = |s| AttemptResult {
        status: Some(429),
        retry_after: Some(Duration::from_secs(s)),
    };
    assert_eq!(
        decide(&p, 2, asked(1), 0.0),
        Decision::Retry(Duration::from_secs(300))
    );
    assert_eq!(
        decide(&p, 2, asked(450), 0.0),
        Decision::Retry(Duration::from_secs(450))
    );
    assert_eq!(
        decide(&p, 2, asked(86_400), 0.0),
        Decision::Retry(Duration::from_secs(600))
    );
}

#[test]
fn a_short_schedule_for_tests() {
    let p = DeliveryPolicy {
        schedule: vec![Duration::from_millis(10); 2],
        ..DeliveryPolicy::default()
    };
    assert!(matches!(
        decide(&p, 2, result(Some(500)), 0.3),
        Decision::Retry(_)
    ));
    assert_eq!(decide(&p, 3, result(Some(500)), 0.3), Decision::GaveUp);
}

#[test]
fn five_days_without_success_disables() {
    let p = DeliveryPolicy::default();
    let day = 24 * 3600 * 1000;
    assert!(!should_disable(&p, None, 10 * day));
    assert!(!should_disable(&p, Some(0), 5 * day - 1));
    assert!(should_disable(&p, Some(0), 5 * day));
}

proptest! {
    #[test]
    fn retry_delays_stay_within_jitter_or_clamp(attempt in 1u32..8, random in 0.0f64..1.0, status in 300u16..600, ra in proptest::option::of(0u64..200_000)) {
        prop_assume!(status != 410);
        let p = DeliveryPolicy::default();
        let base = p.schedule[(attempt - 1) as usize];
        let r = AttemptResult { status: Some(status), retry_after: ra.map(Duration::from_secs) };
        let Decision::Retry(d) = decide(&p, attempt, r, random) else { panic!("not a retry") };
        if ra.is_some() {
            prop_assert!(d >= base && d <= base * 2);
        } else {
            prop_assert!(d >= base.mul_f64(0.8) && d <= base.mul_f64(1.2));
        }
    }

    #[test]
    fn header_names_accepted_are_tokens_and_not_reserved(name in "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}") {
        let reserved = ["user-agent", "content-type", "content-length", "host"].contains(&name.to_ascii_lowercase().as_str())
            || name.to_ascii_lowercase().starts_with("webhook-");
        let parsed = ExtraHeaders::parse(&json!({ name.clone(): "v" }));
        prop_assert_eq!(parsed.is_ok(), !reserved);
    }

    #[test]
    fn header_values_with_controls_are_refused(value in "[ -~]{0,10}[\\x00-\\x08\\n\\r][ -~]{0,10}") {
        let parsed = ExtraHeaders::parse(&json!({ "X-A": value }));
        prop_assert!(parsed.is_err());
    }
}
