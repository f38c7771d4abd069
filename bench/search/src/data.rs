//! The benchmark's data: one company's generated calls and their results, stored through
//! Kiku's storage; the search index built by the indexing the server does at start.

use std::time::Instant;

use kiku_domain::analysis::{report, AnalysisSettings, Roles, Transcript, Utterance};
use kiku_domain::call_data::{parse_batch, MAX_CALLS_PER_BATCH};
use kiku_domain::metrics::Span;
use kiku_domain::{CompanyId, Side};
use kiku_storage::{AccountStore, AnalysisStore, CallStore, NewUser, SqlStore};
use serde_json::json;
use sqlx::AnyPool;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Results inserted per statement.
const ROWS_PER_INSERT: usize = 100;
const PHRASES_PER_CALL: usize = 12;

pub struct Built {
    pub company: CompanyId,
    pub store_seconds: f64,
    pub index_seconds: f64,
    /// `from` that leaves the newest tenth of the calls.
    pub tenth_from: String,
}

const JA_WORDS: &[&str] = &[
    "お客様",
    "確認",
    "予約",
    "変更",
    "商品",
    "配送",
    "注文",
    "番号",
    "住所",
    "電話",
    "担当",
    "窓口",
    "料金",
    "プラン",
    "契約",
    "更新",
    "支払い",
    "口座",
    "カード",
    "ポイント",
    "設定",
    "画面",
    "アプリ",
    "ログイン",
    "パスワード",
    "メール",
    "在庫",
    "返品",
    "交換",
    "保証書",
    "修理",
    "点検",
    "工事",
    "日程",
    "午前",
    "午後",
    "来週",
    "明日",
    "名前",
    "会員",
];
const JA_PARTICLES: &[&str] = &["が", "を", "に", "は", "で", "と", "の"];
const JA_ENDINGS: &[&str] = &[
    "です。",
    "ます。",
    "でしょうか。",
    "ください。",
    "ました。",
    "ません。",
];
const EN_WORDS: &[&str] = &[
    "order", "account", "delivery", "address", "number", "payment", "card", "plan", "update",
    "change", "check", "today", "tomorrow", "week", "please", "thank", "you", "help", "store",
    "item", "price", "service", "phone", "email", "password", "login", "screen", "app", "support",
    "time", "schedule", "repair", "visit", "invoice", "box", "color", "size", "return", "exchange",
    "contract", "team", "manager", "call", "back", "soon", "again", "problem", "working", "broken",
    "fine", "great", "sure", "okay", "minute", "morning",
];
/// (phrase, share of calls in its language, said by the customer in this share of them).
const JA_TOPICS: &[(&str, f64, f64)] = &[
    ("解約したいのですが。", 0.03, 1.0),
    ("エアコンが壊れました。", 0.05, 0.8),
    ("請求書が届いていません。", 0.08, 0.7),
    ("キャンセル料はかかりますか。", 0.002, 1.0),
];
const EN_TOPICS: &[(&str, f64, f64)] = &[
    ("I would like a refund, please.", 0.03, 1.0),
    ("I want to cancel my subscription.", 0.01, 1.0),
    ("Is it still under warranty?", 0.002, 1.0),
];

/// xorshift64*: reproducible data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[(self.next() % list.len() as u64) as usize]
    }
}

fn filler(rng: &mut Rng, japanese: bool) -> String {
    let words = 3 + (rng.next() % 4) as usize;
    if japanese {
        let mut s: String = (0..words)
            .map(|_| format!("{}{}", rng.pick(JA_WORDS), rng.pick(JA_PARTICLES)))
            .collect();
        s.push_str(rng.pick(JA_ENDINGS));
        s
    } else {
        let s: Vec<&str> = (0..words + 2).map(|_| rng.pick(EN_WORDS)).collect();
        format!("{}.", s.join(" "))
    }
}

fn transcript(rng: &mut Rng, japanese: bool) -> Transcript {
    let mut lines: Vec<(usize, String)> = (0..PHRASES_PER_CALL)
        .map(|i| (i % 2, filler(rng, japanese)))
        .collect();
    for (text, share, customer) in if japanese { JA_TOPICS } else { EN_TOPICS } {
        if rng.unit() < *share {
            let speaker = usize::from(rng.unit() < *customer);
            let slot = (rng.next() % (PHRASES_PER_CALL as u64 / 2)) as usize * 2 + speaker;
            lines[slot] = (speaker, text.to_string());
        }
    }
    let utterances: Vec<Utterance> = lines
        .into_iter()
        .enumerate()
        .map(|(i, (speaker, text))| Utterance {
            speaker,
            start: i as f64 * 4.0,
            end: i as f64 * 4.0 + 3.5,
            text,
            words: vec![],
        })
        .collect();
    let speech = |who: usize| {
        utterances
            .iter()
            .filter(|u| u.speaker == who)
            .map(|u| Span::new(u.start, u.end))
            .collect()
    };
    Transcript {
        format: 1,
        duration_seconds: PHRASES_PER_CALL as f64 * 4.0,
        language: if japanese { "ja" } else { "en" }.into(),
        speech: [speech(0), speech(1)],
        voices: [None, None],
        utterances,
        overlaps_estimated: false,
        truncated: false,
    }
}

