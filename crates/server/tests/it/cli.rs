//! The operator CLI, run as the real binary against both backends.

use std::process::Command;

use kiku_storage::test_support::test_databases;

use crate::support::run_kiku;
use serde_json::Value;

fn kiku(data_dir: &std::path::Path, database_url: &str, args: &[&str]) -> (bool, Value) {
    let env = [
        ("KIKU_DATA_DIR", data_dir.display().to_string()),
        ("KIKU_DATABASE_URL", database_url.to_string()),
    ];
    run_kiku(args, &env)
}

#[tokio::test]
async fn operators_bootstrap_everything_from_the_command_line() {
    for db in test_databases().await {
        let dir = tempfile::tempdir().expect("dir");
        let run = |args: &[&str]| kiku(dir.path(), &db.url, args);
        let (ok, company) = run(&[
            "company",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "boss@acme.example",
            "--admin-password",
            "long enough",
        ]);
        assert!(ok, "{company}");
        let c = company["company_id"]
            .as_str()
            .expect("company_id")
            .to_string();
        assert!(company["admin_user_id"].is_string());
        let (ok, user) = run(&[
            "user",
            "create",
            "--company",
            &c,
            "--name",
            "Suzuki",
            "--email",
            "suzuki@acme.example",
            "--use-incoming-webhook",
        ]);
        assert!(ok, "{user}");
        let u = user["user_id"].as_str().expect("user_id").to_string();
        let (_, list) = run(&["user", "list", "--company", &c]);
        let permitted: Vec<bool> = list["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["use_incoming_webhook"] == true)
            .collect();
        assert_eq!(permitted, vec![false, true]);
        let (ok, off) = run(&[
            "user",
            "update",
            "--company",
            &c,
            "--user",
            &u,
            "--use-incoming-webhook",
            "false",
        ]);
        assert!(ok && off["use_incoming_webhook"] == false, "{off}");
        let (ok, url) = run(&["webhook-url", "create", "--company", &c]);
        assert!(
            ok && url["url"].as_str().is_some_and(|u| u.contains(&c)),
            "{url}"
        );
        // Shown once: `show` has only the masked URL (Kiku keeps the secret's hash).
        let shown = run(&["webhook-url", "show", "--company", &c]).1;
        assert_eq!(shown["masked_url"], url["masked_url"]);
        assert!(shown.get("url").is_none(), "{shown}");
        let secret = url["url"]
            .as_str()
            .and_then(|u| u.rsplit('/').next())
            .expect("secret");
        assert!(!shown.to_string().contains(secret), "{shown}");
        let (ok, err) = run(&["webhook-url", "create", "--company", &c]);
        assert!(!ok && err["error"]["code"] == "conflict", "{err}");
        assert!(run(&["webhook-url", "delete", "--company", &c]).0);
        let (ok, again) = run(&["webhook-url", "create", "--company", &c]);
        assert!(ok && again["url"] != url["url"]);
        // Bad input: readable JSON errors, non-zero exit.
        for args in [
            vec![
                "user",
                "create",
                "--company",
                "nope",
                "--name",
                "x",
                "--email",
                "x@acme.example",
            ],
            vec![
                "user",
                "create",
                "--company",
                &c,
                "--name",
                "x",
                "--email",
                "suzuki@acme.example",
            ],
            vec![
                "company",
                "create",
                "--name",
                "B",
                "--admin-email",
                "b@b.example",
                "--admin-password",
                "short",
            ],
            vec![
                "webhook-url",
                "show",
                "--company",
                "7d1c0b7e-0000-4000-8000-000000000000",
            ],
        ] {
            let (ok, err) = run(&args);
            assert!(
                !ok && err["error"]["message"].is_string(),
                "{args:?}: {err}"
            );
        }
    }
}

#[test]
fn invalid_configuration_is_explained() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_kiku"))
        .args(["user", "list", "--company", "x"])
        .env("KIKU_DATA_DIR", dir.path())
        .env("KIKU_PUBLIC_URL", "ftp://example")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("KIKU_PUBLIC_URL"));
}

