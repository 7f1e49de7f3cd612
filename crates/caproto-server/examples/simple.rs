//! The smallest useful IOC: four PVs, no logic.
//!
//! `simple:A` (int, 1), `simple:B` (double, 2.0), `simple:C` (int, 3) and
//! `simple:D` (an array of 10 doubles). Try `caget simple:A`,
//! `caput simple:A 42`, `camonitor simple:B`. Standard options:
//! `--prefix`, `--list-pvs`, `--interfaces`, `--port`, `-v`/`-vv`, `--help`.

use caproto_server::{Ioc, Pv};

// One thread serves every client: the lowest request latency on a small
// machine (no cross-thread wake-ups). For many busy clients use the default
// multi-threaded runtime (`#[tokio::main]`); the IOC code is the same.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("simple:");
    ioc.pv("A", Pv::int(1));
    ioc.pv("B", Pv::double(2.0).precision(3).units("mm"));
    ioc.pv("C", Pv::int(3));
    ioc.pv(
        "D",
        Pv::array(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 10),
    );
    ioc.run().await
}
