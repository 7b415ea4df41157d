//! What a client of API Gateway receives for a Lambda proxy response, by API Gateway's rules,
//! so that the Lambda tests check the bytes a user gets rather than the function's JSON:
//!
//! - REST API (payload 1.0): a body with `isBase64Encoded: true` is decoded only when the
//!   request's first `Accept` media type (or, without `Accept`, the response's
//!   `Content-Type`) matches one of the API's `BinaryMediaTypes`; otherwise the client gets
//!   the base64 text itself. `headers` and `multiValueHeaders` are merged.
//! - HTTP API (payload 2.0): a base64 body is always decoded; `cookies` become `Set-Cookie`.
//!
//! The binary media types come from `infra/template.yaml`, the list that is deployed.

use base64::Engine as _;
use serde_json::Value;

/// Lambda refuses a synchronous response payload over 6 MB (the client gets a 502 from a
/// REST API, a 500 from an HTTP API).
pub const LAMBDA_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;

/// The response as the client sees it.
#[derive(Debug)]
pub struct ClientResponse {
    pub status: u16,
    /// Header names in lower case, in the order given.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    }
}

/// The `BinaryMediaTypes` of the REST API in `infra/template.yaml` (`~1` is SAM's `/`).
pub fn template_binary_media_types() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
    let text = std::fs::read_to_string(path).expect("infra/template.yaml reads");
    let mut types = Vec::new();
    let mut in_list = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        match in_list {
            None if trimmed == "BinaryMediaTypes:" => in_list = Some(indent),
            Some(list_indent) if indent > list_indent && trimmed.starts_with("- ") => {
                let value = trimmed[2..].trim().trim_matches('"').trim_matches('\'');
                types.push(value.replace("~1", "/"));
            }
            Some(_) if !trimmed.is_empty() && !trimmed.starts_with('#') => in_list = None,
            _ => {}
        }
    }
    types
}

/// True when `media_type` matches the entry `pattern` (`*/*`, `image/*` or exact).
fn matches(pattern: &str, media_type: &str) -> bool {
    let (p_type, p_sub) = pattern.split_once('/').unwrap_or((pattern, ""));
    let (m_type, m_sub) = media_type.split_once('/').unwrap_or((media_type, ""));
    (p_type == "*" || p_type.eq_ignore_ascii_case(m_type))
        && (p_sub == "*" || p_sub.eq_ignore_ascii_case(m_sub))
}

/// The value of request header `name` in an event of either format.
fn request_header(event: &Value, name: &str) -> Option<String> {
    event["headers"].as_object().and_then(|headers| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str().map(str::to_owned))
    })
}

/// True for a REST API (payload 1.0) event.
pub fn is_rest(event: &Value) -> bool {
    event.get("httpMethod").is_some()
}

/// What the client receives for `response`, the function's answer to `event`.
pub fn client_response(event: &Value, response: &Value, binary_types: &[String]) -> ClientResponse {
    let status = response["statusCode"].as_u64().expect("statusCode") as u16;
    let mut headers = Vec::new();
    for (name, value) in response["headers"].as_object().into_iter().flatten() {
        headers.push((
            name.to_ascii_lowercase(),
            value.as_str().unwrap_or("").to_owned(),
        ));
    }
    for (name, values) in response["multiValueHeaders"]
        .as_object()
        .into_iter()
        .flatten()
    {
        for value in values.as_array().into_iter().flatten() {
            headers.push((
                name.to_ascii_lowercase(),
                value.as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    for cookie in response["cookies"].as_array().into_iter().flatten() {
        headers.push((
            "set-cookie".to_owned(),
            cookie.as_str().unwrap_or("").to_owned(),
        ));
    }
    let text = response["body"].as_str().unwrap_or("");
    let encoded = response["isBase64Encoded"].as_bool().unwrap_or(false);
    let mut client = ClientResponse {
        status,
        headers,
        body: text.as_bytes().to_vec(),
    };
    let decode = encoded
        && if is_rest(event) {
            let accept = request_header(event, "accept")
                .and_then(|a| {
                    a.split(',')
                        .next()
                        .map(|t| t.split(';').next().unwrap_or("").trim().to_owned())
                })
                .filter(|t| !t.is_empty());
            let deciding = accept.unwrap_or_else(|| client.media_type());
            binary_types
                .iter()
                .any(|pattern| matches(pattern, &deciding))
        } else {
            true
        };
    if decode {
        client.body = base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("isBase64Encoded bodies are base64");
    }
    client
}

#[test]
fn the_rules_decode_only_what_api_gateway_decodes() {
    let rest: Value =
        serde_json::json!({"httpMethod": "GET", "headers": {"Accept": "text/html,*/*"}});
    let http: Value = serde_json::json!({"version": "2.0", "headers": {"accept": "text/html"}});
    let response = serde_json::json!({"statusCode": 200, "isBase64Encoded": true, "body": "aGk=",
        "multiValueHeaders": {"content-type": ["application/x-ndjson"]}});
    assert_eq!(client_response(&rest, &response, &[]).body, b"aGk=");
    assert_eq!(
        client_response(&rest, &response, &["image/*".to_owned()]).body,
        b"aGk="
    );
    assert_eq!(
        client_response(&rest, &response, &["text/*".to_owned()]).body,
        b"hi"
    );
    assert_eq!(
        client_response(&rest, &response, &["*/*".to_owned()]).body,
        b"hi"
    );
    assert_eq!(client_response(&http, &response, &[]).body, b"hi");
    assert_eq!(
        template_binary_media_types(),
        ["*/*"],
        "infra/template.yaml's list"
    );
}
