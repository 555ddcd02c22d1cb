//! The Azure Resource Manager client: the only code that talks to ARM.
//!
//! Owns request building (paths, api-versions), credentials, retries, pacing, long-running
//! operations, pagination and reading the live state. It must not decide what to change (that is
//! `plan`) or print anything. Filled by the ARM client issue.
