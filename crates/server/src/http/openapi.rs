//! Serves the OpenAPI document (`GET /openapi.json`) and its offline Swagger UI viewer (`GET /openapi/index.html`).
//!
//! Everything is embedded in the binary at compile time from `crates/server/openapi/`
//! (the document, the page, and the vendored `swagger-ui-dist` assets in `vendor/`), so the
//! viewer needs no internet. See `docs/openapi.md` for how to refresh the vendored assets.

use axum::{
    http::header,
    response::{IntoResponse, Redirect},
    routing::get,
    Router,
};

/// The OpenAPI 3.1 document describing this server's API.
pub const OPENAPI_JSON: &str = include_str!("../../openapi/openapi.json");
const INDEX_HTML: &str = include_str!("../../openapi/index.html");
const SWAGGER_UI_BUNDLE_JS: &[u8] = include_bytes!("../../openapi/vendor/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../../openapi/vendor/swagger-ui.css");

/// The document and the page change with the binary and are small: always revalidate.
const CACHE_DOCUMENT: &str = "no-cache";
/// The vendored assets are large and change only when swagger-ui is refreshed.
const CACHE_ASSET: &str = "public, max-age=3600";

/// Routes: `GET /openapi.json`, `GET /openapi/index.html`, `GET /openapi/swagger-ui-bundle.js`,
/// `GET /openapi/swagger-ui.css`, and `GET /openapi` (and `/openapi/`) redirecting to the page.
/// No state and no session: merge it into the app with `.merge(openapi::router())`.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/openapi", get(to_index))
        .route("/openapi/", get(to_index))
        .route("/openapi/index.html", get(index_html))
        .route("/openapi/swagger-ui-bundle.js", get(swagger_ui_bundle_js))
        .route("/openapi/swagger-ui.css", get(swagger_ui_css))
}

/// An embedded file with its type and caching policy.
fn embedded(
    content_type: &'static str,
    cache: &'static str,
    body: &'static [u8],
) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

async fn openapi_json() -> impl IntoResponse {
    embedded("application/json", CACHE_DOCUMENT, OPENAPI_JSON.as_bytes())
}

async fn index_html() -> impl IntoResponse {
    embedded(
        "text/html; charset=utf-8",
        CACHE_DOCUMENT,
        INDEX_HTML.as_bytes(),
    )
}

async fn swagger_ui_bundle_js() -> impl IntoResponse {
    embedded(
        "text/javascript; charset=utf-8",
        CACHE_ASSET,
        SWAGGER_UI_BUNDLE_JS,
    )
}

async fn swagger_ui_css() -> impl IntoResponse {
    embedded("text/css; charset=utf-8", CACHE_ASSET, SWAGGER_UI_CSS)
}

/// The page loads its assets by relative path (`./swagger-ui.css`), so it must be
/// opened as `/openapi/index.html`, never as `/openapi`.
async fn to_index() -> Redirect {
    Redirect::to("/openapi/index.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_is_openapi_3_1_and_tags_the_pbx_operations() {
        let doc: serde_json::Value =
            serde_json::from_str(OPENAPI_JSON).expect("openapi.json is valid JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let pbx = serde_json::json!(["CallWebhookPbx"]);
        assert_eq!(
            doc["paths"]["/webhooks/incoming/{company_id}/{secret}"]["post"]["tags"],
            pbx
        );
        assert_eq!(doc["paths"]["/uploads/{call_id}"]["put"]["tags"], pbx);
    }

    #[test]
    fn viewer_page_loads_nothing_from_outside() {
        assert!(!INDEX_HTML.contains("http:") && !INDEX_HTML.contains("https:"));
        assert!(!INDEX_HTML.contains("src=\"//") && !INDEX_HTML.contains("href=\"//"));
        assert!(INDEX_HTML.contains("./swagger-ui-bundle.js"));
        assert!(INDEX_HTML.contains("./swagger-ui.css"));
        assert!(INDEX_HTML.contains("\"/openapi.json\""));
    }

    #[tokio::test]
    async fn serves_document_viewer_and_assets() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move { axum::serve(listener, router::<()>()).await });
        let base = format!("http://{addr}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");

        for (path, content_type, len) in [
            ("/openapi.json", "application/json", OPENAPI_JSON.len()),
            (
                "/openapi/index.html",
                "text/html; charset=utf-8",
                INDEX_HTML.len(),
            ),
            (
                "/openapi/swagger-ui-bundle.js",
                "text/javascript; charset=utf-8",
                SWAGGER_UI_BUNDLE_JS.len(),
            ),
            (
                "/openapi/swagger-ui.css",
                "text/css; charset=utf-8",
                SWAGGER_UI_CSS.len(),
            ),
        ] {
            let res = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            assert_eq!(res.status(), 200, "{path}");
            assert_eq!(res.headers()[header::CONTENT_TYPE], content_type, "{path}");
            assert!(res.headers().contains_key(header::CACHE_CONTROL), "{path}");
            assert_eq!(res.bytes().await.expect("body").len(), len, "{path}");
        }

        for path in ["/openapi", "/openapi/"] {
            let res = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            assert!(res.status().is_redirection(), "{path}");
            assert_eq!(
                res.headers()[header::LOCATION],
                "/openapi/index.html",
                "{path}"
            );
        }
    }
}
