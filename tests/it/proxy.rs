//! The callcount proxy (`../shared/tools/callcount`) in front of an emulator, with the fault
//! options a test gives it; stopped when dropped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::repo;

/// A running callcount proxy.
pub struct Callcount {
    child: Child,
    port: u16,
}

impl Callcount {
    /// Starts a proxy to `upstream` with `options` (e.g. `--lost 0.15 --seed 7`) and waits
    /// until it answers.
    pub fn start(upstream: &str, options: &[&str]) -> Callcount {
        let script = std::env::var_os("NC_TEST_CALLCOUNT").map_or_else(
            || repo().join("../shared/tools/callcount/callcount.py"),
            PathBuf::from,
        );
        assert!(
            script.exists(),
            "the callcount proxy is needed ({}; NC_TEST_CALLCOUNT overrides)",
            script.display()
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("python3")
            .arg(&script)
            .args(["serve", "--port", &port.to_string(), "--upstream", upstream])
            .args(options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start callcount");
        let proxy = Callcount { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while proxy.get("/__callcount/health").is_none() {
            assert!(Instant::now() < deadline, "callcount did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        proxy
    }

    /// The proxy's endpoint URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A control path's JSON answer.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
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

    /// Every recorded (forwarded) request since the start.
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let calls = self.get("/__callcount/calls").expect("calls");
        calls
            .as_array()
            .cloned()
            .or_else(|| calls["calls"].as_array().cloned())
            .unwrap_or_default()
    }

    /// `service:Operation` → how many faults of `kind` (`lost`, `outage`, ...) were injected.
    pub fn faults_of(&self, kind: &str) -> BTreeMap<String, usize> {
        let faults = self.get("/__callcount/faults").expect("faults");
        let list = faults
            .as_array()
            .cloned()
            .or_else(|| faults["faults"].as_array().cloned())
            .unwrap_or_default();
        let mut counted = BTreeMap::new();
        for fault in list.iter().filter(|fault| fault["fault"] == kind) {
            let key = format!(
                "{}:{}",
                fault["service"].as_str().unwrap_or_default(),
                fault["operation"].as_str().unwrap_or_default()
            );
            *counted.entry(key).or_insert(0) += 1;
        }
        counted
    }
}

impl Drop for Callcount {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
