//! The independent check of the headline figure: the callcount proxy
//! (`../shared/tools/callcount`, a counting reverse proxy) in front of LocalStack and of the
//! scenario's moto, so every request the binary sends is counted a second time, outside it.
//! The binary's own count (the SDK interceptor, every HTTP attempt) must equal the proxies'
//! (every request forwarded upstream), service by service; the bench prints any disagreement.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running callcount proxy (stopped when dropped).
pub struct Callcount {
    child: Child,
    port: u16,
}

impl Callcount {
    /// A proxy to `upstream` on a free port, or `None` (with a note) when the script is missing
    /// or does not answer: `NC_BENCH_CALLCOUNT`, else `../shared/tools/callcount/callcount.py`
    /// next to the repository.
    pub fn start(upstream: &str) -> Option<Callcount> {
        let script = std::env::var_os("NC_BENCH_CALLCOUNT").map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/tools/callcount/callcount.py")
            },
            PathBuf::from,
        );
        if !script.exists() {
            eprintln!(
                "callcount proxy not found at {} (NC_BENCH_CALLCOUNT): counts unchecked",
                script.display()
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .ok()?
            .port();
        let child = Command::new("python3")
            .arg(&script)
            .args(["serve", "--port", &port.to_string(), "--upstream", upstream])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let proxy = Callcount { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while proxy.get("/__callcount/health").is_none() {
            if Instant::now() >= deadline {
                eprintln!("callcount did not start on port {port}: counts unchecked");
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(proxy)
    }

    /// The proxy's endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Clears the proxy's book; its counts restart from 0.
    pub fn reset(&self) {
        let _ = self.get("/__callcount/reset");
    }

    /// Requests forwarded since the last reset, by service (the SigV4 credential scope).
    pub fn by_service(&self) -> BTreeMap<String, u64> {
        let Some(summary) = self.get("/__callcount/summary") else {
            return BTreeMap::new();
        };
        summary["by_service"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(service, count)| (service.clone(), count.as_u64().unwrap_or(0)))
            .collect()
    }

    /// The `n` slowest requests since the last reset (time to the response head), as
    /// `service:operation ms`.
    pub fn slowest(&self, n: usize) -> Vec<(String, f64)> {
        let Some(calls) = self.get("/__callcount/calls") else {
            return Vec::new();
        };
        let list = calls
            .as_array()
            .cloned()
            .or_else(|| calls["calls"].as_array().cloned())
            .unwrap_or_default();
        let mut timed: Vec<(String, f64)> = list
            .iter()
            .map(|call| {
                (
                    format!(
                        "{}:{}",
                        call["service"].as_str().unwrap_or_default(),
                        call["operation"].as_str().unwrap_or_default()
                    ),
                    call["ms"].as_f64().unwrap_or(0.0),
                )
            })
            .collect();
        timed.sort_by(|a, b| b.1.total_cmp(&a.1));
        timed.truncate(n);
        timed
    }

    /// A control path's JSON answer.
    fn get(&self, path: &str) -> Option<serde_json::Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        stream
            .write_all(
                format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        serde_json::from_str(body).ok()
    }
}

impl Drop for Callcount {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The proxies of one scenario: LocalStack's and moto's.
pub struct Proxies {
    /// In front of LocalStack.
    pub local: Callcount,
    /// In front of the scenario's moto.
    pub moto: Callcount,
}

impl Proxies {
    /// Both proxies, or `None` when either cannot start.
    pub fn start(local: &str, moto: &str) -> Option<Proxies> {
        Some(Proxies {
            local: Callcount::start(local)?,
            moto: Callcount::start(moto)?,
        })
    }

    /// Clears both books.
    pub fn reset(&self) {
        self.local.reset();
        self.moto.reset();
    }

    /// What both proxies forwarded since the last reset, by service.
    pub fn by_service(&self) -> BTreeMap<String, u64> {
        let mut counts = self.local.by_service();
        for (service, count) in self.moto.by_service() {
            *counts.entry(service).or_insert(0) += count;
        }
        counts
    }

    /// The `n` slowest requests of both since the last reset.
    pub fn slowest(&self, n: usize) -> Vec<(String, f64)> {
        let mut timed = self.local.slowest(n);
        timed.extend(self.moto.slowest(n));
        timed.sort_by(|a, b| b.1.total_cmp(&a.1));
        timed.truncate(n);
        timed
    }
}

/// The credential-scope name (what the proxy counts by) of an SDK service name (what the
/// binary's interceptor counts by). S3 Control signs as `s3`.
fn scope_of(sdk_service: &str) -> String {
    match sdk_service {
        "S3 Control" => "s3".to_string(),
        "CloudWatch" => "monitoring".to_string(),
        "CloudWatch Logs" => "logs".to_string(),
        "Config Service" => "config".to_string(),
        "EventBridge" => "events".to_string(),
        "AccessAnalyzer" => "access-analyzer".to_string(),
        other => other.to_ascii_lowercase().replace(' ', ""),
    }
}

/// The check of one run: the binary's `api_calls` (its JSON output) against what the proxies
/// forwarded, per service (credential scope). `Ok(total)` when every service agrees, else a
/// line naming both totals and the services that differ. (Operation names are not compared:
/// the proxy names REST-JSON calls such as Backup's and GuardDuty's by method and path.)
pub fn check(
    api_calls: &serde_json::Value,
    proxied: &BTreeMap<String, u64>,
) -> Result<u64, String> {
    let mut ours: BTreeMap<String, u64> = BTreeMap::new();
    if let Some(operations) = api_calls["by_operation"].as_object() {
        for (name, count) in operations {
            let service = name.split('.').next().unwrap_or(name);
            *ours.entry(scope_of(service)).or_insert(0) += count.as_u64().unwrap_or(0);
        }
    }
    let total: u64 = ours.values().sum();
    let proxy_total: u64 = proxied.values().sum();
    let mut differing = Vec::new();
    for service in ours.keys().chain(proxied.keys()) {
        let (a, b) = (
            ours.get(service).copied().unwrap_or(0),
            proxied.get(service).copied().unwrap_or(0),
        );
        if a != b && !differing.iter().any(|(name, _, _)| name == service) {
            differing.push((service.clone(), a, b));
        }
    }
    if total == proxy_total && differing.is_empty() && total > 0 {
        return Ok(total);
    }
    let detail = differing
        .iter()
        .map(|(service, a, b)| format!("{service} {a}/{b}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(format!(
        "interceptor {total} vs proxy {proxy_total} (service interceptor/proxy: {detail})"
    ))
}