pub async fn build(url: &str, calls: usize) -> Built {
    let started = Instant::now();
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("connect");
    let t0 = OffsetDateTime::from_unix_timestamp(1_704_067_200).expect("2024-01-01");
    let admin = NewUser {
        company_id: CompanyId::new(),
        name: "Admin".into(),
        email: "admin@bench.example".into(),
        password_hash: None,
        admin: true,
        use_incoming_webhook: false,
        created_at: t0,
    };
    let (company, _) = store.create_company("Bench", admin).await.expect("company");
    let settings: AnalysisSettings =
        serde_json::from_value(json!({"keywords": ["解約", "refund"]})).expect("settings");
    let settings_json = serde_json::to_string(&settings).expect("json");
    store
        .set_analysis_settings(company.id, &settings_json, t0)
        .await
        .expect("settings");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let pool = AnyPool::connect(url).await.expect("raw pool");
    let roles = Roles {
        user_speaker: 0,
        user_side: Side::From,
        confidence: 1.0,
        basis: "bench".into(),
    };
    let roles_json = serde_json::to_string(&roles).expect("json");
    for first in (0..calls).step_by(MAX_CALLS_PER_BATCH) {
        let last = (first + MAX_CALLS_PER_BATCH).min(calls);
        let batch: Vec<serde_json::Value> = (first..last)
            .map(|i| {
                let starts = t0 + Duration::minutes(i as i64);
                let fmt = |t: OffsetDateTime| t.format(&Rfc3339).expect("time");
                json!({
                    "call_data_id": format!("bench-{i}"), "audio_file_type": "wav",
                    "event_type": "AUTOMATIC_RECORD",
                    "call_starts_at": fmt(starts), "call_answered_at": fmt(starts + Duration::seconds(8)),
                    "call_ends_at": fmt(starts + Duration::seconds(60 + (i % 600) as i64)),
                    "participants": [
                        {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": format!("03{:08}", i), "name": null},
                        {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": format!("090{:08}", i * 7 % 100_000_000), "name": null}
                    ],
                    "tags": [{"value": if i.is_multiple_of(3) { "vip" } else { "normal" }}]
                })
            })
            .collect();
        let parsed = parse_batch(&json!({ "call_data": batch })).expect("valid calls");
        let stored = store
            .ingest_calls(company.id, &parsed, t0)
            .await
            .expect("ingest");
        for (chunk_no, chunk) in stored.chunks(ROWS_PER_INSERT).enumerate() {
            let mut values = Vec::new();
            let mut reports = Vec::new();
            for (j, call) in chunk.iter().enumerate() {
                let i = first + chunk_no * ROWS_PER_INSERT + j;
                let heard = transcript(&mut rng, i.is_multiple_of(2));
                reports.push((
                    call.id,
                    serde_json::to_string(&report(&heard, &roles, &settings)).expect("json"),
                ));
                let p = j * 4;
                values.push(format!(
                    "(${}, ${}, 1, 'bench', '{{}}', ${}, ${}, 'analysis', 0, 0)",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4
                ));
            }
            let sql = format!(
                "INSERT INTO analyses (call_id, company_id, version, engine, transcript, roles, report, reason, created_at_ms, updated_at_ms) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (id, report) in &reports {
                query = query
                    .bind(id.to_string())
                    .bind(company.id.to_string())
                    .bind(roles_json.clone())
                    .bind(report.clone());
            }
            query.execute(&pool).await.expect("insert analyses");
        }
    }
    // Results written behind the store's back, so the next start indexes them all.
    sqlx::query("UPDATE calls SET status = 'completed', search_indexed = 0 WHERE company_id = $1")
        .bind(company.id.to_string())
        .execute(&pool)
        .await
        .expect("mark");
    pool.close().await;
    store.close().await;
    let store_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let store = SqlStore::connect(url, kiku_storage::test_support::secret_keys())
        .await
        .expect("reopen");
    let index_seconds = started.elapsed().as_secs_f64();
    store.close().await;
    Built {
        company: company.id,
        store_seconds,
        index_seconds,
        tenth_from: (t0 + Duration::minutes((calls - calls / 10) as i64))
            .format(&Rfc3339)
            .expect("time"),
    }
}
