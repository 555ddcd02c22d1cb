//! The desired state (filled next).

/// The kinds of manifest document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// The stack.
    Stack,
}

/// A resource the manifests declare.
#[derive(Debug, Clone)]
pub struct DesiredResource {}

/// Everything the manifests declare.
#[derive(Debug, Clone, Default)]
pub struct DesiredState {}
