//! The real S3-compatible server `scripts/test` starts (SeaweedFS), for the tests of this
//! and dependent crates: its bucket's settings from `KIKU_TEST_S3_*`, and what a test may
//! ask the server beside Kiku (its uploads still pending).

use object_store::aws::{AwsAuthorizer, AwsCredential};

use crate::S3Settings;

/// The test server's bucket and credentials.
#[derive(Clone, Debug)]
pub struct TestS3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

const REGION: &str = "us-east-1";

/// The S3 server when `KIKU_TEST_S3_ENDPOINT` is set; `None` otherwise (the test then skips),
/// but a panic when `KIKU_TEST_REQUIRE_S3=1`, so CI can never silently skip S3.
pub fn test_s3() -> Option<TestS3> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match var("KIKU_TEST_S3_ENDPOINT") {
        Some(endpoint) => Some(TestS3 {
            endpoint,
            bucket: var("KIKU_TEST_S3_BUCKET").expect("KIKU_TEST_S3_BUCKET"),
            access_key_id: var("KIKU_TEST_S3_ACCESS_KEY_ID").expect("KIKU_TEST_S3_ACCESS_KEY_ID"),
            secret_access_key: var("KIKU_TEST_S3_SECRET_ACCESS_KEY")
                .expect("KIKU_TEST_S3_SECRET_ACCESS_KEY"),
        }),
        None if var("KIKU_TEST_REQUIRE_S3").as_deref() == Some("1") => {
            panic!("KIKU_TEST_REQUIRE_S3=1 but KIKU_TEST_S3_ENDPOINT is not set")
        }
        None => None,
    }
}

impl TestS3 {
    /// A folder of the bucket no other test uses.
    pub fn fresh_prefix(&self, name: &str) -> String {
        format!("{name}-{}", uuid::Uuid::new_v4().simple())
    }

    /// Settings for recordings under `prefix`, all given explicitly.
    pub fn settings(&self, prefix: &str) -> S3Settings {
        S3Settings {
            bucket: self.bucket.clone(),
            prefix: prefix.to_string(),
            endpoint: Some(self.endpoint.clone()),
            region: Some(REGION.into()),
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(self.secret_access_key.clone()),
            allow_http: Some(true),
            virtual_hosted_style_request: Some(false),
        }
    }

    /// The environment of a `kiku` process storing recordings under `prefix`: the setting
    /// and the standard AWS variables, as an operator would give them.
    pub fn kiku_env(&self, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("KIKU_AUDIO_STORE", format!("s3://{}/{prefix}", self.bucket)),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_REGION", REGION.into()),
            ("AWS_ACCESS_KEY_ID", self.access_key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_access_key.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// The keys under `prefix` with a multipart upload neither completed nor aborted
    /// (S3's ListMultipartUploads, signed with object_store's own signer).
    pub async fn pending_uploads(&self, prefix: &str) -> Vec<String> {
        let url = format!(
            "{}/{}?prefix={prefix}&uploads=",
            self.endpoint.trim_end_matches('/'),
            self.bucket
        );
        let mut request = http::Request::builder()
            .method("GET")
            .uri(&url)
            .body(object_store::client::HttpRequestBody::from(Vec::new()))
            .expect("request");
        let credential = AwsCredential {
            key_id: self.access_key_id.clone(),
            secret_key: self.secret_access_key.clone(),
            token: None,
        };
        AwsAuthorizer::new(&credential, "s3", REGION).authorize(&mut request, None);
        let response = reqwest::Client::new()
            .get(&url)
            .headers(request.headers().clone())
            .send()
            .await
            .expect("list multipart uploads");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "ListMultipartUploads: {status} {text}");
        text.split("<Upload>")
            .skip(1)
            .filter_map(|upload| {
                let key = upload.split_once("<Key>")?.1.split_once("</Key>")?.0;
                Some(key.to_string())
            })
            .collect()
    }
}
