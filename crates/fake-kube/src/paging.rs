//! Lists as the API server pages them: `limit`, an opaque `continue` token,
//! `remainingItemCount`, and the body streamed in chunks so a huge list is never whole in
//! memory.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::Shared;
use crate::cluster::ListView;
use crate::response::BodyStream;

/// Items rendered per body chunk when streaming a list.
const CHUNK_ITEMS: usize = 200;

/// The `resourceVersion` every list reports (the fake's objects never change).
const RESOURCE_VERSION: &str = "424242";

/// The query parameters a list understands.
#[derive(Default)]
pub(crate) struct ListQuery {
    /// Items per page; `None` for all of them.
    pub(crate) limit: Option<usize>,
    /// Where the page starts, as a token this server issued.
    pub(crate) continue_token: Option<String>,
    /// Parameters asked for that the fake cannot honour (selectors, watch).
    pub(crate) unsupported: Vec<String>,
}

/// Reads `limit`, `continue` and the parameters the fake refuses.
pub(crate) fn parse_query(query: &str) -> Result<ListQuery, String> {
    let mut out = ListQuery::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            "limit" => {
                let limit: usize = value
                    .parse()
                    .map_err(|_| format!("limit must be a whole number, found {value:?}"))?;
                out.limit = (limit > 0).then_some(limit);
            }
            "continue" if !value.is_empty() => out.continue_token = Some(value.into_owned()),
            "labelSelector" | "fieldSelector" | "watch"
                if !value.is_empty() && value != "false" =>
            {
                out.unsupported.push(key.into_owned())
            }
            // Accepted and meaningless here: the fake's objects never change.
            _ => {}
        }
    }
    Ok(out)
}

/// The opaque `continue` token of the page that starts at `offset`.
pub(crate) fn encode_continue(offset: usize) -> String {
    let token = json!({"v": "fake.k8s.io/v1", "rv": RESOURCE_VERSION, "start": offset});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

/// The offset a token was issued for; `None` for a token this server did not issue.
pub(crate) fn decode_continue(token: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    usize::try_from(value.get("start")?.as_u64()?).ok()
}

/// Streams a list response: the envelope, then items in chunks, so a 150,000-pod list never
/// sits in memory whole.
pub(crate) fn list_body(
    shared: Arc<Shared>,
    view: ListView,
    start: usize,
    end: usize,
    metadata_only: bool,
) -> BodyStream {
    let (kind, api_version) = if metadata_only {
        (
            "PartialObjectMetadataList".to_owned(),
            "meta.k8s.io/v1".to_owned(),
        )
    } else {
        (
            format!("{}List", view.resource.kind),
            view.resource.api_version(),
        )
    };
    let mut metadata = json!({"resourceVersion": RESOURCE_VERSION});
    if end < view.len() {
        metadata["continue"] = json!(encode_continue(end));
        metadata["remainingItemCount"] = json!(view.len() - end);
    }
    let head = format!(
        r#"{{"kind":"{kind}","apiVersion":"{api_version}","metadata":{metadata},"items":["#
    );
    let view = Arc::new(view);
    let chunks = futures_util::stream::iter((start..end).step_by(CHUNK_ITEMS)).map(move |from| {
        let to = end.min(from + CHUNK_ITEMS);
        let mut out = Vec::with_capacity((to - from) * 2048);
        for index in from..to {
            if index > start {
                out.push(b',');
            }
            shared
                .cluster
                .write_item(&view, index, metadata_only, &mut out);
        }
        Bytes::from(out)
    });
    futures_util::stream::once(async move { Bytes::from(head) })
        .chain(chunks)
        .chain(futures_util::stream::once(async {
            Bytes::from_static(b"]}")
        }))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_forgeries() {
        assert_eq!(decode_continue(&encode_continue(1500)), Some(1500));
        assert_eq!(decode_continue("not-a-token"), None);
    }
}
