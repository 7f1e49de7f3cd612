//! `caproto-softioc -d file.db [-m MACROS]`: serves EPICS database files.
//! (Work in progress: record support is being written.)

fn main() {
    eprintln!("caproto-softioc: record support is not built yet");
    std::process::exit(1);
}
