//! Serves the OpenAPI document (`GET /openapi.json`) and its offline Swagger UI viewer (`GET /openapi/index.html`).
//!
//! The document is generated: the operations from the `#[utoipa::path]` of each handler in
//! [`super::documented_routes`], the schemas of enums and error codes from the code
//! ([`super::schemas`], [`super::error::ERROR_CODES`]), the other schemas and the document's
//! title, tags and security schemes from `crates/server/openapi/base.json`. The page and the
//! vendored `swagger-ui-dist` assets are embedded from `crates/server/openapi/`, so the viewer
//! needs no internet. See `docs/openapi.md`.

use std::sync::LazyLock;

use axum::{
    http::header,
    response::{IntoResponse, Redirect},
    routing::get,
    Router,
};
use serde_json::Value;

/// The document, generated once per process.
static OPENAPI_JSON: LazyLock<String> = LazyLock::new(|| document().to_string());

/// The OpenAPI 3.1 document describing this server's API.
pub fn document() -> Value {
    let (_, generated) = super::documented_routes().split_for_parts();
    let generated = serde_json::to_value(generated).expect("the generated document serializes");
    let mut doc: Value = serde_json::from_str(BASE_JSON).expect("base.json is valid JSON");
    doc["paths"] = generated["paths"].clone();
    if let Some(Value::Object(schemas)) = generated.pointer("/components/schemas") {
        for (name, schema) in schemas {
            doc["components"]["schemas"][name] = schema.clone();
        }
    }
    for (name, schema) in super::schemas::all() {
        doc["components"]["schemas"][name] =
            serde_json::to_value(schema).expect("a schema serializes");
    }
    add_common_errors(&mut doc);
    share_search_parameters(&mut doc);
    doc
}

/// The CSV export reads the call list's filters with the same parser (`calls::search_of`):
/// its parameters are the list's, less the page size, then its own.
fn share_search_parameters(doc: &mut Value) {
    let list = doc["paths"]["/api/v1/calls"]["get"]["parameters"].clone();
    let export = &mut doc["paths"]["/api/v1/calls/export.csv"]["get"]["parameters"];
    let own = export.as_array().cloned().unwrap_or_default();
    let shared = list.as_array().into_iter().flatten();
    let mut all: Vec<Value> = shared
        .filter(|p| p["name"] != "per_page")
        .cloned()
        .collect();
    all.extend(own);
    *export = Value::Array(all);
}

/// Responses an operation gets from how it reads its request, added where its attribute
/// does not say more: any operation can fail with 500; one that needs a session gets 401
/// without one; one with a JSON body gets what [`super::json::ApiJson`] answers.
fn add_common_errors(doc: &mut Value) {
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return;
    };
    let operations = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut());
    for op in operations {
        let mut common = vec![("500", "Internal")];
        if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
            common.push(("401", "Unauthenticated"));
        }
        if op
            .pointer("/requestBody/content/application~1json")
            .is_some()
        {
            common.extend([
                ("400", "MalformedJson"),
                ("413", "PayloadTooLarge"),
                ("415", "UnsupportedMediaType"),
            ]);
        }
        let Some(Value::Object(responses)) = op.get_mut("responses") else {
            continue;
        };
        for (status, name) in common {
            responses.entry(status).or_insert_with(
                || serde_json::json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
}

/// What the handlers do not generate: title, tags, security schemes, the bodies' schemas.
const BASE_JSON: &str = include_str!("../../openapi/base.json");
const INDEX_HTML: &str = include_str!("../../openapi/index.html");
const SWAGGER_UI_BUNDLE_JS: &[u8] = include_bytes!("../../openapi/vendor/swagger-ui-bundle.js");
const SWAGGER_UI_CSS: &[u8] = include_bytes!("../../openapi/vendor/swagger-ui.css");

/// The document and the page change with the binary and are small: always revalidate.
const CACHE_DOCUMENT: &str = "no-cache";
/// The vendored assets are large and change only when swagger-ui is refreshed.
const CACHE_ASSET: &str = "public, max-age=3600";

/// The viewer's assets, `GET /openapi/swagger-ui-bundle.js` and `GET /openapi/swagger-ui.css`,
/// and `GET /openapi` (and `/openapi/`) redirecting to the page; the document and the page
/// are documented routes. No state and no session.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/openapi", get(to_index))
        .route("/openapi/", get(to_index))
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

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "getOpenApi",
    tag = "Operations",
    summary = r#"This document (OpenAPI 3.1)"#,
    responses(
        (status = 200, description = r#"The OpenAPI document."#, content((super::schemas::OpenApiDocument = "application/json"))),
    ),
)]
pub async fn openapi_json() -> impl IntoResponse {
    embedded("application/json", CACHE_DOCUMENT, OPENAPI_JSON.as_bytes())
}

