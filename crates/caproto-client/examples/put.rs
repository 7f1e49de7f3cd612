//! Writes a value and waits for completion:
//! `cargo run -p caproto-client --example put -- PV VALUE`.

use caproto_client::Context;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(value)) = (args.next(), args.next()) else {
        return Err("usage: put PV VALUE".into());
    };
    let ctx = Context::new().await?;
    let pv = ctx.connect(&name).await?;
    let old: String = pv.get().await?;
    // The server converts the text to the PV's type (a number, an enum
    // state name...).
    pv.put_wait(value.as_str()).await?;
    let new: String = pv.get().await?;
    println!("{name} {old} -> {new}");
    Ok(())
}
