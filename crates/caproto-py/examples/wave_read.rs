//! Profiling aid (not a test): times `read_raw` of a large array PV with the
//! Rust client alone, to separate the client from the Python conversion.
//! `cargo run --release --example wave_read -- PVNAME [N]`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let name = args.next().ok_or("usage: wave_read PVNAME [N]")?;
    let n: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let ctx = caproto_client::Context::new().await?;
        let ch = ctx.connect(&name).await?;
        let ch = ch.with_timeout(std::time::Duration::from_secs(30));
        let p = ch.read_raw(caproto_client::DbrType::Double, 0).await?;
        println!("{} bytes", p.data.len());
        let t = std::time::Instant::now();
        for _ in 0..n {
            let _ = ch.read_raw(caproto_client::DbrType::Double, 0).await?;
        }
        println!("{:?} per read", t.elapsed() / n);
        Ok::<(), caproto_client::Error>(())
    })?;
    Ok(())
}
