//! Start-up and shutdown hooks: the start-up hook runs once the server
//! serves (here it sets `hooks:state` to "running"); the shutdown hook runs
//! after Ctrl-C, once every client was sent SERVER_DISCONN.

use caproto_server::{Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("hooks:");
    let state = ioc.pv("state", Pv::string("starting").read_only());
    ioc.on_startup(move || async move {
        let _ = state.post("running");
        eprintln!("start-up hook: serving");
    });
    ioc.on_shutdown(|| async {
        eprintln!("shutdown hook: clients disconnected, cleaning up");
    });
    ioc.run().await
}
