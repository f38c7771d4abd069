//! The call search contract, the same queries on every backend (SQLite always, PostgreSQL
//! in CI): every filter, Japanese and English text, new versions re-indexed, cursors.

use kiku_domain::analysis::{report, AnalysisSettings, Roles, Transcript};
use kiku_domain::call_data::parse_batch;
use kiku_domain::outbox::VersionReason;
use kiku_domain::search::CallSearch;
use kiku_domain::tag_rule::{KeywordMatch, TagRuleSpec};
use kiku_domain::{CallData, CallId, CompanyId, JobKind, UserId};
use kiku_storage::test_support::test_databases;
use kiku_storage::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_700_000_000).expect("time")
}

/// A call; `extra` overrides fields of a plain answered outgoing call.
fn call(id: &str, extra: Value) -> CallData {
    let mut c = json!({
        "call_data_id": id, "audio_file_type": "wav", "event_type": "AUTOMATIC_RECORD",
        "call_starts_at": "2024-01-01T00:00:00Z", "call_answered_at": "2024-01-01T00:00:10Z",
        "call_ends_at": "2024-01-01T00:01:10Z",
        "participants": [
            {"type": "FROM", "stereo_lr": "left", "miitel_user_id": null, "number": "0311110000", "name": null},
            {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "0322220000", "name": null}
        ]
    });
    let extra = extra.as_object().expect("object");
    // A later start moves the answer and the end with it: 10 s ringing, 60 s talk.
    if let Some(starts) = extra.get("call_starts_at").and_then(Value::as_str) {
        let starts = OffsetDateTime::parse(starts, &Rfc3339).expect("time");
        let at = |s: i64| {
            (starts + Duration::seconds(s))
                .format(&Rfc3339)
                .expect("time")
        };
        c["call_answered_at"] = at(10).into();
        c["call_ends_at"] = at(70).into();
    }
    for (k, v) in extra {
        c[k] = v.clone();
    }
    parse_batch(&json!({ "call_data": [c] }))
        .expect("valid call")
        .remove(0)
}

/// A report where speaker 0 (the user unless `swapped`) and speaker 1 say `lines`.
fn report_json(lines: &[(usize, &str)], confidence: f64, swapped: bool) -> (String, String) {
    let utterances: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (speaker, text))| {
            json!({"speaker": speaker, "start": i as f64 * 5.0, "end": i as f64 * 5.0 + 4.0, "text": text})
        })
        .collect();
    let transcript: Transcript = serde_json::from_value(json!({
        "format": 1, "duration_seconds": 60.0, "language": "ja",
        "speech": [[{"start": 0.0, "end": 20.0}], [{"start": 20.0, "end": 30.0}]],
        "voices": [null, null], "utterances": utterances,
    }))
    .expect("transcript");
    let roles: Roles = serde_json::from_value(json!({
        "user_speaker": usize::from(swapped), "user_side": "FROM", "confidence": confidence, "basis": "test"
    }))
    .expect("roles");
    let settings: AnalysisSettings =
        serde_json::from_value(json!({"keywords": ["解約", "Refund"]})).expect("settings");
    let r = report(&transcript, &roles, &settings);
    (
        serde_json::to_string(&roles).expect("json"),
        serde_json::to_string(&r).expect("json"),
    )
}

/// Stores `call` for `company` and, when `lines` are given, an analysis of them.
async fn stored(
    s: &SqlStore,
    company: CompanyId,
    call: CallData,
    lines: Option<&[(usize, &str)]>,
) -> CallId {
    let id = s
        .ingest_calls(company, &[call], t0())
        .await
        .expect("ingest")[0]
        .id;
    let Some(lines) = lines else { return id };
    let audio = NewAudio {
        key: format!("k-{id}"),
        bytes: 1,
    };
    s.attach_audio(id, audio, t0()).await.expect("attach");
    let job = s
        .claim_job(
            &[JobKind::AnalyseCall],
            "w",
            t0() + Duration::minutes(5),
            t0(),
        )
        .await
        .expect("claim")
        .expect("a job");
    let (roles, report) = report_json(lines, 1.0, false);
    let analysis = NewAnalysis {
        engine: "test".into(),
        transcript: "{}".into(),
        roles,
        report,
        write_minutes: false,
    };
    let done = s.finish_analysis(job.id, "w", &analysis, None, t0()).await;
    assert!(matches!(done, Ok(FinishOutcome::Stored { .. })), "{done:?}");
    id
}

