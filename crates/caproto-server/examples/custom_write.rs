//! Write handlers that validate, transform or reject.
//!
//! - `custom_write:even`: only even numbers; an odd one is refused
//!   (`caput -c` reports ECA_PUTFAIL, a plain `caput` an error message);
//! - `custom_write:upper`: a string stored in upper case;
//! - `custom_write:slow`: a write that takes a second; `caput -c` returns
//!   only when it is done (the write notify completes with the handler).

use std::time::Duration;

use caproto_server::{DbrValues, EcaStatus, Ioc, Pv, WriteError};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("custom_write:");
    ioc.pv(
        "even",
        Pv::long(0).on_write(|pv, v| async move {
            match v.to_f64(0) {
                Some(x) if x as i64 % 2 == 0 => Ok(v),
                _ => Err(
                    WriteError::new(format!("{}: odd values refused", pv.name()))
                        .with_status(EcaStatus::ECA_PUTFAIL),
                ),
            }
        }),
    );
    ioc.pv(
        "upper",
        Pv::string("").on_write(|_pv, v| async move {
            let s = v
                .as_strings()
                .and_then(|s| s.first())
                .cloned()
                .unwrap_or_default();
            Ok(DbrValues::String(vec![s.to_uppercase()]))
        }),
    );
    ioc.pv(
        "slow",
        Pv::double(0.0).on_write(|_pv, v| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(v)
        }),
    );
    ioc.run().await
}
