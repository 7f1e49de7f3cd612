//! "I/O Intr" scanning: a background task posts a value whenever an
//! external event happens, here a line typed on standard input, which
//! becomes `io:line` (a string) and counts `io:count`. Run it, then
//! `camonitor io:line` in another terminal and type lines.

use caproto_server::{Ioc, Pv};
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("io:");
    let line = ioc.pv("line", Pv::string("").read_only());
    let count = ioc.pv("count", Pv::long(0).read_only());
    ioc.spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut n = 0;
        while let Ok(Some(text)) = lines.next_line().await {
            // A DBR_STRING holds 39 bytes.
            let cut: String = text.chars().take(39).collect();
            let _ = line.post(cut.as_str());
            n += 1;
            let _ = count.post(n);
        }
    });
    ioc.run().await
}
