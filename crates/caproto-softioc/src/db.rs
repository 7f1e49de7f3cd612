//! EPICS database (`.db`) files.
