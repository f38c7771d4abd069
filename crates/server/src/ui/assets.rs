//! The UI's scripts and style sheet, embedded at compile time and served with their type.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const ASSETS: &[(&str, &str, &str)] = &[
    (
        "kiku.css",
        "text/css; charset=utf-8",
        include_str!("../../static/kiku.css"),
    ),
    (
        "call.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/call.js"),
    ),
    (
        "calls.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/calls.js"),
    ),
    (
        "admin.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/admin.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Response {
    let Some((_, content_type, body)) = ASSETS.iter().find(|(name, _, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Short-lived: the assets change with the binary, and their names do not.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