async fn ids(s: &SqlStore, company: CompanyId, search: &CallSearch) -> Vec<CallId> {
    s.search_calls(company, search, false)
        .await
        .expect("search")
        .items
        .iter()
        .map(|c| c.id)
        .collect()
}

fn query(pairs: &[(&str, &str)]) -> CallSearch {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    CallSearch::parse(&pairs, &[]).expect("valid search")
}

#[tokio::test]
async fn every_filter_and_text_search_find_the_same_calls_on_every_backend() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("connect");
        let (company, user) = s
            .create_company("A", new_admin("a@a.example"))
            .await
            .expect("company");
        let (other, _) = s
            .create_company("B", new_admin("b@b.example"))
            .await
            .expect("other company");
        let c = company.id;
        let ja = stored(&s, c, call("ja", json!({
            "call_starts_at": "2024-01-01T09:00:00+09:00", "tags": [{"value": "vip"}, {"value": "renewal"}],
            "group_name": "sales", "event_type": "OUTGOING_CALL",
            "participants": [
                {"type": "FROM", "stereo_lr": "left", "miitel_user_id": user.id.to_string(), "number": "0311112222", "name": "Sato"},
                {"type": "TO", "stereo_lr": "right", "miitel_user_id": null, "number": "+819055556666", "name": null}
            ]})), Some(&[(0, "お電話ありがとうございます。"), (1, "解約、したいのですが。エアコンが壊れました")])).await;
        let en = stored(&s, c, call("en", json!({
            "call_starts_at": "2024-01-02T00:00:00Z", "event_type": "AUTOMATIC_TRANSFER", "queue_name": "support",
            "call_ends_at": "2024-01-02T00:30:10Z", "call_answered_at": "2024-01-02T00:00:10Z"})),
            Some(&[(0, "How can I help?"), (1, "I'd like a REFUND, please."), (0, "Refunds take a week")])).await;
        let missed = stored(&s, c, call("missed", json!({
            "call_starts_at": "2024-01-03T00:00:00Z", "event_type": "INCOMING_CALL", "call_answered_at": null,
            "queue_name": "support"})), None).await;
        // The same words in another company are never found from this one.
        stored(
            &s,
            other.id,
            call("ja", json!({})),
            Some(&[(1, "解約したい refund")]),
        )
        .await;

        let expect = |pairs: &[(&str, &str)], want: Vec<CallId>| {
            let search = query(pairs);
            let label = format!("{}: {pairs:?}", db.backend);
            let s = &s;
            async move {
                assert_eq!(ids(s, c, &search).await, want, "{label}");
            }
        };
        expect(&[], vec![missed, en, ja]).await;
        // Japanese: any substring of two characters or more, across punctuation.
        expect(&[("q", "解約")], vec![ja]).await;
        expect(&[("q", "解約したい")], vec![ja]).await;
        expect(&[("q", "エアコン")], vec![ja]).await;
        expect(&[("q", "エアコン 解約")], vec![ja]).await;
        expect(&[("q", "解約 refund")], vec![]).await;
        // English: words, any case, phrases in quotes.
        expect(&[("q", "refund")], vec![en]).await;
        expect(&[("q", "REFUND please")], vec![en]).await;
        expect(&[("q", "\"a refund please\"")], vec![en]).await;
        expect(&[("q", "\"please refund\"")], vec![]).await;
        expect(&[("q", "refun")], vec![]).await;
        expect(&[("q", "refunds")], vec![en]).await;
        // Whose words.
        expect(&[("q", "解約"), ("speaker", "user")], vec![]).await;
        expect(&[("q", "解約"), ("speaker", "customer")], vec![ja]).await;
        expect(&[("q", "refunds"), ("speaker", "user")], vec![en]).await;
        // Facts of the call data.
        expect(&[("user_id", &user.id.to_string())], vec![ja]).await;
        expect(&[("user_id", &UserId::new().to_string())], vec![]).await;
        expect(&[("tag", "vip")], vec![ja]).await;
        expect(&[("tag", "nope"), ("tag", "renewal")], vec![ja]).await;
        expect(&[("number", "5555-6666")], vec![ja]).await;
        expect(&[("number", "0311112222")], vec![ja]).await;
        expect(&[("number", "0000")], vec![missed, en]).await;
        expect(&[("group_name", "sales")], vec![ja]).await;
        expect(&[("queue_name", "support")], vec![missed, en]).await;
        expect(
            &[("event_type", "INCOMING_CALL,AUTOMATIC_TRANSFER")],
            vec![missed, en],
        )
        .await;
        expect(&[("event_type", "EXTENSION")], vec![]).await;
        expect(&[("status", "completed")], vec![en, ja]).await;
        expect(&[("answered", "false")], vec![missed]).await;
        expect(&[("answered", "true"), ("queue_name", "support")], vec![en]).await;
        expect(&[("min_duration", "61")], vec![en]).await;
        expect(&[("max_duration", "60")], vec![missed, ja]).await;
        expect(
            &[
                ("from", "2024-01-02T00:00:00Z"),
                ("to", "2024-01-03T00:00:00Z"),
            ],
            vec![en],
        )
        .await;
        // Facts of the result.
        expect(&[("keyword", "解約")], vec![ja]).await;
        expect(&[("keyword", "REFUND")], vec![en]).await;
        expect(&[("min_score", "-1000")], vec![en, ja]).await;
        expect(&[("max_score", "-1000")], vec![]).await;
        expect(&[("flag", "roles_need_review")], vec![]).await;

        // A new version (a swap) is what is searched from then on.
        let current = s.analysis(c, ja).await.expect("q").expect("analysis");
        let (roles, report) = report_json(
            &[
                (0, "お電話ありがとうございます。"),
                (1, "解約、したいのですが。エアコンが壊れました"),
            ],
            0.5,
            true,
        );
        let made = s
            .update_analysis(
                c,
                ja,
                current.version,
                Revision {
                    roles: &roles,
                    report: &report,
                    reason: VersionReason::Swap,
                    write_minutes: false,
                },
                t0(),
            )
            .await
            .expect("update");
        assert!(made.is_some());
        expect(&[("q", "解約"), ("speaker", "user")], vec![ja]).await;
        expect(&[("q", "解約"), ("speaker", "customer")], vec![]).await;
        expect(&[("flag", "roles_need_review")], vec![ja]).await;

        // Sorts: score and duration, highest first, unscored last.
        let by_duration = ids(&s, c, &query(&[("sort", "duration")])).await;
        assert_eq!(by_duration, vec![en, ja, missed]);
        let by_score = ids(&s, c, &query(&[("sort", "score")])).await;
        assert_eq!(by_score.last(), Some(&missed));
        s.close().await;

        // Calls stored before the index existed are indexed when the store next opens.
        let raw = sqlx::AnyPool::connect(&db.url)
            .await
            .expect("raw connection");
        for sql in [
            "DELETE FROM call_terms",
            "DELETE FROM call_texts",
            "UPDATE calls SET search_indexed = 0, talk_ms = 0, score = NULL, group_name = NULL",
        ] {
            sqlx::query(sql).execute(&raw).await.expect(sql);
        }
        raw.close().await;
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("reopen");
        for (pairs, want) in [
            (vec![("q", "解約"), ("speaker", "user")], vec![ja]),
            (vec![("group_name", "sales")], vec![ja]),
            (vec![("tag", "vip")], vec![ja]),
            (vec![("sort", "duration")], vec![en, ja, missed]),
        ] {
            assert_eq!(
                ids(&s, c, &query(&pairs)).await,
                want,
                "{}: {pairs:?}",
                db.backend
            );
        }
        s.close().await;
    }
}