#[tokio::test]
async fn settings_come_from_defaults_then_file_then_environment() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("kiku.toml");
    std::fs::write(
        &file,
        "public_url = \"https://from-file.example\"\nlisten = \"127.0.0.1:9\"\n",
    )
    .expect("write");
    let run = |extra: &[(&str, &str)], args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiku"));
        cmd.args(args)
            .env("KIKU_DATA_DIR", dir.path())
            .env_remove("KIKU_DATABASE_URL")
            .env("KIKU_CONFIG", &file);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run");
        (
            out.status.success(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
        )
    };
    let (ok, company) = run(
        &[],
        &[
            "company",
            "create",
            "--name",
            "F",
            "--admin-email",
            "f@f.example",
            "--admin-password",
            "long enough",
        ],
    );
    assert!(ok, "{company}");
    let c = company["company_id"].as_str().expect("id").to_string();
    let (_, url) = run(&[], &["webhook-url", "create", "--company", &c]);
    assert!(
        url["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://from-file.example/webhooks/incoming/")),
        "{url}"
    );
    let (_, url) = run(
        &[("KIKU_PUBLIC_URL", "https://from-env.example")],
        &["webhook-url", "show", "--company", &c],
    );
    assert!(
        url["masked_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://from-env.example/")),
        "environment wins: {url}"
    );
    let (ok, err) = run(
        &[("KIKU_CONFIG", "/nonexistent/kiku.toml")],
        &["user", "list", "--company", &c],
    );
    assert!(
        !ok && err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("KIKU_CONFIG")),
        "{err}"
    );
    let (ok, err) = run(
        &[("KIKU_MAX_UPLOAD_BYTES", "lots")],
        &["user", "list", "--company", &c],
    );
    assert!(
        !ok && err["error"]["code"] == "invalid_configuration",
        "{err}"
    );
}

#[test]
fn analyze_prints_the_call_detail_of_a_local_recording() {
    let Some(model) = kiku_analysis::testing::test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let (mp3, _) = crate::analysis::support_call_mp3(dir.path());
    let file = dir.path().join("call.mp3");
    std::fs::write(&file, mp3).expect("write");
    let env = [
        ("KIKU_DATA_DIR", dir.path().display().to_string()),
        ("KIKU_BEAM_SIZE", "1".to_string()),
    ];
    let run = |args: &[&str]| run_kiku(&[&["analyze"], args].concat(), &env);
    let model = model.display().to_string();
    let path = file.display().to_string();
    // The user on the right: roles follow the flag, whatever the voices.
    let (ok, detail) = run(&[
        &path,
        "--model",
        &model,
        "--user-channel",
        "right",
        "--event-type",
        "INCOMING_CALL",
        "--keywords",
        "router",
    ]);
    assert!(ok, "{detail}");
    assert_eq!(detail["call_type"], "INCOMING_CALL");
    let user = detail["participants"]
        .as_array()
        .expect("participants")
        .iter()
        .find(|p| p["role"] == "user")
        .expect("user");
    assert_eq!(
        user["from_to"], "TO",
        "incoming calls: the called party is the user"
    );
    assert_eq!(detail["analysis"]["silence_count"], 1);
    assert_eq!(detail["analysis"]["overlap_count"], 1);
    let tlr = detail["analysis"]["tlr"].as_f64().expect("tlr");
    assert!(
        (0.2..0.5).contains(&tlr),
        "the customer (left) talks most: {tlr}"
    );
    assert!(detail["keywords"].as_array().is_some_and(|k| k.len() == 2));
    assert_eq!(detail["analysis"]["recording_truncated"], false);
    assert!(detail["speech_recognition"]["raw"]
        .as_str()
        .expect("raw")
        .starts_with("0:00 (Customer) Hello"));

    // A vocabulary word the settings would refuse is refused here too, with the reason.
    let long = "x".repeat(101);
    let (ok, err) = run(&[
        &path,
        "--model",
        &model,
        "--vocabulary",
        &format!("Zentrix,{long}"),
    ]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "invalid_request", "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("vocabulary")));

    // A GPU this machine lacks (or this build cannot use) is refused with the reason.
    let mut no_gpu = env.to_vec();
    no_gpu.push(("KIKU_ANALYSIS_DEVICE", "cuda:7".to_string()));
    let (ok, err) = run_kiku(&["analyze", &path, "--model", &model], &no_gpu);
    assert!(!ok);
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot load the speech model")),
        "{err}"
    );

    // Without the speaker encoder, mono calls are refused as unsupported…
    let (ok, err) = run(&[&path, "--model", &model, "--mono"]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "unsupported", "{err}");
    // …with it, the two voices of the mixed-down call are told apart.
    if let Some(encoder) = kiku_analysis::testing::test_speaker_encoder() {
        let env = [
            ("KIKU_DATA_DIR", dir.path().display().to_string()),
            ("KIKU_BEAM_SIZE", "1".to_string()),
            ("KIKU_SPEAKER_ENCODER", encoder.display().to_string()),
        ];
        let mono = |names: &[&str]| {
            let args = [&["analyze", &path, "--model", &model, "--mono"], names].concat();
            let (ok, detail) = run_kiku(&args, &env);
            assert!(ok, "{detail}");
            let confidence = detail["analysis"]["role_confidence"]
                .as_f64()
                .expect("confidence");
            (detail, confidence)
        };
        let (detail, confidence) = mono(&[]);
        assert_eq!(detail["analysis"]["overlaps_estimated"], true);
        assert!(confidence > 0.5, "{detail}");
        // Told the user's name, the introduction that says it counts for more.
        let (named, named_confidence) = mono(&["--user-name", "Daniel Smith"]);
        assert!(named_confidence > confidence, "{named}");
        assert!(
            named["analysis"]["role_basis"]
                .as_str()
                .is_some_and(|b| b.contains("as the user or company")),
            "{named}"
        );
        // Outgoing call: the caller (FROM) is the user, who introduces themselves.
        let raw = detail["speech_recognition"]["raw"].as_str().expect("raw");
        assert!(
            raw.starts_with("0:00 (User) Hello, this is Daniel"),
            "{raw}"
        );
        assert!(raw.contains("(Customer) Hi"), "{raw}");
    }
    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"RIFF0000WAVEnot really audio").expect("write");
    let (ok, err) = run(&[&garbage.display().to_string(), "--model", &model]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "analysis_failed");
    assert!(err["error"]["message"]
        .as_str()
        .expect("message")
        .starts_with("Failed to analyze data"));
    let (ok, err) = run(&[&path, "--model", "/nonexistent"]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "no_model");
    let (ok, err) = run(&[&path, "--model", &model, "--event-type", "FAX"]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "invalid_request");
    let (ok, err) = run(&[&path, "--user-channel", "middle"]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "invalid_arguments");
    let (ok, err) = run(&["/nonexistent.wav", "--model", &model]);
    assert!(!ok);
    assert_eq!(err["error"]["code"], "unreadable_file");
}

