//! A background task posting values: `random_walk:x` takes a random step
//! every `random_walk:dt` seconds (writable, clamped to 0.01..=60), so
//! `camonitor random_walk:x` shows a stream of updates.

use std::time::Duration;

use caproto_server::{Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("random_walk:");
    let x = ioc.pv("x", Pv::double(0.0).precision(4).read_only());
    let dt = ioc.pv(
        "dt",
        Pv::double(1.0)
            .units("s")
            .control_limits(0.01, 60.0)
            .on_write(|_pv, v| async move {
                Ok(caproto_server::DbrValues::Double(vec![v
                    .to_f64(0)
                    .unwrap_or(1.0)
                    .clamp(0.01, 60.0)]))
            }),
    );
    ioc.spawn(async move {
        // A small xorshift: no dependency for randomness in an example.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        loop {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let step = (state % 2001) as f64 / 1000.0 - 1.0;
            let _ = x.post(x.get_f64().unwrap_or(0.0) + step);
            let period = dt.get_f64().unwrap_or(1.0).clamp(0.01, 60.0);
            tokio::time::sleep(Duration::from_secs_f64(period)).await;
        }
    });
    ioc.run().await
}
