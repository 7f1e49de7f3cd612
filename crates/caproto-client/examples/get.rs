//! Reads PVs once: `cargo run -p caproto-client --example get -- PV [PV...]`
//! (configured by the `EPICS_CA_*` environment, as `caget`).

use caproto_client::{Context, DbrType};

#[tokio::main]
async fn main() -> Result<(), caproto_client::Error> {
    let ctx = Context::new().await?;
    for name in std::env::args().skip(1) {
        let pv = ctx.connect(&name).await?;
        // The value with its alarm state and timestamp, as a string.
        let data = pv.read(DbrType::TimeString, 0).await?;
        let value = data.values.as_strings().unwrap_or_default().join(" ");
        println!(
            "{name} {value} ({}, {})",
            data.meta.severity, data.meta.status
        );
    }
    Ok(())
}