fn new_admin(email: &str) -> NewUser {
    NewUser {
        company_id: CompanyId::new(),
        name: "Admin".into(),
        email: email.into(),
        password_hash: None,
        admin: true,
        use_incoming_webhook: true,
        created_at: t0(),
    }
}

#[tokio::test]
async fn cursors_page_through_every_call_once_while_new_ones_arrive() {
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("connect");
        let (company, _) = s
            .create_company("A", new_admin("a@a.example"))
            .await
            .expect("company");
        let c = company.id;
        // Ties on the sort value are broken by id.
        let mut all = Vec::new();
        for i in 0..7 {
            let starts = format!("2024-01-0{}T00:00:00Z", 1 + i % 3);
            all.push(
                stored(
                    &s,
                    c,
                    call(&format!("c{i}"), json!({"call_starts_at": starts})),
                    Some(&[(1, "解約したい")]),
                )
                .await,
            );
        }
        all.sort();
        // starts_at last: it adds a newer call while paging. With text, the matches are
        // gathered once and sorted for the page; without, the sort order is walked.
        let orders = ["duration", "score", "starts_at"];
        for (sort, text) in orders.iter().flat_map(|o| [(*o, None), (*o, Some("解約"))]) {
            let mut seen = Vec::new();
            let mut pairs = vec![("per_page", "2"), ("sort", sort)];
            pairs.extend(text.map(|q| ("q", q)));
            let mut search = query(&pairs);
            let mut pages = 0;
            loop {
                let page = s.search_calls(c, &search, true).await.expect("page");
                let total = page.total.expect("counted");
                assert!(total.count >= 7 && !total.is_lower_bound, "{total:?}");
                seen.extend(page.items.iter().map(|c| c.id));
                // Newer calls arriving meanwhile neither repeat nor hide older ones.
                if pages == 0 && sort == "starts_at" {
                    stored(
                        &s,
                        c,
                        call(
                            &format!("late{pages}{}", text.is_some()),
                            json!({"call_starts_at": "2025-01-01T00:00:00Z"}),
                        ),
                        None,
                    )
                    .await;
                }
                pages += 1;
                match page.next_cursor {
                    Some(next) => search.cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(
                seen.len(),
                7,
                "{}: {sort} {text:?}: no call twice",
                db.backend
            );
            seen.sort();
            assert_eq!(seen, all, "{}: {sort} {text:?}: every call", db.backend);
            assert_eq!(pages, 4);
        }
        // A cursor past the last match: an empty page, still counted.
        let mut search = query(&[("q", "解約")]);
        search.cursor = Some(kiku_domain::search::Cursor {
            sort: kiku_domain::search::SortKey::StartsAt,
            value: kiku_domain::search::SortValue::Int(0),
            call: CallId::new(),
        });
        let page = s.search_calls(c, &search, true).await.expect("page");
        assert!(page.items.is_empty() && page.next_cursor.is_none());
        assert_eq!(page.total.map(|t| t.count), Some(7));
        s.close().await;
    }
}

fn churn_rule(speaker: Option<kiku_domain::analysis::Role>) -> TagRuleSpec {
    TagRuleSpec {
        name: "churn".into(),
        keywords: vec!["解約".into()],
        keyword_match: KeywordMatch::Any,
        min_count: 1,
        speaker,
        tag: "churn risk".into(),
        enabled: true,
    }
}

async fn auto_tags_of(s: &SqlStore, company: CompanyId, call: CallId) -> Vec<String> {
    s.auto_tags(company, &[call])
        .await
        .expect("auto tags")
        .into_iter()
        .map(|t| t.tag)
        .collect()
}

#[tokio::test]
async fn auto_tags_follow_new_results_past_calls_and_deleted_rules_on_every_backend() {
    use kiku_domain::analysis::Role;
    for db in test_databases().await {
        let s = SqlStore::connect(&db.url, kiku_storage::test_support::secret_keys())
            .await
            .expect("connect");
        let (company, _) = s
            .create_company("A", new_admin("a@a.example"))
            .await
            .expect("company");
        let (other, _) = s
            .create_company("B", new_admin("b@b.example"))
            .await
            .expect("company");
        let c = company.id;
        let churn_lines: &[(usize, &str)] =
            &[(0, "お電話ありがとうございます"), (1, "解約したいです")];
        // Analysed before any rule: untouched until the rule is applied to past calls.
        let past = stored(&s, c, call("past", json!({})), Some(churn_lines)).await;
        let rule = s
            .create_tag_rule(c, &churn_rule(Some(Role::Customer)), t0())
            .await
            .expect("rule");
        assert_eq!(s.tag_rules(other.id).await.expect("rules"), vec![]);
        assert!(s.tag_rule(other.id, rule.id).await.expect("rule").is_none());
        let new = stored(&s, c, call("new", json!({})), Some(churn_lines)).await;
        let calm = stored(&s, c, call("calm", json!({})), Some(&[(1, "ありがとう")])).await;
        assert_eq!(auto_tags_of(&s, c, new).await, vec!["churn risk"]);
        assert!(auto_tags_of(&s, c, past).await.is_empty());
        assert!(auto_tags_of(&s, c, calm).await.is_empty());
        assert!(auto_tags_of(&s, other.id, new).await.is_empty(), "scoped");
        let tagged = query(&[("tag", "churn risk")]);
        assert_eq!(ids(&s, c, &tagged).await, vec![new]);

        // Applied to past calls, a page at a time.
        let queued = s.queue_tag_rule_application(c, rule.id, t0()).await;
        assert_eq!(queued.expect("queue"), Some(3));
        let job = s
            .claim_job(
                &[JobKind::ApplyTagRule],
                "w",
                t0() + Duration::minutes(5),
                t0(),
            )
            .await
            .expect("claim")
            .expect("an apply job");
        assert_eq!(job.company_id, c);
        let mut after = None;
        let (mut seen, mut hits) = (0, 0);
        while let Some(page) = s
            .apply_tag_rule_page(c, rule.id, after, 2, t0())
            .await
            .expect("page")
        {
            after = Some(page.last);
            seen += page.calls;
            hits += page.tagged;
        }
        assert_eq!((seen, hits), (3, 2));
        assert_eq!(auto_tags_of(&s, c, past).await, vec!["churn risk"]);
        let mut want = vec![past, new];
        want.sort_by_key(|id| std::cmp::Reverse(*id));
        let mut found = ids(&s, c, &tagged).await;
        found.sort_by_key(|id| std::cmp::Reverse(*id));
        assert_eq!(found, want);

        // A swap makes the customer's words the user's: the customer-only rule no longer tags.
        let current = s.analysis(c, new).await.expect("read").expect("analysis");
        let (roles, report) = report_json(churn_lines, 1.0, true);
        let revision = Revision {
            roles: &roles,
            report: &report,
            reason: VersionReason::Swap,
            write_minutes: false,
        };
        let made = s.update_analysis(c, new, current.version, revision, t0());
        assert!(made.await.expect("update").is_some());
        assert!(auto_tags_of(&s, c, new).await.is_empty());
        assert_eq!(ids(&s, c, &tagged).await, vec![past]);

        // A disabled rule tags no new result but leaves its tags; a deleted one takes them.
        let mut off = churn_rule(Some(Role::Customer));
        off.enabled = false;
        let updated = s.update_tag_rule(c, rule.id, &off, t0()).await;
        assert!(!updated.expect("update").expect("rule").spec.enabled);
        let later = stored(&s, c, call("later", json!({})), Some(churn_lines)).await;
        assert!(auto_tags_of(&s, c, later).await.is_empty());
        assert_eq!(auto_tags_of(&s, c, past).await, vec!["churn risk"]);
        assert!(!s.delete_tag_rule(other.id, rule.id).await.expect("delete"));
        assert!(s.delete_tag_rule(c, rule.id).await.expect("delete"));
        assert!(auto_tags_of(&s, c, past).await.is_empty());
        assert!(ids(&s, c, &tagged).await.is_empty());
        assert_eq!(
            s.apply_tag_rule_page(c, rule.id, None, 10, t0())
                .await
                .expect("page"),
            None,
            "a deleted rule's job ends"
        );
        assert_eq!(
            s.queue_tag_rule_application(c, rule.id, t0())
                .await
                .expect("queue"),
            None
        );
        s.close().await;
    }
}
