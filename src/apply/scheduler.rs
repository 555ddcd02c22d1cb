//! The pure part of the executor: which actions may start now, and what a failure skips.
//!
//! An action is ready when every action it depends on has succeeded and no other action on the
//! same resource is running (kube-runtime's rule: never two operations on one object at once).
//! A failed or skipped action skips everything that depends on it, transitively.

use std::collections::HashSet;

/// The state of one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeState {
    /// Not started.
    Pending,
    /// Started, not finished.
    Running,
    /// Finished successfully.
    Succeeded,
    /// Finished with an error.
    Failed,
    /// Not run, because of the given action (failed, skipped) or an interruption.
    Skipped {
        /// The action that blocked it, if any.
        blocked_by: Option<usize>,
    },
}

/// Readiness over the dependency graph.
#[derive(Debug, Clone)]
pub struct Scheduler {
    deps: Vec<Vec<usize>>,
    keys: Vec<String>,
    states: Vec<NodeState>,
}

impl Scheduler {
    /// `deps[i]` are the actions `i` waits for; `keys[i]` names the resource `i` touches.
    pub fn new(deps: Vec<Vec<usize>>, keys: Vec<String>) -> Self {
        let n = deps.len();
        Self {
            deps,
            keys,
            states: vec![NodeState::Pending; n],
        }
    }

    /// The state of action `i`.
    pub fn state(&self, i: usize) -> &NodeState {
        &self.states[i]
    }

    /// At most `limit` actions that may start now, in index order. Linear in the number of
    /// actions (it runs after every finished action, with hundreds of them ready at once).
    pub fn ready(&self, limit: usize) -> Vec<usize> {
        let mut taken: HashSet<&str> = (0..self.states.len())
            .filter(|i| self.states[*i] == NodeState::Running)
            .map(|i| self.keys[i].as_str())
            .collect();
        let mut out: Vec<usize> = Vec::new();
        for i in 0..self.states.len() {
            if out.len() >= limit {
                break;
            }
            if self.states[i] != NodeState::Pending
                || !self.deps[i]
                    .iter()
                    .all(|d| self.states[*d] == NodeState::Succeeded)
            {
                continue;
            }
            if taken.insert(self.keys[i].as_str()) {
                out.push(i);
            }
        }
        out
    }

    /// Marks `i` running.
    pub fn start(&mut self, i: usize) {
        self.states[i] = NodeState::Running;
    }

    /// Records the outcome of `i`; a failure skips its dependents. Returns the newly skipped.
    pub fn finish(&mut self, i: usize, ok: bool) -> Vec<usize> {
        self.states[i] = if ok {
            NodeState::Succeeded
        } else {
            NodeState::Failed
        };
        if ok {
            Vec::new()
        } else {
            self.skip_dependents(i)
        }
    }

    fn skip_dependents(&mut self, root: usize) -> Vec<usize> {
        let mut skipped = Vec::new();
        let mut frontier = vec![root];
        while let Some(blocker) = frontier.pop() {
            for j in 0..self.states.len() {
                if self.states[j] == NodeState::Pending && self.deps[j].contains(&blocker) {
                    self.states[j] = NodeState::Skipped {
                        blocked_by: Some(root),
                    };
                    skipped.push(j);
                    frontier.push(j);
                }
            }
        }
        skipped.sort_unstable();
        skipped
    }

    /// Skips every pending action (interrupted). Returns them.
    pub fn skip_pending(&mut self) -> Vec<usize> {
        let pending: Vec<usize> = (0..self.states.len())
            .filter(|i| self.states[*i] == NodeState::Pending)
            .collect();
        for i in &pending {
            self.states[*i] = NodeState::Skipped { blocked_by: None };
        }
        pending
    }

    /// Whether nothing is pending or running.
    pub fn done(&self) -> bool {
        !self
            .states
            .iter()
            .any(|s| matches!(s, NodeState::Pending | NodeState::Running))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(deps: &[&[usize]], keys: &[&str]) -> Scheduler {
        Scheduler::new(
            deps.iter().map(|d| d.to_vec()).collect(),
            keys.iter().map(|k| k.to_string()).collect(),
        )
    }

    #[test]
    fn starts_each_action_as_soon_as_its_own_dependencies_are_done() {
        // 0 → 1 → 3, 0 → 2 (a DAG, not levels): 2 does not wait for 1.
        let mut s = sched(&[&[], &[0], &[0], &[1]], &["a", "b", "c", "d"]);
        assert_eq!(s.ready(usize::MAX), vec![0]);
        s.start(0);
        assert!(s.ready(usize::MAX).is_empty());
        s.finish(0, true);
        assert_eq!(s.ready(usize::MAX), vec![1, 2]);
        s.start(1);
        s.start(2);
        s.finish(1, true);
        assert_eq!(s.ready(usize::MAX), vec![3], "3 starts while 2 still runs");
    }

    #[test]
    fn ready_stops_at_the_limit_in_index_order() {
        let mut s = sched(&[&[], &[], &[], &[]], &["a", "b", "c", "d"]);
        assert_eq!(s.ready(2), vec![0, 1]);
        assert!(s.ready(0).is_empty());
        s.start(0);
        assert_eq!(s.ready(2), vec![1, 2]);
    }

    #[test]
    fn never_two_operations_on_one_resource_at_once() {
        let s = sched(&[&[], &[], &[]], &["same", "same", "other"]);
        // The second action on `same` neither starts nor uses up the limit.
        assert_eq!(s.ready(2), vec![0, 2]);
        let mut s = sched(&[&[], &[]], &["same", "same"]);
        assert_eq!(s.ready(usize::MAX), vec![0]);
        s.start(0);
        assert!(s.ready(usize::MAX).is_empty());
        s.finish(0, true);
        assert_eq!(s.ready(usize::MAX), vec![1]);
    }

    #[test]
    fn failure_skips_dependents_transitively_and_independent_branches_continue() {
        let mut s = sched(&[&[], &[0], &[1], &[]], &["a", "b", "c", "d"]);
        s.start(0);
        s.start(3);
        assert_eq!(s.finish(0, false), vec![1, 2]);
        assert_eq!(
            s.state(2),
            &NodeState::Skipped {
                blocked_by: Some(0)
            }
        );
        s.finish(3, true);
        assert!(s.done());
    }

    #[test]
    fn interruption_skips_what_has_not_started() {
        let mut s = sched(&[&[], &[0]], &["a", "b"]);
        s.start(0);
        assert_eq!(s.skip_pending(), vec![1]);
        assert!(!s.done());
        s.finish(0, true);
        assert!(s.done());
    }
}
