//! The Lambda binary under the Lambda Runtime API ([`crate::lambda_function`]), invoked with
//! every sample event in `events/` and with variants of them (stages named `api` and `v1`, a
//! custom domain, binary uploads, a large export). What the client gets is derived with API
//! Gateway's rules ([`crate::api_gateway`]) and checked: status, type, a body that parses,
//! URLs under the stage, and the Lambda payload limit.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::api_gateway::ClientResponse;
use crate::helpers::{RUN_ID, SEED};
use crate::lambda_function::{
    Function, NEW_RUN, Store, check_log, events_dir, link_path, request_event, sample_events, seed,
};

/// The URL path prefix a client of `event` uses: `/<stage>` on the execute-api host.
fn client_prefix(event: &Value) -> String {
    let context = &event["requestContext"];
    let stage = context["stage"].as_str().unwrap_or("");
    let domain = context["domainName"].as_str().unwrap_or("");
    if !stage.is_empty() && stage != "$default" && domain.contains(".execute-api.") {
        format!("/{stage}")
    } else {
        String::new()
    }
}

/// Checks that the body is what its type says, and that every URL in it is under the client's
/// prefix; `Err` names the problem.
fn check_body(event: &Value, client: &ClientResponse) -> Result<(), String> {
    let text = std::str::from_utf8(&client.body);
    let prefix = client_prefix(event);
    let host = event["requestContext"]["domainName"].as_str().unwrap_or("");
    match client.media_type().as_str() {
        "" if client.body.is_empty() => {}
        "application/json" => {
            let value: Value = serde_json::from_slice(&client.body)
                .map_err(|e| format!("JSON body does not parse: {e}"))?;
            check_urls(&value, &prefix, host)?;
        }
        "application/x-ndjson" => {
            for (n, line) in text.map_err(|e| e.to_string())?.lines().enumerate() {
                serde_json::from_str::<Value>(line).map_err(|e| {
                    format!("NDJSON line {} does not parse: {e}: {line:.80}", n + 1)
                })?;
            }
        }
        "text/csv" => {
            let header = text
                .map_err(|e| e.to_string())?
                .lines()
                .next()
                .unwrap_or("");
            if !header.starts_with("group,request_id,") {
                return Err(format!("the CSV header is {header:.80}"));
            }
        }
        "text/html" => {
            let html = text.map_err(|e| e.to_string())?.to_ascii_lowercase();
            if !html.contains("<html") && !html.contains("<!doctype html") {
                return Err(format!("not HTML: {html:.80}"));
            }
        }
        "text/javascript" => {
            let script = include_str!("../../console/console.js");
            if client.body != script.as_bytes() {
                return Err("the console script differs from console/console.js".into());
            }
        }
        "text/plain" => {
            let text = text.map_err(|e| e.to_string())?;
            if text.starts_with("https://") && text.contains(host) && !host.is_empty() {
                let path = &text[text.find(host).unwrap_or(0) + host.len()..];
                if !path.starts_with(&format!("{prefix}/")) {
                    return Err(format!("the link {text:.120} is not under {prefix:?}"));
                }
            }
        }
        other => return Err(format!("unexpected content type {other:?}")),
    }
    if (300..400).contains(&client.status) && client.header("location").is_none() {
        return Err("a redirect without Location".into());
    }
    Ok(())
}

/// Every `url`, `files_url` and link to this host in `value` starts under `prefix`.
fn check_urls(value: &Value, prefix: &str, host: &str) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                if let Value::String(url) = item {
                    let path = match url.strip_prefix(&format!("https://{host}")) {
                        Some(path) if !host.is_empty() => Some(path),
                        _ if key == "url" || key == "files_url" => Some(url.as_str()),
                        _ => None,
                    };
                    if let Some(path) = path
                        && !path.starts_with(&format!("{prefix}/"))
                    {
                        return Err(format!("{key} {url} is not under {prefix:?}"));
                    }
                }
                check_urls(item, prefix, host)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                check_urls(item, prefix, host)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `event` moved to a stage named `stage`, on the execute-api host or on a custom domain
