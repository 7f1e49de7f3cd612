//! The example IOC binaries (built by `cargo test` beside the tests) with
//! their standard options, against the C tools.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use caproto_testkit::peers::{epics, run, spawn_until, stderr, stdout, Ports};

fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/<test> -> target/<profile>/examples/<name>
    let profile_dir = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf();
    // Build it (a no-op when `cargo test` already did), so that running
    // this test file alone never uses a stale or missing binary.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = std::process::Command::new(cargo);
    build.args(["build", "-q", "-p", "caproto-server", "--example", name]);
    if profile_dir.ends_with("release") {
        build.arg("--release");
    }
    let out = run(build, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "cannot build example {name}: {}",
        stderr(&out)
    );
    let path = profile_dir.join("examples").join(name);
    assert!(path.is_file(), "{} not built", path.display());
    path
}

#[test]
fn simple_lists_its_pvs() {
    let mut cmd = std::process::Command::new(example("simple"));
    cmd.arg("--list-pvs");
    let out = run(cmd, Duration::from_secs(20));
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).lines().collect::<Vec<_>>(),
        ["simple:A", "simple:B", "simple:C", "simple:D"]
    );
    let mut cmd = std::process::Command::new(example("simple"));
    cmd.args(["--list-pvs", "--prefix", "x:"]);
    let out = run(cmd, Duration::from_secs(20));
    assert!(stdout(&out).starts_with("x:A\n"), "{}", stdout(&out));
    let out = run(
        {
            let mut c = std::process::Command::new(example("simple"));
            c.arg("--help");
            c
        },
        Duration::from_secs(20),
    );
    let help = stdout(&out);
    for opt in [
        "--prefix",
        "--list-pvs",
        "--interfaces",
        "--port",
        "--verbose",
    ] {
        assert!(help.contains(opt), "{help}");
    }
}

#[test]
fn simple_serves_caget_and_caput() {
    let ports = Ports::allocate();
    let mut cmd = ports.command(example("simple"));
    cmd.args([
        "--interfaces",
        "127.0.0.1",
        "--port",
        &ports.server.to_string(),
    ]);
    let (_ioc, _) = spawn_until(
        cmd,
        "Channel Access server running",
        Duration::from_secs(20),
    );
    let out = epics(
        ports,
        "caget",
        &["-w", "5", "simple:A", "simple:B", "simple:C", "simple:D"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["simple:A", "1"]);
    assert_eq!(lines[1], ["simple:B", "2"]);
    assert_eq!(lines[2], ["simple:C", "3"]);
    assert_eq!(lines[3][..3], ["simple:D", "10", "1"]);
    let out = epics(ports, "caput", &["-w", "5", "simple:A", "42"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out)
        .lines()
        .any(|l| l.starts_with("New") && l.trim_end().ends_with("42")));
    let out = epics(ports, "caget", &["-w", "5", "simple:A"]);
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["simple:A", "42"]
    );
}

#[test]
fn very_verbose_logs_every_ca_message() {
    let ports = Ports::allocate();
    let mut cmd = ports.command(example("simple"));
    cmd.args([
        "-vv",
        "--interfaces",
        "127.0.0.1",
        "--port",
        &ports.server.to_string(),
    ]);
    let mut ioc = common::Lines::spawn(cmd);
    ioc.until("start", |l| l.contains("Channel Access server running"));
    let out = epics(ports, "caget", &["-w", "5", "simple:C"]);
    assert!(out.status.success(), "{}", stderr(&out));
    ioc.until("the search", |l| {
        l.contains("search") && l.contains("simple:C")
    });
    ioc.until("the request", |l| l.contains("<- ReadNotify"));
    ioc.until("the reply", |l| l.contains("-> ReadNotifyResponse"));
}
