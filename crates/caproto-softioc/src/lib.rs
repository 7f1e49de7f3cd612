//! EPICS databases for caproto: the `.db` file syntax ([`db`]), the calc
//! expression language ([`calc`]) and record emulation ([`record`]): the
//! pieces the `caproto-softioc` binary is built on, usable from any IOC.

pub mod calc;
pub mod db;
pub mod record;

pub use record::{RecordError, RecordHandle, Records};
