//! The CSV export over HTTP and the CLI on both backends, read back with a real CSV parser:
//! MiiTel's columns, filters, UTF-8 with a BOM and Shift_JIS, formula-looking cells.

use reqwest::StatusCode;
use serde_json::json;

use crate::search::{call_with, stored_call};
use crate::support::{run_kiku, servers, Tenant, TestServer};

/// Rows (header first) of a CSV file.
fn parse(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("a CSV record").iter().map(String::from).collect())
        .collect()
}

async fn export(
    s: &TestServer,
    t: &Tenant,
    query: &[(&str, &str)],
) -> (StatusCode, String, Vec<u8>) {
    let response = s
        .http
        .get(s.url("/api/v1/calls/export.csv"))
        .query(query)
        .bearer_auth(&t.admin_token)
        .send()
        .await
        .expect("request");
    let status = response.status();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, kind, response.bytes().await.expect("body").to_vec())
}

/// Three calls: one analysed in Japanese, one in English, one unanswered with formula-looking text.
async fn calls(s: &TestServer, t: &Tenant) {
    let agent = s.user(t, "agent@acme.example", true).await;
    let settings = json!({"keywords": ["解約", "refund"]});
    let req = s
        .http
        .put(s.url("/api/v1/settings/analysis"))
        .bearer_auth(&t.admin_token)
        .json(&settings);
    assert_eq!(s.send(req).await.0, StatusCode::OK);
    stored_call(
        s,
        t,
        call_with(
            "ja",
            "OUTGOING_CALL",
            true,
            Some(&agent),
            json!({"tags": [{"value": "重要"}]}),
        ),
        Some(&[
            (0, "お電話ありがとうございます"),
            (1, "解約したいです。解約です"),
        ]),
    )
    .await;
    stored_call(s, t, call_with("en", "AUTOMATIC_TRANSFER", true, None, json!({"call_starts_at": "2026-01-06T10:00:00+09:00",
        "call_answered_at": "2026-01-06T10:00:05+09:00", "call_ends_at": "2026-01-06T10:01:05+09:00"})),
        Some(&[(0, "Hello"), (1, "A refund, please")])).await;
    stored_call(s, t, call_with("missed", "INCOMING_CALL", false, None, json!({"call_starts_at": "2026-01-07T10:00:00+09:00",
        "call_ends_at": "2026-01-07T10:00:30+09:00", "tags": [{"value": "=SUM(A1:A9)"}, {"value": "@x"}]})), None).await;
}

#[tokio::test]
async fn the_csv_export_has_a_row_per_call_in_either_encoding() {
    for s in servers().await {
        let t = s.tenant("acme").await;
        calls(&s, &t).await;
        let (status, kind, body) = export(&s, &t, &[]).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        assert_eq!(kind, "text/csv; charset=utf-8");
        let text = String::from_utf8(body).expect("UTF-8");
        let text = text.strip_prefix('\u{feff}').expect("a BOM for Excel");
        let rows = parse(text);
        let col = |name: &str| {
            rows[0]
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("{name} in {:?}", rows[0]))
        };
        assert_eq!(rows.len(), 4, "{}: header and three calls", s.backend);
        assert_eq!(
            &rows[0][..4],
            ["call_type", "call_id", "call_data_id", "user_name"]
        );
        assert_eq!(
            &rows[0][rows[0].len() - 2..],
            ["keyword:解約", "keyword:refund"]
        );
        // Newest first, as the list.
        let (missed, en, ja) = (&rows[1], &rows[2], &rows[3]);
        assert_eq!(missed[col("call_type")], "incoming (no answer)");
        assert_eq!(missed[col("call_begin")], "", "blank when unanswered");
        assert_eq!(missed[col("ringing_seconds")], "30");
        assert_eq!(
            missed[col("tags")],
            "'=SUM(A1:A9), @x",
            "formula-looking text is quoted"
        );
        assert_eq!(missed[col("score")], "", "no result");
        assert_eq!(ja[col("call_type")], "outgoing");
        assert_eq!(ja[col("user_name")], "Agent");
        assert_eq!(ja[col("from_number")], "0311112222");
        assert_eq!(ja[col("to_number")], "'+81322223333");
        assert_eq!(ja[col("status")], "completed");
        assert_eq!(ja[col("call_duration_seconds")], "233");
        assert!(ja[col("score")].parse::<f64>().is_ok(), "{ja:?}");
        assert_eq!(
            (
                ja[col("keyword:解約")].as_str(),
                ja[col("keyword:refund")].as_str()
            ),
            ("2", "0")
        );
        assert_eq!(
            (
                en[col("keyword:解約")].as_str(),
                en[col("keyword:refund")].as_str()
            ),
            ("0", "1")
        );
        assert_eq!(en[col("tags")], "first call");

        // Shift_JIS: the same file, no BOM.
        let (status, kind, sjis) = export(&s, &t, &[("encoding", "shift_jis")]).await;
        assert_eq!(
            (status, kind.as_str()),
            (StatusCode::OK, "text/csv; charset=shift_jis")
        );
        let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&sjis);
        assert!(!bad);
        assert_eq!(parse(&decoded), rows);

        // The list's filters apply.
        let (_, _, body) = export(&s, &t, &[("q", "解約"), ("speaker", "customer")]).await;
        let only = parse(String::from_utf8_lossy(&body).trim_start_matches('\u{feff}'));
        assert_eq!(only.len(), 2);
        assert_eq!(only[1][col("call_data_id")], "ja");
        let (status, _, body) = export(&s, &t, &[("encoding", "ebcdic")]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let error: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(error["parameter"], "encoding");
        assert_eq!(
            export(&s, &t, &[("cursor", "x")]).await.0,
            StatusCode::BAD_REQUEST
        );

        // The CLI writes the same file.
        let Some(url) = s.database_url() else {
            continue;
        };
        let dir = tempfile::tempdir().expect("dir");
        let out = dir.path().join("calls.csv");
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_DATABASE_URL", url.to_string()),
        ];
        let out_arg = out.display().to_string();
        let args = [
            "call",
            "export",
            "--company",
            &t.company_id,
            "--out",
            &out_arg,
            "--encoding",
            "shift_jis",
        ];
        let (ok, printed) = run_kiku(&args, &env);
        assert!(ok, "{printed}");
        assert_eq!(printed["rows"], 3);
        let written = std::fs::read(&out).expect("file");
        assert_eq!(parse(&encoding_rs::SHIFT_JIS.decode(&written).0), rows);
        let mut filtered = args.to_vec();
        filtered.extend(["--filter", "answered=false"]);
        let (ok, printed) = run_kiku(&filtered, &env);
        assert!(ok, "{printed}");
        assert_eq!(printed["rows"], 1);
        let (ok, printed) = run_kiku(&[&args[..6], &["--filter", "colour=red"]].concat(), &env);
        assert!(!ok);
        assert_eq!(printed["error"]["code"], "invalid_query", "{printed}");
    }
}
