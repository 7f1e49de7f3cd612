//! Benchmark aid (not a test): writes 1, 2, 3, ... to a DOUBLE PV as fast
//! as the client lets it (WRITE without completion), printing the put rate
//! every 100,000 puts. Used by `bench/bench.py` for the monitor row.
//! `cargo run --release --example fast_writer -- PVNAME`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).ok_or("usage: fast_writer PVNAME")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ctx = caproto_client::Context::new().await?;
        let ch = ctx.connect(&name).await?;
        let mut t = std::time::Instant::now();
        let mut i = 0u64;
        loop {
            i += 1;
            ch.put(&(i as f64)).await?;
            if i % 100_000 == 0 {
                let now = std::time::Instant::now();
                println!(
                    "{{\"puts_per_s\": {:.0}}}",
                    100_000.0 / (now - t).as_secs_f64()
                );
                t = now;
            }
        }
    })
}
