//! Who holds a lease: the caller, the host, the process and its start time, and whether a
//! holder on this host is gone (so its lease may be taken over).

/// This host's name.
pub(super) fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "unknown-host".into())
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22), so that a
/// reused pid is not mistaken for the lease holder. `None` where there is no `/proc`.
pub(super) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    after.split_whitespace().nth(19)?.parse().ok()
}

/// A lease identity: the caller's ARN, the host, the process and its start time.
#[must_use]
pub fn owner_id(caller_arn: &str) -> String {
    let pid = std::process::id();
    let start = process_start(pid).map_or_else(String::new, |start| format!(" start {start}"));
    format!("{caller_arn} on {} pid {pid}{start}", host_name())
}

/// Whether `owner` (an [`owner_id`]) names a process of this host that no longer runs: its
/// pid is gone, or now belongs to a process that started at another time. Holders on other
/// hosts, or owners that do not parse, are never judged gone.
#[must_use]
pub fn holder_process_is_gone(owner: &str) -> bool {
    let Some((rest, process)) = owner.rsplit_once(" pid ") else {
        return false;
    };
    let Some((_, host)) = rest.rsplit_once(" on ") else {
        return false;
    };
    let mut words = process.split_whitespace();
    let Some(pid) = words.next().and_then(|pid| pid.parse::<u32>().ok()) else {
        return false;
    };
    let recorded_start = match (words.next(), words.next()) {
        (Some("start"), Some(start)) => start.parse::<u64>().ok(),
        _ => None,
    };
    if host != host_name() || pid == std::process::id() || process_start(1).is_none() {
        return false;
    }
    match (process_start(pid), recorded_start) {
        (None, _) => true,
        (Some(now), Some(then)) => now != then,
        (Some(_), None) => false,
    }
}