/// (where the stage is not in the path); `None` for events without a named stage.
fn restaged(event: &Value, stage: &str, custom_domain: bool) -> Option<Value> {
    let old = event["requestContext"]["stage"].as_str()?.to_owned();
    if old == "$default"
        || !event["requestContext"]["domainName"]
            .as_str()?
            .contains(".execute-api.")
    {
        return None;
    }
    let mut event = event.clone();
    let old_prefix = format!("/{old}");
    let new_prefix = if custom_domain {
        String::new()
    } else {
        format!("/{stage}")
    };
    let swap = |path: &str| match path.strip_prefix(&old_prefix) {
        Some(rest) => format!("{new_prefix}{}", if rest.is_empty() { "/" } else { rest }),
        None => path.to_owned(),
    };
    let context = &mut event["requestContext"];
    context["stage"] = json!(stage);
    if custom_domain {
        context["domainName"] = json!("telemetry.example.com");
    }
    if let Some(path) = context["path"].as_str().map(swap) {
        context["path"] = json!(path);
    }
    if let Some(path) = context["http"]["path"].as_str().map(swap) {
        context["http"]["path"] = json!(path);
    }
    if let Some(path) = event["rawPath"].as_str().map(swap) {
        event["rawPath"] = json!(path);
    }
    if custom_domain {
        for name in ["Host", "host"] {
            if event["headers"].get(name).is_some() {
                event["headers"][name] = json!("telemetry.example.com");
            }
            if event["multiValueHeaders"].get(name).is_some() {
                event["multiValueHeaders"][name] = json!(["telemetry.example.com"]);
            }
        }
    }
    Some(event)
}

/// Replays every event (and its restaged variants) and collects what went wrong.
/// With `KRKN_TEST_LAMBDA_DUMP=FILE`, a Markdown table of what clients got for the sample
/// events (status, type, size, the body's start) is appended to FILE (for issue notes and
/// reviews; the assertions do not depend on it).
async fn replay_all(function: &Function) -> Vec<String> {
    let dump = std::env::var_os("KRKN_TEST_LAMBDA_DUMP");
    let mut table = String::new();
    let mut failures = Vec::new();
    for (name, event, want) in sample_events() {
        let mut variants = vec![(name.clone(), event.clone())];
        for (stage, custom) in [("api", false), ("api", true), ("v1", false)] {
            if let Some(moved) = restaged(&event, stage, custom) {
                let place = if custom {
                    "custom domain"
                } else {
                    "execute-api"
                };
                variants.push((format!("{name} (stage {stage}, {place})"), moved));
            }
        }
        for (label, event) in variants {
            let client = function.call(&label, &event).await;
            if dump.is_some() && label == name {
                let start: String = String::from_utf8_lossy(&client.body)
                    .chars()
                    .take(48)
                    .map(|c| if c.is_control() || c == '|' { ' ' } else { c })
                    .collect();
                table.push_str(&format!(
                    "| {name} | {} | {} | {} | `{start}` |\n",
                    client.status,
                    client.media_type(),
                    client.body.len()
                ));
            }
            if client.status != want {
                failures.push(format!(
                    "{label}: wanted {want}, got {}: {}",
                    client.status,
                    String::from_utf8_lossy(&client.body[..client.body.len().min(200)])
                ));
            } else if let Err(problem) = check_body(&event, &client) {
                failures.push(format!("{label}: {problem}"));
            }
        }
    }
    if let Some(path) = dump {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the dump file opens");
        std::io::Write::write_all(&mut file, table.as_bytes()).expect("dump written");
    }
    failures
}

#[tokio::test]
async fn every_event_reaches_the_client_intact_on_the_embedded_store() {
    let function = Function::start(Store::Local).await;
    seed(&function).await;
    let failures = replay_all(&function).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_log(&function);
}

#[tokio::test]
async fn every_event_reaches_the_client_intact_on_the_aws_store_as_the_function_role() {
    let function = Function::start(Store::MotoIam).await;
    seed(&function).await;
    let failures = replay_all(&function).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    check_log(&function);
}