#[test]
fn analyze_says_when_only_the_start_of_a_long_recording_was_analysed() {
    use kiku_analysis::testing::{stereo_call, SUPPORT_CALL, SUPPORT_VOICES};
    let Some(model) = kiku_analysis::testing::test_model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    // Two lines, then silence past the one-minute cap.
    let call = stereo_call(dir.path(), SUPPORT_VOICES, &SUPPORT_CALL[..2], 70.0).expect("call");
    assert!(call.seconds > 70.0);
    let file = dir.path().join("long.wav");
    std::fs::write(&file, &call.wav).expect("write");
    let env = [
        ("KIKU_DATA_DIR", dir.path().display().to_string()),
        ("KIKU_BEAM_SIZE", "1".to_string()),
        ("KIKU_MAX_RECORDING_MINUTES", "1".to_string()),
    ];
    let model = model.display().to_string();
    let (ok, detail) = run_kiku(
        &["analyze", &file.display().to_string(), "--model", &model],
        &env,
    );
    assert!(ok, "{detail}");
    assert_eq!(detail["analysis"]["recording_truncated"], true, "{detail}");
    let seconds = detail["analysis"]["duration_seconds"]
        .as_f64()
        .expect("duration");
    assert!((seconds - 60.0).abs() < 0.1, "{seconds}");
    let raw = detail["speech_recognition"]["raw"].as_str().expect("raw");
    assert!(
        raw.contains("Daniel"),
        "what was decoded is analysed: {raw}"
    );
}

#[test]
fn the_data_folder_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    // umask 0 would make everything world-readable unless Kiku sets the modes itself.
    let status = Command::new("sh")
        .args([
            "-c",
            "umask 000; exec \"$0\" migrate",
            env!("CARGO_BIN_EXE_kiku"),
        ])
        .env("KIKU_DATA_DIR", &data)
        .env_remove("KIKU_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kiku migrate");
    assert!(status.success());
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("audio")), 0o700);
    assert_eq!(mode(&data.join("kiku.db")), 0o600);
    assert_eq!(mode(&data.join("upload-signing.key")), 0o600);
}
