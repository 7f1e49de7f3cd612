//! Enumerated PVs: `enums:mode` with three states and `enums:onoff` with
//! two. `caget enums:mode` prints the state string, `caput enums:mode
//! Fault` or `caput enums:mode 2` selects a state, `caget -d
//! DBR_CTRL_ENUM enums:mode` lists the states; an unknown state is refused.

use caproto_server::{Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("enums:");
    ioc.pv("mode", Pv::enumerated(&["Idle", "Running", "Fault"], 0));
    ioc.pv("onoff", Pv::enumerated(&["Off", "On"], 1));
    ioc.run().await
}
