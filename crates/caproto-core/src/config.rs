//! Configuration from `EPICS_CA_*` / `EPICS_CAS_*` variables.
