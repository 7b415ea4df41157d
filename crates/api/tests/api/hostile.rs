//! The server on an open network, tried as an attacker would: floods of wrong passwords,
//! bodies that never finish, headers that never end, more connections than it serves, YAML
//! that expands without end, forged hosts. Each test checks the server's answers (status,
//! `Retry-After`, text) and, where memory is the attack, its peak RSS from `/proc`; floods
//! use small numbers and a guard kills the server long before the machine suffers.
//!
//! One file, better whole: the attacks share the server process, its RSS guard and the raw
//! socket helpers, and read as one catalogue of what an open network tries.

use std::time::Duration;

use base64::Engine;
use futures_util::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;
use crate::process::{ADMIN_PASSWORD, RssWatch, ServerProcess};

/// No test here may grow the server past this (the machine has 24 GiB).
const GUARD_KIB: u64 = 2 * 1024 * 1024;

/// Sends raw bytes and reads whatever comes back until the server closes or `wait` passes.
async fn exchange(address: std::net::SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(bytes).await.expect("send");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The head of the admin's `POST /telemetry` announcing `length` bytes of body.
fn admin_post_head(length: usize) -> String {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    format!(
        "POST /telemetry?request_id={RUN_ID}&telemetry_group=default HTTP/1.1\r\nHost: x\r\n\
         Authorization: Basic {credentials}\r\nContent-Type: application/json\r\n\
         Content-Length: {length}\r\n\r\n"
    )
}

fn status_of(answer: &str) -> u16 {
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// 48 clients sending wrong passwords at once, for `admin` and for names nobody has: the
/// hashes run two at a time, the rest get a 429 with `Retry-After` (never a 5xx), and the
/// server stays small. Before the bound, every check ran at once, ~19 MiB each (256 clients
/// grew it to 18 GB).
#[tokio::test]
async fn a_flood_of_wrong_passwords_is_bounded_and_answered_429() {
    let server = ServerProcess::start(&[
        ("KRKN_TELEMETRY_LOGIN_CONCURRENCY", "2"),
        ("KRKN_TELEMETRY_LOGIN_QUEUE", "4"),
        // Only the bound on checks at once is under test here, not the slowdown.
        ("KRKN_TELEMETRY_LOGIN_FREE_FAILURES", "1000000"),
    ])
    .await;
    let watch = RssWatch::start(server.pid(), GUARD_KIB);
    let client = reqwest::Client::new();
    let attempts = (0..48).map(|i| {
        let client = client.clone();
        let url = format!("{}/navigate", server.url);
        async move {
            let mut seen = Vec::new();
            for round in 0..4 {
                let name = if i % 2 == 0 {
                    "admin".to_owned()
                } else {
                    format!("nobody-{i}-{round}")
                };
                let response = client
                    .get(&url)
                    .basic_auth(name, Some("wrong-password"))
                    .send()
                    .await
                    .expect("the server answers");
                let retry = response.headers().get("retry-after").is_some();
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                seen.push((status, retry, body));
            }
            seen
        }
    });
    let answers: Vec<(u16, bool, String)> =
        join_all(attempts).await.into_iter().flatten().collect();
    let peak = watch.finish();
    let refused = answers.iter().filter(|(s, _, _)| *s == 401).count();
    let limited: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 429).collect();
    assert!(
        answers.iter().all(|(s, _, _)| *s == 401 || *s == 429),
        "{answers:?}"
    );
    assert!(refused > 0, "no check ran at all");
    assert!(
        !limited.is_empty(),
        "192 concurrent checks with 2 slots and 4 waiting places were all served"
    );
    for (_, retry, body) in &limited {
        assert!(retry, "a 429 without Retry-After");
        assert!(body.contains("too many password checks at once"), "{body}");
    }
    // Two hashes at ~19 MiB plus the server itself; 48 at once would be ~0.9 GB.
    assert!(peak < 200 * 1024, "peak RSS {peak} KiB");
}

/// Wrong passwords slow their sender down: after the free ones, 429 with `Retry-After` and no
/// password check, even for the right password; a client whose credentials were checked
/// before the flood is not slowed down.
#[tokio::test]
async fn wrong_passwords_slow_their_sender_down() {
    let server = ServerProcess::start(&[("KRKN_TELEMETRY_LOGIN_FREE_FAILURES", "3")]).await;
    server.add_user("reader", "reader", "*", "reader-password");
    let client = reqwest::Client::new();
    let navigate = |user: &'static str, password: &'static str| {
        let client = client.clone();
        let url = format!("{}/navigate", server.url);
        async move {
            let response = client
                .get(url)
                .basic_auth(user, Some(password))
                .send()
                .await
                .expect("answers");
            let retry: Option<u64> = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            (
                response.status().as_u16(),
                retry,
                response.text().await.unwrap_or_default(),
            )
        }
    };
    assert_eq!(navigate("reader", "reader-password").await.0, 200);
    for _ in 0..3 {
        assert_eq!(navigate("admin", "guess").await.0, 401);
    }
    let (status, retry, body) = navigate("admin", "guess").await;
    assert_eq!(status, 429, "{body}");
    assert!(retry.is_some_and(|s| (1..=300).contains(&s)), "{retry:?}");
    assert!(body.contains("too many wrong passwords"), "{body}");
    // The right password waits too: the guesser must not learn it is right.
    assert_eq!(navigate("admin", ADMIN_PASSWORD).await.0, 429);
    // An unknown name is slowed down the same way as a known one.
    assert_eq!(navigate("nobody", "guess").await.0, 429);
    // Checked before the flood: served from the cache, no check, no slowdown.
    assert_eq!(navigate("reader", "reader-password").await.0, 200);
}

/// An unknown user costs a password check like a known one: with one slot and no waiting,
/// concurrent attempts for names nobody has are refused 429 for want of a slot.
#[tokio::test]
async fn unknown_users_cost_a_password_check() {
    let server = ServerProcess::start(&[
        ("KRKN_TELEMETRY_LOGIN_CONCURRENCY", "1"),
        ("KRKN_TELEMETRY_LOGIN_QUEUE", "0"),
        ("KRKN_TELEMETRY_LOGIN_FREE_FAILURES", "1000000"),
    ])
    .await;
    let client = reqwest::Client::new();
    let statuses: Vec<u16> = join_all((0..12).map(|i| {
        let client = client.clone();
        let url = format!("{}/navigate", server.url);
        async move {
            client
                .get(url)
                .basic_auth(format!("nobody-{i}"), Some("x"))
                .send()
                .await
                .expect("answers")
                .status()
                .as_u16()
        }
    }))
    .await;
    assert!(statuses.contains(&401), "{statuses:?}");
    assert!(
        statuses.contains(&429),
        "unknown users never waited for a check slot: {statuses:?}"
    );
}

/// A body is never read before its credentials: an anonymous POST that announces almost
/// 10 MiB, sends 1 KiB and stalls gets its 401 at once, and 100 of them hold no memory.
/// Before, each was read whole (100 held 1 GB).
#[tokio::test]
async fn a_body_is_not_read_before_its_credentials() {
    let server = ServerProcess::start(&[]).await;
    let watch = RssWatch::start(server.pid(), GUARD_KIB);
    let head = format!(
        "POST /telemetry?request_id={RUN_ID}&telemetry_group=default HTTP/1.1\r\nHost: x\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        10 * 1024 * 1024 - 1,
        " ".repeat(1024)
    );
    let answers = join_all(
        (0..100).map(|_| exchange(server.address, head.as_bytes(), Duration::from_secs(10))),
    )
    .await;
    let peak = watch.finish();
    for answer in &answers {
        assert_eq!(status_of(answer), 401, "{answer}");
    }
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
}

/// An uploader whose body stalls gets a 408 once it has been idle for the body timeout.
#[tokio::test]
async fn a_stalled_body_gets_a_408() {
    let server = ServerProcess::start(&[("KRKN_TELEMETRY_BODY_IDLE_TIMEOUT_SECS", "1")]).await;
    let head = format!("{}{{\"scenarios\": [", admin_post_head(5000));
    let answer = exchange(server.address, head.as_bytes(), Duration::from_secs(20)).await;
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(
        answer.contains("the request body stopped arriving"),
        "{answer}"
    );
}

/// Connections that never finish their headers, and idle kept-alive ones, are closed after
/// the header timeout (before, 200 such connections were all open after 65 s).
#[tokio::test]
async fn unfinished_headers_and_idle_connections_are_closed() {
    let server = ServerProcess::start(&[("KRKN_TELEMETRY_HEADER_TIMEOUT_SECS", "1")]).await;
    let partial = join_all((0..50).map(|_| {
        exchange(
            server.address,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n",
            Duration::from_secs(15),
        )
    }));
    let idle = exchange(
        server.address,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(15),
    );
    let (partial, idle) = tokio::join!(partial, idle);
    // read_to_end returned: the server closed every connection; nothing was answered to
    // the unfinished requests, and the idle one got its one answer.
    for answer in partial {
        assert!(answer.is_empty() || status_of(&answer) == 408, "{answer}");
    }
    assert_eq!(idle.matches("HTTP/1.1 200").count(), 1, "{idle}");
}

/// Past the connection cap a connection waits until another closes.
#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_one() {
    let server = ServerProcess::start(&[
        ("KRKN_TELEMETRY_MAX_CONNECTIONS", "3"),
        ("KRKN_TELEMETRY_HEADER_TIMEOUT_SECS", "60"),
    ])
    .await;
    let mut holders = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(server.address).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\n")
            .await
            .expect("send");
        holders.push(stream);
    }
    // Give the server a moment to take the three.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut waiting = TcpStream::connect(server.address)
        .await
        .expect("the kernel accepts");
    waiting
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let mut answer = Vec::new();
    let early =
        tokio::time::timeout(Duration::from_millis(700), waiting.read_to_end(&mut answer)).await;
    assert!(
        early.is_err(),
        "served past the cap: {}",
        String::from_utf8_lossy(&answer)
    );
    holders.pop();
    let _ = tokio::time::timeout(Duration::from_secs(10), waiting.read_to_end(&mut answer)).await;
    assert_eq!(status_of(&String::from_utf8_lossy(&answer)), 200);
}

