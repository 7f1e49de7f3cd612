//! The blocking API, no async code: `cargo run -p caproto-client --example
//! blocking_get -- PV`.

use caproto_client::blocking;

fn main() -> Result<(), caproto_client::Error> {
    for name in std::env::args().skip(1) {
        let value: String = blocking::get(&name)?;
        println!("{name} {value}");
    }
    Ok(())
}