#[tokio::test]
async fn binary_files_go_up_and_come_down_byte_for_byte_through_both_api_types() {
    let function = Function::start(Store::Local).await;
    seed(&function).await;
    // Every byte value, and not valid UTF-8.
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    for rest in [true, false] {
        let name = if rest {
            "blob-rest.bin"
        } else {
            "blob-http.bin"
        };
        let ask = request_event(
            rest,
            "GET",
            &format!(
                "/production/presigned-url?request_id=default/{RUN_ID}&remote_filename={name}"
            ),
            None,
        );
        let link = function.call("presigned-url", &ask).await;
        assert_eq!(link.status, 200, "{}", String::from_utf8_lossy(&link.body));
        let upload_path = link_path(std::str::from_utf8(&link.body).expect("a link"));
        assert!(
            upload_path.starts_with("/production/upload/"),
            "{upload_path}"
        );
        let put = request_event(rest, "PUT", &upload_path, Some(&bytes));
        let stored = function.call("upload", &put).await;
        assert!(
            stored.status == 200 || stored.status == 201,
            "upload: {} {}",
            stored.status,
            String::from_utf8_lossy(&stored.body)
        );
        let ask = request_event(
            rest,
            "GET",
            &format!("/production/download-url/default/{RUN_ID}/{name}"),
            None,
        );
        let link = function.call("download-url", &ask).await;
        assert_eq!(link.status, 200, "{}", String::from_utf8_lossy(&link.body));
        let link: Value = serde_json::from_slice(&link.body).expect("JSON");
        let download_path = link_path(link["download_link"].as_str().expect("download_link"));
        let get = request_event(rest, "GET", &download_path, None);
        let downloaded = function.call("download", &get).await;
        assert_eq!(downloaded.status, 200);
        assert_eq!(downloaded.media_type(), "application/octet-stream");
        assert!(
            downloaded.body == bytes,
            "{name}: the client got {} bytes that differ from the {} uploaded",
            downloaded.body.len(),
            bytes.len()
        );
    }
    check_log(&function);
}

/// A seed document with `scenarios` scenarios, each carrying about `padding` bytes of
/// exported text: plain letters, or (`escaped`) quotes and backslashes that JSON and CSV escape.
fn large_document(scenarios: usize, padding: usize, escaped: bool) -> Vec<u8> {
    let mut document: Value = serde_json::from_slice(SEED).expect("seed JSON");
    let template = document["scenarios"][0].clone();
    let list: Vec<Value> = (0..scenarios)
        .map(|n| {
            let mut scenario = template.clone();
            // The scenario's file name is an exported column.
            let unit = if escaped { "\"x\\y\" " } else { "abcdefg " };
            scenario["scenario"] = json!(format!("{}{n}.yaml", unit.repeat(padding / 8)));
            scenario
        })
        .collect();
    document["scenarios"] = Value::Array(list);
    serde_json::to_vec(&document).expect("JSON")
}

#[tokio::test]
async fn a_large_export_pages_under_the_lambda_payload_limit_in_both_formats() {
    let function = Function::start(Store::Local).await;
    // 40 runs of about 250 kB of scenarios each, 10 MB of rows, small beside the budget so
    // that pages fill up: 20 of plain text (NDJSON travels base64-encoded, 4/3 as large) and
    // 20 full of what JSON escapes (CSV travels as text inside the JSON payload, each quote
    // and backslash doubled). A 5 MiB budget failed here (6.7 MB NDJSON payloads).
    let text = std::fs::read_to_string(events_dir().join("v1-post-telemetry.json")).expect("event");
    for n in 0..40 {
        let document = large_document(25, 10_000, n >= 20);
        let body = base64::engine::general_purpose::STANDARD.encode(&document);
        let id = format!("17453440{n:02}-0f8fd0b2-6b7e-4c4f-9a55-4b1f3f0b6d7e");
        let mut event: Value = serde_json::from_str(&text.replace(NEW_RUN, &id)).expect("JSON");
        event["body"] = json!(body);
        event["headers"]["Content-Length"] = json!(document.len().to_string());
        event["multiValueHeaders"]["Content-Length"] = json!([document.len().to_string()]);
        let filed = function.call("post", &event).await;
        assert_eq!(
            filed.status,
            200,
            "{}",
            String::from_utf8_lossy(&filed.body)
        );
    }
    for format in ["ndjson", "csv"] {
        let mut cursor: Option<String> = None;
        let mut rows = 0usize;
        let mut pages = 0;
        loop {
            let mut query = format!("/production/api/v1/scenarios?group=default&format={format}");
            if let Some(cursor) = &cursor {
                query.push_str(&format!("&cursor={cursor}"));
            }
            // `call` fails when a payload is over the limit.
            let page = function
                .call("export", &request_event(true, "GET", &query, None))
                .await;
            assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
            let text = String::from_utf8(page.body.clone()).expect("the client got text");
            rows += match format {
                "ndjson" => text.lines().count(),
                _ => csv::Reader::from_reader(text.as_bytes()).records().count(),
            };
            pages += 1;
            cursor = page.header("x-next-cursor").map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(
            rows,
            40 * 25,
            "{format}: every scenario once, over {pages} pages"
        );
        assert!(pages > 1, "{format}: the export was cut into pages");
    }
}