/// Past the cap on requests in flight, a request gets a 503 with `Retry-After`.
#[tokio::test]
async fn requests_past_the_in_flight_cap_get_503() {
    let server = ServerProcess::start(&[("KRKN_TELEMETRY_MAX_IN_FLIGHT", "1")]).await;
    // An authenticated body that arrives slowly keeps the one slot busy.
    let mut slow = TcpStream::connect(server.address).await.expect("connect");
    slow.write_all(format!("{}{{", admin_post_head(100)).as_bytes())
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let response = reqwest::Client::new()
        .get(format!("{}/navigate", server.url))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("retry-after").map(|v| v.as_bytes()),
        Some(&b"1"[..])
    );
    assert!(
        response
            .text()
            .await
            .unwrap_or_default()
            .contains("limit of 1 requests")
    );
    drop(slow);
}

/// Requests that arrive while the server is still setting up its admin wait for it, so a
/// script that posts right after the server listens never gets a 401.
#[tokio::test]
async fn requests_right_after_start_are_never_refused_401() {
    let server = ServerProcess::spawn(&[]);
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    let status = loop {
        match client
            .get(format!("{}/navigate", server.url))
            .basic_auth("admin", Some(ADMIN_PASSWORD))
            .send()
            .await
        {
            Ok(response) => break response.status().as_u16(),
            Err(_) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "never listened"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    };
    assert_eq!(status, 200);
}

/// The alias bomb of the issue (`a: &a [0,…3000]`, `b: [*a ×3000]`, 21 KB) is refused with a
/// 400 naming the field, quickly and small; before, it was filed as an 18 MB document and the
/// server peaked at 1.26 GB.
#[tokio::test]
async fn a_yaml_alias_bomb_is_refused_naming_the_field() {
    let server = ServerProcess::start(&[]).await;
    let watch = RssWatch::start(server.pid(), GUARD_KIB);
    let items: Vec<String> = (0..3000).map(|i| i.to_string()).collect();
    let yaml = format!(
        "a: &a [{}]\nb: [{}]\n",
        items.join(","),
        vec!["*a"; 3000].join(",")
    );
    let mut document: serde_json::Value = serde_json::from_slice(SEED).expect("seed");
    document["scenarios"][0]["parameters_base64"] = base64::engine::general_purpose::STANDARD
        .encode(&yaml)
        .into();
    let response = reqwest::Client::new()
        .post(format!(
            "{}/telemetry?request_id={RUN_ID}&telemetry_group=default",
            server.url
        ))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&document).expect("json"))
        .send()
        .await
        .expect("answers");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    let peak = watch.finish();
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("scenarios[0].parameters_base64"), "{body}");
    assert!(body.contains("aliases"), "{body}");
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB");
    let stored = server.data().join("objects/default").join(RUN_ID);
    assert!(!stored.exists(), "something was filed");
}

