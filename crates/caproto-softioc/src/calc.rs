//! The EPICS calc expression language.
