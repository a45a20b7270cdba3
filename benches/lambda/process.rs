//! A Lambda binary as a child process, and what /proc says of it: CPU time (utime + stime of
//! the whole process, and the scheduler's nanosecond runtime of its threads) and peak RSS.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub struct Lambda {
    child: Child,
    pub pid: u32,
    /// Bytes the binary wrote to stdout (its log lines), as drained so far.
    pub stdout_bytes: Arc<AtomicU64>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

/// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Reads `pipe` to its end on a thread of its own, `N` bytes at a time at the most, so the
/// binary never blocks on a full pipe; each chunk read goes to `keep`.
fn drain<const N: usize>(
    mut pipe: impl Read + Send + 'static,
    mut keep: impl FnMut(&[u8]) + Send + 'static,
) {
    std::thread::spawn(move || {
        let mut buf = [0u8; N];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            keep(&buf[..n]);
        }
    });
}

impl Lambda {
    /// Starts `bin` with exactly `env` (nothing of the bench's own environment), its stdout
    /// drained as Lambda's log collector would, its stderr kept for error reports.
    pub fn spawn(bin: &Path, env: &[(String, String)]) -> Result<Lambda, String> {
        let mut child = Command::new(bin)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let pid = child.id();
        let stdout_bytes = Arc::new(AtomicU64::new(0));
        if let Some(out) = child.stdout.take() {
            let count = stdout_bytes.clone();
            drain::<16384>(out, move |chunk| {
                count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            });
        }
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(err) = child.stderr.take() {
            let keep = stderr.clone();
            drain::<4096>(err, move |chunk| {
                if let Ok(mut k) = keep.lock() {
                    k.extend_from_slice(chunk);
                    let len = k.len();
                    if len > 8192 {
                        k.drain(..len - 8192);
                    }
                }
            });
        }
        Ok(Lambda {
            child,
            pid,
            stdout_bytes,
            stderr,
        })
    }

    /// utime + stime of the whole process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
    pub fn cpu_ticks(&self) -> Result<u64, String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
            .map_err(|e| format!("/proc/{}/stat: {e}", self.pid))?;
        // The command name (field 2) may hold spaces: count from the `)` that ends it.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
        match (field(11), field(12)) {
            (Some(utime), Some(stime)) => Ok(utime + stime),
            _ => Err(format!("/proc/{}/stat: unexpected format", self.pid)),
        }
    }

    /// Nanoseconds each live thread has run (/proc/<pid>/task/<tid>/schedstat, first field).
    pub fn thread_runtimes(&self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid)) else {
            return out;
        };
        for task in tasks.flatten() {
            let tid = task.file_name().to_string_lossy().into_owned();
            let ns = std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()));
            if let Some(ns) = ns {
                out.insert(tid, ns);
            }
        }
        out
    }

    /// Peak resident set size so far, in KiB (/proc/<pid>/status `VmHWM`).
    pub fn peak_rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|e| format!("/proc/{}/status: {e}", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("/proc/{}/status: no VmHWM", self.pid))
    }

    /// The end of what the binary wrote to stderr (for error reports).
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .unwrap_or_default()
    }

    /// Stops the binary (SIGKILL: as Lambda freezes and discards an environment).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the binary has exited on its own (a crash).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }
}

/// Nanoseconds run between two `thread_runtimes` samples: threads alive at both count their
/// difference, threads born in between count from zero.
pub fn runtime_delta(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after
        .iter()
        .map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum()
}