/// Links are built from the configured URL or an allowed host, never from a forged `Host`.
#[tokio::test]
async fn links_never_point_at_a_forged_host() {
    let app = spawn_app();
    let ask = |host: &'static str| {
        axum::http::Request::get(format!(
            "/presigned-url?request_id=default/{RUN_ID}&remote_filename=prometheus-00.tar"
        ))
        .header("Authorization", basic("uploader", &password("uploader")))
        .header("Host", host)
        .body(axum::body::Body::empty())
        .expect("request")
    };
    let forged = app.send(ask("attacker.example")).await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(
        forged.body.contains("KRKN_TELEMETRY_PUBLIC_URL"),
        "{}",
        forged.body
    );
    assert!(
        !forged.body.contains("http://attacker.example"),
        "{}",
        forged.body
    );
    let local = app.send(ask("127.0.0.1:8080")).await;
    assert_eq!(local.status, 200, "{}", local.body);
    assert!(
        local
            .body
            .starts_with("http://127.0.0.1:8080/upload/default/"),
        "{}",
        local.body
    );

    let allowed = spawn_app_with(krkn_telemetry_api::ApiConfig {
        allowed_hosts: vec!["telemetry.example.com".to_owned()],
        ..Default::default()
    });
    let named = allowed.send(ask("telemetry.example.com:8443")).await;
    assert_eq!(named.status, 200, "{}", named.body);
    assert!(
        named
            .body
            .starts_with("http://telemetry.example.com:8443/upload/"),
        "{}",
        named.body
    );
    assert_eq!(allowed.send(ask("attacker.example")).await.status, 400);
}