#[utoipa::path(
    get,
    path = "/openapi/index.html",
    operation_id = "getOpenApiViewer",
    tag = "Operations",
    summary = r#"Browsable viewer for this document"#,
    description = r#"Swagger UI, served entirely by Kiku (`/openapi/swagger-ui-bundle.js`, `/openapi/swagger-ui.css`); needs no internet. `GET /openapi` redirects here."#,
    responses(
        (status = 200, description = r#"HTML page."#, content((super::schemas::MetricsText = "text/html"))),
    ),
)]
pub async fn index_html() -> impl IntoResponse {
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
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let pbx = serde_json::json!(["CallWebhookPbx"]);
        assert_eq!(
            doc["paths"]["/webhooks/incoming/{company_id}/{secret}"]["post"]["tags"],
            pbx
        );
        assert_eq!(doc["paths"]["/uploads/{call_id}"]["put"]["tags"], pbx);
    }

    /// Every `$ref` of a handler's attribute names a schema the document has; each
    /// operation has a unique id and a summary.
    #[test]
    fn every_reference_resolves_and_every_operation_is_named() {
        fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 100, "{}", found.len());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        let mut ids = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                let id = op["operationId"].as_str().expect("operationId");
                assert!(ids.insert(id.to_string()), "{id} twice");
                assert!(op["summary"].is_string(), "{method} {path} has no summary");
            }
        }
        assert!(ids.len() >= 61, "{}", ids.len());
        let names = |path: &str| -> Vec<String> {
            let params = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .expect("params");
            params
                .iter()
                .map(|p| p["name"].as_str().expect("name").to_string())
                .collect()
        };
        let (list, export) = (names("/api/v1/calls"), names("/api/v1/calls/export.csv"));
        assert_eq!(list.len(), 21, "{list:?}");
        assert_eq!(export.len(), 21, "{export:?}");
        assert!(
            export.contains(&"encoding".to_string()) && !export.contains(&"per_page".to_string())
        );
    }

    /// The local schema names `value` refers to, anywhere inside it.
    fn referenced_schemas(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    if let Some(name) = r.strip_prefix("#/components/schemas/") {
                        out.push(name.to_string());
                    }
                }
                map.values().for_each(|v| referenced_schemas(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| referenced_schemas(v, out)),
            _ => {}
        }
    }

    /// Every request and response body of every operation (and of the reusable error
    /// responses), and every schema those refer to in turn, is derived from a Rust type:
    /// none of them comes from `base.json`.
    #[test]
    fn every_body_schema_is_derived_from_a_type() {
        let base: Value = serde_json::from_str(BASE_JSON).expect("base.json");
        let hand_written = base.pointer("/components/schemas").cloned();
        let hand_written = hand_written.as_ref().and_then(Value::as_object);
        let doc = document();
        let mut todo = Vec::new();
        for item in doc["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("path item").values() {
                referenced_schemas(&op["requestBody"], &mut todo);
                referenced_schemas(&op["responses"], &mut todo);
            }
        }
        referenced_schemas(&doc["components"]["responses"], &mut todo);
        let mut seen = std::collections::HashSet::new();
        while let Some(name) = todo.pop() {
            if !seen.insert(name.clone()) {
                continue;
            }
            assert!(
                hand_written.is_none_or(|h| !h.contains_key(&name)),
                "{name} is a body schema written by hand in base.json; derive it from its type"
            );
            let schema = &doc["components"]["schemas"][&name];
            assert!(schema.is_object(), "{name} is not in the document");
            referenced_schemas(schema, &mut todo);
        }
        assert!(seen.len() > 60, "{}", seen.len());
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
        let app = router::<()>()
            .route("/openapi.json", get(openapi_json))
            .route("/openapi/index.html", get(index_html));
        tokio::spawn(async move { axum::serve(listener, app).await });
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
