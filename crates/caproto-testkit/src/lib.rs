//! Test support for caproto (not published):
//! - [`pcap`]: reads the golden captures of real EPICS traffic, reassembles TCP
//!   streams per direction and yields UDP datagrams;
//! - [`pair`]: an in-memory client <-> server pair driven by a virtual clock;
//! - [`peers`]: reference peers (EPICS base tools, Python) on loopback.

pub mod pair;
pub mod pcap;
pub mod peers;
