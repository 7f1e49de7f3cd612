//! EPICS records declared in Rust and served with their fields:
//!
//! ```text
//! cargo run -p caproto-softioc --example records
//! caget -d DBR_CTRL_DOUBLE demo:temp      # units, limits, alarm state
//! caput demo:setpoint 150                 # clamped to DRVH = 100
//! camonitor demo:temp demo:avg            # the calc follows every 0.5 s
//! caput demo:temp.HIGH 20                 # alarm limits are fields too
//! ```

use std::time::Duration;

use caproto_server::Ioc;
use caproto_softioc::Records;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let records = Records::new();
    let temp = records.add(
        "demo:temp",
        "ai",
        &[
            ("DESC", "Room temperature"),
            ("EGU", "degC"),
            ("PREC", "2"),
            ("HOPR", "40"),
            ("LOPR", "0"),
            ("HIGH", "25"),
            ("HSV", "MINOR"),
            ("HIHI", "30"),
            ("HHSV", "MAJOR"),
            ("HYST", "0.5"),
            ("FLNK", "demo:avg"),
        ],
    )?;
    records.add(
        "demo:setpoint",
        "ao",
        &[("EGU", "W"), ("DRVH", "100"), ("DRVL", "0"), ("PREC", "1")],
    )?;
    records.add(
        "demo:avg",
        "calc",
        &[
            ("CALC", "(A+B*9)/10"),
            ("INPA", "demo:temp"),
            ("INPB", "demo:avg"),
            ("EGU", "degC"),
            ("PREC", "2"),
        ],
    )?;
    records.add(
        "demo:mode",
        "mbbo",
        &[
            ("ZRST", "Off"),
            ("ONST", "Heat"),
            ("TWST", "Cool"),
            ("VAL", "0"),
        ],
    )?;

    let mut ioc = Ioc::from_args("");
    records.install(&mut ioc);
    // A "device": a slow sine wave, posted as a soft input would read it.
    ioc.spawn(async move {
        let mut t = 0.0f64;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tick.tick().await;
            t += 0.05;
            let _ = temp.set(22.0 + 10.0 * t.sin());
        }
    });
    ioc.run().await?;
    Ok(())
}
