//! EPICS databases for caproto: the `.db` file syntax ([`db`]) and the calc
//! expression language ([`calc`]), the pieces `caproto-softioc` is built on.

pub mod calc;
pub mod db;
