//! Channel Access server and IOC framework (tokio).
