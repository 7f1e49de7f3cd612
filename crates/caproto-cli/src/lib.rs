//! Shared code of the caproto command-line tools: argument parsing and
//! output formatting compatible with the EPICS base tools.
