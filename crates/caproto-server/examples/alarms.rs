//! Alarm limits and severities as in an ai/ao record: `alarms:temp` goes
//! MINOR (HIGH/LOW) beyond 30/10 and MAJOR (HIHI/LOLO) beyond 40/0.
//! `caput alarms:temp 35` then `caget -d DBR_STS_DOUBLE alarms:temp`
//! shows HIGH/MINOR; `camonitor -m a alarms:temp` sees only alarm
//! changes. `alarms:comm` is set to a COMM/INVALID alarm by the program.

use caproto_server::{AlarmSeverity, AlarmStatus, Ioc, Pv};

#[tokio::main]
async fn main() -> Result<(), caproto_server::Error> {
    let mut ioc = Ioc::from_args("alarms:");
    ioc.pv(
        "temp",
        Pv::double(20.0)
            .units("degC")
            .precision(1)
            .display_limits(-10.0, 60.0)
            .alarm_limits(0.0, 10.0, 30.0, 40.0),
    );
    let comm = ioc.pv("comm", Pv::double(0.0).read_only());
    comm.set_alarm(AlarmStatus::COMM, AlarmSeverity::INVALID);
    ioc.run().await
}
