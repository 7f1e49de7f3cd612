//! Prints every update of PVs until interrupted:
//! `cargo run -p caproto-client --example monitor -- PV [PV...]`.

use caproto_client::Context;

#[tokio::main]
async fn main() -> Result<(), caproto_client::Error> {
    let ctx = Context::new().await?;
    let mut tasks = Vec::new();
    for name in std::env::args().skip(1) {
        let pv = ctx.channel(&name)?;
        tasks.push(tokio::spawn(async move {
            // Reconnections are handled inside: the stream just goes on.
            let mut updates = pv.monitor().await?;
            while let Some(update) = updates.next().await {
                match update {
                    Ok(d) => println!("{} {:?} {:?}", pv.name(), d.meta.timestamp, d.values),
                    Err(e) => eprintln!("{e}"),
                }
            }
            Ok::<(), caproto_client::Error>(())
        }));
    }
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            eprintln!("{e}");
        }
    }
    Ok(())
}
