//! An in-process test IOC on its own loopback ports.

#![allow(dead_code, unreachable_pub)]

use std::net::{Ipv4Addr, SocketAddrV4};

use caproto_server::{
    AlarmSeverity, AlarmStatus, DbrValues, Ioc, Pv, RunningIoc, ServerOptions, WriteError,
};
use caproto_testkit::peers::Ports;

/// The PVs every interop test uses, under `t:`.
pub struct TestIoc {
    pub ports: Ports,
    pub rt: tokio::runtime::Runtime,
    pub ioc: Option<RunningIoc>,
    pub counter: Pv,
    pub lockable: Pv,
}

pub fn options(ports: Ports) -> ServerOptions {
    ServerOptions::default()
        .port(ports.server)
        .interfaces(&[Ipv4Addr::LOCALHOST])
        .beacons_to(&[SocketAddrV4::new(Ipv4Addr::LOCALHOST, ports.repeater)])
}

pub fn build(prefix: &str) -> (Ioc, Handles) {
    let mut ioc = Ioc::new(prefix);
    ioc.pv(
        "double",
        Pv::double(3.25)
            .precision(3)
            .units("mm")
            .display_limits(-100.0, 100.0)
            .control_limits(-50.0, 50.0)
            .alarm_limits(-90.0, -80.0, 80.0, 90.0),
    );
    ioc.pv("float", Pv::float(1.5).precision(2).units("V"));
    ioc.pv(
        "long",
        Pv::long(42).units("cts").display_limits(0.0, 1000.0),
    );
    ioc.pv("short", Pv::short(-7));
    ioc.pv("char", Pv::char(200));
    ioc.pv("string", Pv::string("hello"));
    ioc.pv("enum", Pv::enumerated(&["Off", "On", "Fault"], 1));
    ioc.pv("array", Pv::array(vec![1.0, 2.0, 3.0], 10));
    ioc.pv("empty", Pv::array(Vec::<i32>::new(), 5));
    ioc.pv("ro", Pv::double(5.0).read_only());
    ioc.pv(
        "alarm",
        Pv::double(0.0).alarm(AlarmStatus::HIGH, AlarmSeverity::MINOR),
    );
    ioc.pv(
        "even",
        Pv::long(0).on_write(|_pv, v| async move {
            match v.to_f64(0) {
                Some(x) if x as i64 % 2 == 0 => Ok(v),
                _ => Err(WriteError::new("odd values are refused")),
            }
        }),
    );
    ioc.pv(
        "double_it",
        Pv::double(0.0).on_write(|_pv, v| async move {
            Ok(DbrValues::Double(
                v.as_f64_vec()
                    .unwrap_or_default()
                    .iter()
                    .map(|x| x * 2.0)
                    .collect(),
            ))
        }),
    );
    ioc.pv(
        "big",
        Pv::array((0..100_000).map(f64::from).collect::<Vec<f64>>(), 100_000),
    );
    let counter = ioc.pv("counter", Pv::long(0));
    let lockable = ioc.pv("lockable", Pv::double(0.0));
    ioc.pv(
        "guarded",
        Pv::double(0.0).access_rule(|host, user| match (host, user) {
            (_, "intruder") => caproto_core::AccessRights::NONE,
            ("viewer-host", _) => caproto_core::AccessRights::READ,
            _ => caproto_core::AccessRights::READ_WRITE,
        }),
    );
    (ioc, Handles { counter, lockable })
}

/// PVs a test drives directly.
pub struct Handles {
    pub counter: Pv,
    pub lockable: Pv,
}

impl TestIoc {
    pub fn start() -> TestIoc {
        let ports = Ports::allocate();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (ioc, handles) = build("t:");
        let ioc = rt
            .block_on(ioc.options(options(ports)).start())
            .expect("server starts");
        assert_eq!(ioc.server().tcp_port(), ports.server);
        TestIoc {
            ports,
            rt,
            ioc: Some(ioc),
            counter: handles.counter,
            lockable: handles.lockable,
        }
    }
}

impl Drop for TestIoc {
    fn drop(&mut self) {
        if let Some(ioc) = self.ioc.take() {
            self.rt.block_on(ioc.shutdown());
        }
    }
}

/// A child process whose output lines are read one by one, each wait
/// bounded; killed on drop.
pub struct Lines {
    pub guard: caproto_testkit::peers::Guard,
    rx: std::sync::mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Lines {
    pub fn spawn(mut cmd: std::process::Command) -> Lines {
        use std::io::BufRead;
        use std::process::Stdio;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let (tx, rx) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let err = child.stderr.take().expect("stderr");
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx2.send(l);
            }
        });
        Lines {
            guard: caproto_testkit::peers::Guard::new(child, "lines"),
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (at most 20 s) for a line for which `f` holds; returns it.
    pub fn until(&mut self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let end = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let left = end.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if f(&l) {
                        return l;
                    }
                }
                Err(_) => panic!("no line with {what} within 20 s; seen: {:#?}", self.seen),
            }
        }
    }
}

/// The `Field: value` lines of caget/cainfo output, per PV, in order.
pub fn field(out: &str, pv: &str, name: &str) -> Option<String> {
    let mut in_pv = false;
    for line in out.lines() {
        if !line.starts_with(' ') {
            in_pv = line.split_whitespace().next() == Some(pv);
            continue;
        }
        if in_pv {
            if let Some((k, v)) = line.trim().split_once(':') {
                if k.trim() == name {
                    return Some(v.trim().to_owned());
                }
            }
        }
    }
    None
}
