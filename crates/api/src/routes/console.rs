//! The web console: one page (`console/index.html`) and its script and style, embedded in the
//! binary so the console works offline and needs nothing installed. The page is public (it
//! holds no data); everything it shows comes from the API, which it calls with the Basic
//! credentials the user signed in with.
//!
//! The same page answers `/console/...` (runs, a run) and, for a browser that sends no
//! credentials, the `/files/<group>/<run>/` URLs krkn prints; it reads its view from the path.
//! Clients that send credentials (`curl -u`) keep getting the plain HTML listing there.
//!
//! Every URL in the page is relative to a `<base href>` the server fills in from the request's
//! depth, so the console works under an API Gateway stage prefix too.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;

const INDEX: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/console.js");
const STYLE: &str = include_str!("../../console/console.css");

/// The request header the console sets on its API calls; 401s to them carry no Basic
/// challenge, so the browser shows the console's sign-in form instead of its own dialog.
pub const CONSOLE_HEADER: &str = "x-requested-with";
/// The value of [`CONSOLE_HEADER`].
pub const CONSOLE_HEADER_VALUE: &str = "krkn-console";

/// What the page may load: only this origin, no inline script, nothing framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'self'; form-action 'self'";

/// One embedded file, or the file of the same name under `console_dir` when the service
/// was started with `KRKN_TELEMETRY_CONSOLE_DIR` (editing the console without rebuilding).
fn asset(state: &AppState, name: &str, embedded: &'static str) -> String {
    state
        .config
        .console_override(name)
        .unwrap_or_else(|| embedded.to_owned())
}

/// The console page for a request path: `<base href>` climbs back to the service's root.
pub fn page(state: &AppState, path: &str) -> Response {
    let depth = path.matches('/').count().saturating_sub(1);
    let root = if depth == 0 {
        "./".to_owned()
    } else {
        "../".repeat(depth)
    };
    let html = asset(state, "index.html", INDEX).replace("{{ROOT}}", &root);
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        html,
    )
        .into_response()
}

/// `GET /console/...`: the page, whatever view the path names.
#[utoipa::path(
    get,
    path = "/console/",
    tag = "service",
    responses((status = 200, description = "The console's page (it signs in and calls the API itself)", body = String, content_type = "text/html"))
)]
pub async fn console(State(state): State<AppState>, request: Request) -> Response {
    page(&state, request.uri().path())
}

/// `GET /console` → `console/`.
pub async fn console_redirect() -> Response {
    (StatusCode::FOUND, [(header::LOCATION, "console/")]).into_response()
}

/// `GET /console/assets/<name>`: the script and the style.
#[utoipa::path(
    get,
    path = "/console/assets/{name}",
    tag = "service",
    params(("name" = String, Path, description = "`console.js` or `console.css`")),
    responses(
        (status = 200, description = "The console's script or style",
            content((String = "text/javascript"), (String = "text/css"))),
        (status = 404, description = "No such asset", body = String, content_type = "text/plain")
    )
)]
pub async fn console_asset(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let (text, content_type) = match name.as_str() {
        "console.js" => (
            asset(&state, "console.js", SCRIPT),
            "text/javascript; charset=utf-8",
        ),
        "console.css" => (
            asset(&state, "console.css", STYLE),
            "text/css; charset=utf-8",
        ),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                format!("not found: console asset {name:?}\n"),
            )
                .into_response();
        }
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        text,
    )
        .into_response()
}

/// True for a browser navigation without credentials: it gets the console, which asks for
/// them, rather than a 401 and the browser's own dialog.
pub fn wants_console(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::AUTHORIZATION)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"))
}

/// Drops the Basic challenge from 401s to the console's own calls.
pub async fn quiet_challenge_for_console(request: Request, next: Next) -> Response {
    let from_console = request
        .headers()
        .get(CONSOLE_HEADER)
        .is_some_and(|v| v.as_bytes() == CONSOLE_HEADER_VALUE.as_bytes());
    let mut response = next.run(request).await;
    if from_console && response.status() == StatusCode::UNAUTHORIZED {
        response.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn browsers_without_credentials_get_the_console() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml"),
        );
        assert!(wants_console(&headers));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        assert!(!wants_console(&headers), "credentials: the plain listing");
        let mut curl = HeaderMap::new();
        curl.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        assert!(
            !wants_console(&curl),
            "curl: the plain listing (or its 401)"
        );
    }
}