/// A 405 says which methods the route takes, in the `Allow` header and in a text body.
#[tokio::test]
async fn a_405_names_the_allowed_methods() {
    let app = spawn_app();
    let reply = app
        .send(
            axum::http::Request::delete("/telemetry")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.headers.get("allow").map(|v| v.as_bytes()),
        Some(&b"POST"[..])
    );
    assert_eq!(reply.body, "method DELETE is not allowed here; use POST\n");
}

/// A full disk: a filing fails with a 503 that names the failed step but not the host's
/// paths, and leaves no run folder behind; once there is room again, filings succeed
/// without a restart. The data directory is a 3 MiB tmpfs in the server's own mount
/// namespace (root only; the mount goes away with the process). One story, fill, fail,
/// free, recover, and better whole than split into steps that cannot run alone.
#[tokio::test]
async fn a_full_disk_fails_cleanly_and_recovers_by_itself() {
    let outer = tempfile::tempdir().expect("dir");
    let data = outer.path().join("data");
    std::fs::create_dir(&data).expect("mount point");
    let port = crate::process::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut child = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o size=3m tmpfs \"$2\" && exec \"$0\" serve --listen \"$1\" --data-dir \"$2\"")
        .arg(env!("CARGO_BIN_EXE_krkn-telemetry-api"))
        .arg(&address)
        .arg(&data)
        .env("KRKN_TELEMETRY_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("unshare runs (util-linux)");
    let url = format!("http://{address}");
    let client = reqwest::Client::new();
    let started = std::time::Instant::now();
    while !client
        .get(format!("{url}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        if let Ok(Some(status)) = child.try_wait() {
            let mut stderr = String::new();
            let _ = std::io::Read::read_to_string(
                &mut child.stderr.take().expect("stderr"),
                &mut stderr,
            );
            panic!(
                "the server under a private tmpfs did not start ({status}): {stderr}\nthis test needs root (mount namespaces): run the tests as root"
            );
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The tmpfs as the server sees it.
    let root = std::path::PathBuf::from(format!("/proc/{}/root", child.id()));
    let inside = root.join(data.strip_prefix("/").expect("absolute"));
    let post = |id: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client
                .post(format!(
                    "{url}/telemetry?request_id={id}&telemetry_group=default"
                ))
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .header("Content-Type", "application/json")
                .body(SEED)
                .send()
                .await
                .expect("answers");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        }
    };
    assert_eq!(post(format!("{RUN_ID}-before")).await.0, 200);
    // Fill the disk.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(inside.join("filler")).expect("filler");
        let block = vec![7u8; 64 * 1024];
        while filler.write_all(&block).is_ok() {}
        let _ = filler.sync_all();
    }
    let mut refusals = Vec::new();
    for n in 0..3 {
        refusals.push(post(format!("{RUN_ID}-full-{n}")).await);
    }
    for (status, body) in &refusals {
        assert_eq!(*status, 503, "{body}");
        assert!(body.starts_with("storage unavailable: "), "{body}");
        assert!(
            !body.contains(data.to_str().expect("utf-8")) && !body.contains("/tmp"),
            "a path in the body: {body}"
        );
    }
    for n in 0..3 {
        let folder = inside
            .join("objects/default")
            .join(format!("{RUN_ID}-full-{n}"));
        assert!(
            !folder.exists(),
            "a failed filing left {}",
            folder.display()
        );
    }
    std::fs::remove_file(inside.join("filler")).expect("room again");
    for n in 0..3 {
        let (status, body) = post(format!("{RUN_ID}-full-{n}")).await;
        assert_eq!(status, 200, "after room came back: {body}");
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// An upload link without a length, PUT by several clients at once: one writes (one
/// temporary file), the others are told 409 while it runs; afterwards a replay with the same
/// bytes is a 200 without any temporary file, other bytes a 412.
#[tokio::test]
async fn a_replayed_link_writes_one_temporary_file() {
    let (base, app) = spawn_server(Kind::Local, Default::default()).await;
    let client = reqwest::Client::new();
    let link = upload_link(&base, "default", RUN_ID, "prometheus-00.tar").await;
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let slow = tokio::spawn({
        let (client, link) = (client.clone(), link.clone());
        async move {
            client
                .put(&link)
                .body(reqwest::Body::wrap_stream(tokio_stream_from(receiver)))
                .send()
                .await
                .expect("answers")
                .status()
        }
    });
    sender
        .send(Ok(vec![1u8; 64 * 1024]))
        .await
        .expect("first half");
    let tmp = app.dir.path().join("tmp");
    let started = std::time::Instant::now();
    while std::fs::read_dir(&tmp).expect("tmp").count() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the upload never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let replays = join_all((0..6).map(|_| {
        let (client, link) = (client.clone(), link.clone());
        async move {
            let response = client
                .put(&link)
                .body(vec![1u8; 128 * 1024])
                .send()
                .await
                .expect("answers");
            (
                response.status().as_u16(),
                response.text().await.unwrap_or_default(),
            )
        }
    }))
    .await;
    for (status, body) in &replays {
        assert_eq!(*status, 409, "{body}");
        assert!(body.contains("is in progress"), "{body}");
    }
    assert_eq!(
        std::fs::read_dir(&tmp).expect("tmp").count(),
        1,
        "more than one temporary file"
    );
    sender
        .send(Ok(vec![1u8; 64 * 1024]))
        .await
        .expect("second half");
    drop(sender);
    assert_eq!(slow.await.expect("slow upload"), 200);
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0);

    // The checksum is known now: a replay with the same bytes is answered from it. To show
    // that the stored file is not read again, its bytes are changed behind the store's back
    // (same size): the answer still follows the recorded checksum.
    let stored = app
        .dir
        .path()
        .join(format!("objects/default/{RUN_ID}/prometheus-00.tar"));
    let same = client
        .put(&link)
        .body(vec![1u8; 128 * 1024])
        .send()
        .await
        .expect("answers");
    assert_eq!(same.status(), 200);
    std::fs::write(&stored, vec![2u8; 128 * 1024]).expect("tamper");
    let again = client
        .put(&link)
        .body(vec![1u8; 128 * 1024])
        .send()
        .await
        .expect("answers");
    assert_eq!(again.status(), 200, "the stored object was hashed again");
    let other = client
        .put(&link)
        .body(vec![3u8; 128 * 1024])
        .send()
        .await
        .expect("answers");
    assert_eq!(other.status(), 412);
    assert_eq!(std::fs::read_dir(&tmp).expect("tmp").count(), 0);
}

