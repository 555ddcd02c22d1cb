//! The benchmark's code path (`examples/bench.rs`, included here as a module) on a tiny stack
//! of 2 topics × 5 webhook subscriptions with no latency and no throttling: structural facts
//! only (the plan converges, the refresh writes nothing, the bound is computed from the right
//! counts), never timings — those belong to the benchmark run, not to tests.

#[path = "../../examples/bench.rs"]
#[allow(dead_code)]
mod bench;

#[test]
fn benchmark_path_converges_on_a_tiny_stack() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let p = bench::Params::tiny();
    let r = rt.block_on(bench::run(&p)).unwrap();

    assert!(r.apply_failures.is_empty(), "{:?}", r.apply_failures);
    assert_eq!(r.subscriptions, 10);
    // Register the provider, the group, 2 topics, 10 subscriptions.
    assert_eq!(r.plan_actions, 14);
    assert_eq!(r.replan_actions, 0, "the plan after apply must be empty");

    // Refreshing never spends write-class requests, before or after apply.
    for phase in [&r.plan, &r.replan] {
        assert_eq!(phase.client.writes, 0);
        assert_eq!(phase.client.deletes, 0);
        assert_eq!(phase.server.writes, 0);
    }
    // Client and server agree on what was sent; one write per action, nothing throttled.
    assert_eq!(r.apply.client.writes, r.apply.server.writes);
    assert_eq!(r.apply.client.reads, r.apply.server.reads);
    assert_eq!(r.apply.client.writes, r.bound.min_writes);
    assert_eq!(r.bound.min_writes, 14);
    assert_eq!(r.apply.server.throttled, 0);
    assert_eq!(r.surfaced_429, 0);
    // provider (or group) → topic → subscription.
    assert_eq!(r.bound.chain_actions, 3);
    // The target keeps every term of the bound; the protocol figure adds to it.
    assert!(r.bound.staged >= r.bound.total, "{:?}", r.bound);
    assert!(r.bound.protocol >= r.bound.staged, "{:?}", r.bound);
    assert!(r.refresh_ratio() <= 1.0, "{}", r.replan.client.total());

    let table = bench::render(&p, &r);
    assert!(
        table.contains("bound = max(throttle, critical path)"),
        "{table}"
    );
    assert!(table.contains("second plan empty"), "{table}");
}
