//! TCP virtual-circuit state machines.