/// An upload link as krkn-lib asks for one (the uploader, no length or checksum announced).
async fn upload_link(base: &str, group: &str, run: &str, name: &str) -> String {
    reqwest::Client::new()
        .get(format!(
            "{base}/presigned-url?request_id={group}/{run}&remote_filename={name}"
        ))
        .basic_auth("uploader", Some(password("uploader")))
        .send()
        .await
        .expect("link")
        .text()
        .await
        .expect("text")
}

/// A channel's receiver as a body stream.
fn tokio_stream_from(
    mut receiver: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx))
}

/// An uploader may ask what is stored under a file name (size and SHA-256), to tell its own
/// earlier upload from other bytes; other groups' uploaders may not.
async fn the_stored_checksum_of_a_file_is_shown_to_its_uploaders(kind: Kind) {
    let (base, app) = spawn_server(kind, Default::default()).await;
    let client = reqwest::Client::new();
    let bytes = b"critical alerts, as krkn writes them".to_vec();
    let link = upload_link(&base, "perf", RUN_ID, "critical-alerts-00.log").await;
    let put = client
        .put(&link)
        .body(bytes.clone())
        .send()
        .await
        .expect("put");
    assert_eq!(put.status(), 200);
    let path = format!("/api/v1/runs/perf/{RUN_ID}/files/critical-alerts-00.log");
    for user in ["uploader", "perf-uploader", "reader"] {
        let reply = app.get(user, &path).await;
        assert_eq!(reply.status, 200, "{user}: {}", reply.body);
        let info: serde_json::Value = serde_json::from_str(&reply.body).expect("json");
        use sha2::Digest;
        assert_eq!(
            info["sha256"],
            hex::encode(sha2::Sha256::digest(&bytes)),
            "{user}"
        );
        assert_eq!(info["size"], bytes.len());
    }
    let other_group = app
        .get(
            "perf-uploader",
            &format!("/api/v1/runs/default/{RUN_ID}/files/critical-alerts-00.log"),
        )
        .await;
    assert_eq!(other_group.status, 403);
    let missing = app
        .get(
            "uploader",
            &format!("/api/v1/runs/perf/{RUN_ID}/files/critical-alerts-01.log"),
        )
        .await;
    assert_eq!(missing.status, 404);
}

