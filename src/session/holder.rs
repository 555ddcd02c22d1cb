//! Who this run is — user, host, process id, command line, start time — as written into a lock
//! file or a lease tag and read back for "held by …" messages.
//!
//! It owns the record formats only; it must not take or release anything.

use chrono::{DateTime, SecondsFormat, Utc};

/// Longest command line recorded (Azure tag values hold 256 characters).
const MAX_COMMAND: usize = 120;

/// This process, described for others who find it holding a lock or lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `$USER` (or `$USERNAME`).
    pub user: String,
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The command line, program name without its directory.
    pub command: String,
    /// When this description was made.
    pub since: DateTime<Utc>,
}

impl Identity {
    /// This process now.
    pub fn current() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let host = env("HOSTNAME")
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .or_else(|| env("COMPUTERNAME"))
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".into());
        let mut args = std::env::args();
        let program = args
            .next()
            .map(|p| {
                std::path::Path::new(&p)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(p)
            })
            .unwrap_or_else(|| "gridform".into());
        let command = std::iter::once(program)
            .chain(args)
            .collect::<Vec<_>>()
            .join(" ");
        Self {
            user: env("USER")
                .or_else(|| env("USERNAME"))
                .unwrap_or_else(|| "unknown-user".into()),
            host,
            pid: std::process::id(),
            command: command.chars().take(MAX_COMMAND).collect(),
            since: Utc::now(),
        }
    }

    /// `user@host pid 123 (gridform apply)`: who and where, in one tag value.
    pub fn holder_line(&self) -> String {
        format!(
            "{}@{} pid {} ({})",
            self.user, self.host, self.pid, self.command
        )
    }

    /// The lock file's text: one `key=value` per line.
    pub fn lock_record(&self) -> String {
        format!(
            "pid={}\nuser={}\nhost={}\ncommand={}\nsince={}\n",
            self.pid,
            self.user,
            self.host,
            self.command,
            self.since.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// A lock file's text as one line: `pid 123 (gridform apply) of user@host since …`.
    pub fn describe_record(text: &str) -> String {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("?")
                .trim()
                .to_string()
        };
        format!(
            "pid {} ({}) of {}@{} since {}",
            field("pid"),
            field("command"),
            field("user"),
            field("host"),
            field("since")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_record_reads_back_as_one_line() {
        let me = Identity {
            user: "ana".into(),
            host: "ci-7".into(),
            pid: 42,
            command: "gridform --emulator apply".into(),
            since: DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
                .unwrap()
                .with_timezone(&Utc),
        };
        assert_eq!(
            Identity::describe_record(&me.lock_record()),
            "pid 42 (gridform --emulator apply) of ana@ci-7 since 2030-01-02T03:04:05Z"
        );
        assert_eq!(
            me.holder_line(),
            "ana@ci-7 pid 42 (gridform --emulator apply)"
        );
        assert!(Identity::describe_record("garbage").contains("pid ?"));
    }
}
