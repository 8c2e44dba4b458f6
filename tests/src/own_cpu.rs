//! The CPU time and resident memory of this process (the bots'), to report
//! next to the server's: on one machine the two share the cores and the cache.

use std::time::Instant;

/// Linux reports CPU time in clock ticks of USER_HZ, 100 on every mainstream platform.
const USER_HZ: f64 = 100.0;

/// CPU time this process has used (user and system), seconds; `None` off Linux.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// Resident memory of this process, bytes; `None` off Linux.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// The `VmRSS:` line of a `/proc/<pid>/status`, bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime of a `/proc/<pid>/stat` line, seconds.
fn parse_stat(stat: &str) -> Option<f64> {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// A reading of this process's CPU time, to measure a period from.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    at: Instant,
    cpu_seconds: Option<f64>,
}

impl CpuMark {
    /// Reads the CPU time now.
    pub fn now() -> Self {
        Self {
            at: Instant::now(),
            cpu_seconds: cpu_seconds(),
        }
    }

    /// CPU used since this mark divided by the time since it, percent of
    /// one core (up to 100 × cores); `None` when it cannot be read.
    pub fn percent_since(&self) -> Option<f64> {
        let used = cpu_seconds()? - self.cpu_seconds?;
        let secs = self.at.elapsed().as_secs_f64();
        (secs > 0.0).then(|| (used / secs * 100.0).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_after_the_command_name() {
        // The command name may hold spaces and parentheses.
        let line = "42 (bots (x) y) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 3 0";
        assert_eq!(parse_stat(line), Some(3.0));
        assert_eq!(parse_stat("42 (bots) S 1"), None);
    }

    #[test]
    fn reads_vm_rss_in_kib() {
        let status = "Name:\tbots\nVmPeak:\t  900 kB\nVmRSS:\t   70312 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(70_312 * 1024));
        assert_eq!(parse_vm_rss("Name:\tbots\n"), None);
        assert!(
            resident_bytes().is_some_and(|b| b > 0),
            "this process has memory"
        );
    }

    #[test]
    fn this_process_has_a_cpu_time_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(cpu_seconds().is_some());
            assert!(CpuMark::now().percent_since().is_some());
        }
    }
}
