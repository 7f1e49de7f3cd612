//! Test support for caproto.
