//! The moto server of one scenario (CloudTrail, GuardDuty, Security Hub).
//!
//! moto ignores the access key (every request is one account), so scenarios sharing a server
//! would share the region's one GuardDuty detector and the trails. Like the integration tests'
//! worlds, each scenario starts its own moto on a free port, answering as the scenario's
//! account, and stops it when done. Only where no moto is installed does it fall back to the
//! shared server, which it then resets (that empties it for everyone using it).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A scenario's moto: its own server (stopped on drop) or the shared one.
pub struct Moto {
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
}

impl Moto {
    /// A moto for `account`: a private server when `moto_server` is installed (from
    /// `NC_TEST_MOTO_SERVER`, or where `localstack/install.sh` puts it), else the shared one at
    /// `shared_url`, reset.
    pub fn for_account(account: &str, shared_url: &str) -> Moto {
        if let Some(moto) = Self::start_private(account) {
            return moto;
        }
        let moto = Moto {
            child: None,
            url: shared_url.to_string(),
        };
        if moto.request("POST", "/moto-api/reset").is_none() {
            eprintln!("moto is not reachable at {shared_url}");
        }
        moto
    }

    fn start_private(account: &str) -> Option<Moto> {
        let binary = std::env::var_os("NC_TEST_MOTO_SERVER")
            .map(PathBuf::from)
            .or_else(|| {
                let home = std::env::var_os("NC_EMU_HOME")
                    .map(PathBuf::from)
                    .or_else(|| {
                        std::env::var_os("HOME")
                            .map(|home| PathBuf::from(home).join(".cache/nc-provision/emulators"))
                    })?;
                Some(home.join("venv-moto/bin/moto_server"))
            })
            .filter(|path| path.exists())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .ok()?
            .port();
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(&name);
            }
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", account)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let moto = Moto {
            child: Some(child),
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !moto
            .request("GET", "/moto-api/config")
            .is_some_and(|status| (200..300).contains(&status))
        {
            if Instant::now() >= deadline {
                eprintln!("moto did not start on {}; using the shared one", moto.url);
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Creates a bucket in moto's S3 (moto's CreateTrail wants the trail bucket there, while
    /// the tool creates it on LocalStack).
    pub fn put_bucket(&self, bucket: &str) {
        self.request("PUT", &format!("/{bucket}"));
    }

    /// One unsigned request (moto's management API, or a path-style S3 call); its status.
    fn request(&self, method: &str, path: &str) -> Option<u16> {
        let host = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
