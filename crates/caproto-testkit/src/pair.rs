//! In-memory client <-> server pair with a virtual clock.
