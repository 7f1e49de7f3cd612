//! A slow motor-like pair: writing `motor:setpoint` starts a move;
//! `motor:readback` follows in steps of at most `motor:velocity` per
//! 100 ms, and `motor:moving` is 1 while it moves. `caput -c
//! motor:setpoint 10` returns at once (the write only sets the target);
//! `camonitor motor:readback motor:moving` shows the move.

use std::time::Duration;

use caproto_server::{Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("motor:");
    let setpoint = ioc.pv(
        "setpoint",
        Pv::double(0.0)
            .precision(3)
            .units("mm")
            .control_limits(-100.0, 100.0),
    );
    let readback = ioc.pv(
        "readback",
        Pv::double(0.0).precision(3).units("mm").read_only(),
    );
    let velocity = ioc.pv("velocity", Pv::double(1.0).units("mm/s"));
    let moving = ioc.pv("moving", Pv::enumerated(&["Done", "Moving"], 0).read_only());
    ioc.scan(Duration::from_millis(100), move || {
        let (setpoint, readback, velocity, moving) = (
            setpoint.clone(),
            readback.clone(),
            velocity.clone(),
            moving.clone(),
        );
        async move {
            let target = setpoint.get_f64().unwrap_or(0.0);
            let at = readback.get_f64().unwrap_or(0.0);
            let step = velocity.get_f64().unwrap_or(1.0).abs() / 10.0;
            let next = if (target - at).abs() <= step {
                target
            } else {
                at + step * (target - at).signum()
            };
            let _ = readback.post(next);
            let _ = moving.post(u16::from(next != target));
        }
    });
    ioc.run().await
}
