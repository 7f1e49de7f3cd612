//! `caproto-shark` decodes every message of every golden capture, in text
//! and in JSON, and agrees with the testkit's decoder on the count.

use std::path::{Path, PathBuf};
use std::process::Command;

use caproto_testkit::pcap::{self, DecodeOptions};

fn captures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/captures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("captures directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    assert!(v.len() >= 11, "golden captures missing");
    v
}

fn shark(args: &[&str], file: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_caproto-shark"))
        .args(args)
        .arg(file)
        .output()
        .expect("caproto-shark runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn shark_decodes_every_message_of_every_capture() {
    for file in captures() {
        let capture = pcap::load(&file).expect("capture loads");
        let report = pcap::for_each_message(&capture, &DecodeOptions::default(), |_| {});
        let expected = report.messages + report.incomplete.len();

        let (code, stdout, stderr) = shark(&[], &file);
        assert_eq!(code, 0, "{}: {stderr}", file.display());
        assert!(!stderr.contains("decode"), "{}: {stderr}", file.display());
        assert_eq!(stdout.lines().count(), expected, "{}", file.display());

        let (code, stdout, stderr) = shark(&["--format", "json", "--max-values", "0"], &file);
        assert_eq!(code, 0, "{}: {stderr}", file.display());
        let mut n = 0;
        for line in stdout.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line}", file.display()));
            assert!(v.get("command").is_some_and(|c| c.is_string()));
            assert!(v.get("error").is_none(), "{line}");
            n += 1;
        }
        assert_eq!(n, expected, "{}", file.display());
    }
}

#[test]
fn shark_reads_stdin_and_shows_decoded_values() {
    let file = captures()
        .into_iter()
        .find(|p| p.ends_with("monitor.pcap"))
        .expect("monitor.pcap");
    let out = Command::new(env!("CARGO_BIN_EXE_caproto-shark"))
        .arg("-")
        .stdin(std::fs::File::open(&file).expect("opens"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(
        "S->C EVENT_ADD subid=1 status=ECA_NORMAL data=DBR_TIME_DOUBLE x1 [768] status=NO_ALARM \
         severity=NO_ALARM stamp=\"2026-11-24 22:03:18.450520\""
    ), "{text}");
    assert!(text.contains("C->S CREATE_CHAN name=\"t:calc\" cid=1 minor_version=13"));
}

#[test]
fn shark_rejects_what_is_not_a_capture() {
    let (code, stdout, stderr) = shark(
        &[],
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml")
            .as_path(),
    );
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, _, stderr) = shark(&["--bogus"], Path::new("x"));
    assert_eq!(code, 1);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