on_both_backends_through_links!(the_stored_checksum_of_a_file_is_shown_to_its_uploaders);

/// A `prometheus-manifest.json` over 1 MiB is not read into memory by the run page, which
/// says so (before, a 600 MB one added 600 MB per view); a manifest whose part checksums
/// differ from the stored parts' makes the backup incomplete.
#[tokio::test]
async fn the_run_page_reads_only_small_manifests_and_compares_checksums() {
    let (base, app) = spawn_server(Kind::Local, Default::default()).await;
    let client = reqwest::Client::new();
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={RUN_ID}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, 200, "{}", filed.body);
    let put = |name: &'static str, bytes: Vec<u8>| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let link = upload_link(&base, "default", RUN_ID, name).await;
            client
                .put(&link)
                .body(bytes)
                .send()
                .await
                .expect("put")
                .status()
        }
    };
    let part = vec![5u8; 1000];
    assert_eq!(put("prometheus-00.tar", part.clone()).await, 200);
    let wrong = serde_json::json!({"parts": [{"name": "prometheus-00.tar", "size": 1000,
        "sha256": "0000000000000000000000000000000000000000000000000000000000000000"}],
        "total_bytes": 1000});
    assert_eq!(
        put(
            "prometheus-manifest.json",
            serde_json::to_vec(&wrong).expect("json")
        )
        .await,
        200
    );
    let page = app
        .get("reader", &format!("/api/v1/runs/default/{RUN_ID}"))
        .await;
    let detail: serde_json::Value = serde_json::from_str(&page.body).expect("json");
    assert_eq!(
        detail["prometheus_backup"]["complete"], false,
        "{}",
        page.body
    );
    assert_eq!(
        detail["prometheus_backup"]["missing_or_wrong_size"][0],
        "prometheus-00.tar"
    );

    // Another run with a huge manifest.
    let other = format!("{RUN_ID}-big");
    let filed = app
        .post_telemetry(
            "uploader",
            &format!("request_id={other}&telemetry_group=default"),
            SEED,
        )
        .await;
    assert_eq!(filed.status, 200);
    let link = upload_link(&base, "default", &other, "prometheus-manifest.json").await;
    let big = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(
        client
            .put(&link)
            .body(big)
            .send()
            .await
            .expect("put")
            .status(),
        200
    );
    let page = app
        .get("reader", &format!("/api/v1/runs/default/{other}"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let detail: serde_json::Value = serde_json::from_str(&page.body).expect("json");
    let said = detail["prometheus_backup"]["missing_or_wrong_size"][0]
        .as_str()
        .unwrap_or_default();
    assert!(said.contains("not read"), "{}", page.body);
    assert_eq!(detail["prometheus_backup"]["complete"], false);
}

/// A request that takes longer than the request timeout gets a 408, even while its body
/// keeps trickling in (so the body idle timeout alone would never end it).
#[tokio::test]
async fn a_request_past_the_request_timeout_gets_a_408() {
    let server = ServerProcess::start(&[("KRKN_TELEMETRY_REQUEST_TIMEOUT_SECS", "1")]).await;
    let mut stream = TcpStream::connect(server.address).await.expect("connect");
    stream
        .write_all(admin_post_head(100).as_bytes())
        .await
        .expect("send");
    let mut answer = Vec::new();
    for _ in 0..40 {
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        let mut buffer = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buffer[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("took longer than 1 s"), "{answer}");
}
