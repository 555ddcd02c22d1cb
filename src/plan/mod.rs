//! The planner: `plan(&DesiredState, &LiveState, &PlanOptions) -> Plan`.
//!
//! Owns diffing, normalization, ownership rules and the dependency graph of actions. It must stay
//! pure: no I/O, no tokio, no clock (time is an input), no `arm`/`render` imports. Filled by the
//! planner issue.
