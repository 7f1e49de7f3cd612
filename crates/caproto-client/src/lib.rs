//! Channel Access client (tokio, plus a blocking API).
