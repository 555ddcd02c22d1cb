//! Renderers for plans and reports: human (Terraform-like), JSON and markdown.
//!
//! Every renderer writes to `&mut dyn io::Write` and gets colors through `RenderOptions`; it never
//! talks to the network, reads files, or decides what changes. Filled by the planner issue.
