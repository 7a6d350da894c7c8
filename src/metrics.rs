//! Prometheus metrics: what operators and service owners watch.
//!
//! Two kinds. **Events** (PDUs, USSD step latency, back-end calls, the
//! funnel of each flow node) are counted where they happen,
//! into one process-wide registry ([`get`]): a counter bump is a hash
//! lookup and an atomic add, cheap enough for every PDU. **State** (binds
//! up, window occupancy, throttling and other per-bind counters, the
//! outbox's counters, queue depths) is read from the running parts when
//! `/metrics` is scraped ([`Snapshot`]), so it is never stale and costs
//! nothing between scrapes.
//!
//! Labels hold configuration names (operators, back-ends, flows, nodes),
//! SMPP command and status names, and fixed words: never an MSISDN, an
//! input or a message, so the number of series is bounded by the
//! configuration and the flows.
//!
//! Must not: block, allocate per event beyond the label set, or decide
//! anything (it only counts).

use std::sync::atomic::AtomicU64;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::outbox::OutboxStats;
use crate::smpp::pdu::{CommandId, CommandStatus};
use crate::smpp::session::BindStats;

/// Which way a PDU went.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

/// What happened at a flow node, for the funnel.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum NodeEvent {
    /// The citizen was shown the node's screen.
    Entered,
    /// The citizen answered it (and moved on, or got a final screen).
    Completed,
    /// The network or the citizen ended the dialogue there.
    Dropped,
    /// The citizen never answered it in time.
    TimedOut,
}

/// Label values as Prometheus users expect them: lower case.
impl EncodeLabelValue for Direction {
    fn encode(&self, e: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        e.write_str(match self {
            Direction::In => "in",
            Direction::Out => "out",
        })
    }
}

impl EncodeLabelValue for NodeEvent {
    fn encode(&self, e: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        e.write_str(match self {
            NodeEvent::Entered => "entered",
            NodeEvent::Completed => "completed",
            NodeEvent::Dropped => "dropped",
            NodeEvent::TimedOut => "timed_out",
        })
    }
}

/// One bind's PDU counters, kept at hand: a bind sees a handful of
/// (direction, command, status) kinds, so after the first PDU of each
/// kind a count is a short scan and an atomic add, not a label set built
/// (the operator's name copied) and hashed into the registry.
pub struct PduCounters {
    operator: std::sync::Arc<str>,
    seen: Vec<((Direction, CommandId, CommandStatus), Counter)>,
}

/// Kinds kept per bind; past that (a peer sending many odd statuses), a
/// count goes to the registry directly.
const PDU_KINDS_KEPT: usize = 32;

impl PduCounters {
    pub fn new(operator: std::sync::Arc<str>) -> PduCounters {
        PduCounters {
            operator,
            seen: Vec::new(),
        }
    }

    /// Counts one PDU.
    pub fn count(&mut self, direction: Direction, command: CommandId, status: CommandStatus) {
        let kind = (direction, command, status);
        if let Some((_, c)) = self.seen.iter().find(|(k, _)| *k == kind) {
            c.inc();
            return;
        }
        let c = get().pdu_counter(&self.operator, direction, command, status);
        c.inc();
        if self.seen.len() < PDU_KINDS_KEPT {
            self.seen.push((kind, c));
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PduLabels {
    operator: String,
    direction: Direction,
    command: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperatorLabels {
    operator: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackendLabels {
    backend: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    backend: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    flow: String,
    node: String,
    event: NodeEvent,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotifyLabels {
    /// A configured client name, or `-` when authentication failed.
    client: String,
    action: &'static str,
    status: u16,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Step latencies: 1 ms to about 8 s, doubling.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

/// The process-wide event metrics.
pub struct Metrics {
    registry: Registry,
    pdus: Family<PduLabels, Counter>,
    ussd_step: Histograms<OperatorLabels>,
    backend_latency: Histograms<BackendLabels>,
    backend_calls: Family<OutcomeLabels, Counter>,
    funnel: Family<NodeLabels, Counter>,
    notify_requests: Family<NotifyLabels, Counter>,
    notify_latency: Histogram,
}

/// The metrics of this process.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bawaba");
        let pdus = Family::default();
        let ussd_step: Histograms<_> = Family::new_with_constructor(latency_buckets);
        let backend_latency: Histograms<_> = Family::new_with_constructor(latency_buckets);
        let backend_calls = Family::default();
        let funnel = Family::default();
        let notify_requests = Family::default();
        let notify_latency = latency_buckets();
        registry.register(
            "notify_requests",
            "Notification API requests by client, action (send, status) and HTTP status",
            notify_requests.clone(),
        );
        registry.register(
            "notify_request_seconds",
            "Notification API request latency, the audit record included",
            notify_latency.clone(),
        );
        registry.register(
            "smpp_pdus",
            "SMPP PDUs by operator, direction, command and command_status",
            pdus.clone(),
        );
        registry.register(
            "ussd_step_seconds",
            "USSD step latency: the citizen's deliver_sm received to the SMSC's submit_sm_resp for our screen",
            ussd_step.clone(),
        );
        registry.register(
            "backend_call_seconds",
            "Back-end call latency, retries included",
            backend_latency.clone(),
        );
        registry.register(
            "backend_calls",
            "Back-end calls by outcome (ok, not_found, failed, timeout)",
            backend_calls.clone(),
        );
        registry.register(
            "flow_node",
            "Funnel per flow node: entered, completed, dropped, timed_out",
            funnel.clone(),
        );
        Metrics {
            registry,
            pdus,
            ussd_step,
            backend_latency,
            backend_calls,
            funnel,
            notify_requests,
            notify_latency,
        }
    }

    /// One notification API request answered with HTTP `status`.
    pub fn notify_request(
        &self,
        client: Option<&str>,
        action: &'static str,
        status: u16,
        took: Duration,
    ) {
        let labels = NotifyLabels {
            client: client.unwrap_or("-").to_owned(),
            action,
            status,
        };
        self.notify_requests.get_or_create(&labels).inc();
        self.notify_latency.observe(took.as_secs_f64());
    }

    /// The counter of one kind of PDU, for [`PduCounters`] to keep.
    fn pdu_counter(
        &self,
        operator: &str,
        direction: Direction,
        command: CommandId,
        status: CommandStatus,
    ) -> Counter {
        let labels = PduLabels {
            operator: operator.to_owned(),
            direction,
            command: command.name().unwrap_or("unknown"),
            status: status.name(),
        };
        self.pdus.get_or_create(&labels).clone()
    }

    pub fn ussd_step(&self, operator: &str, took: Duration) {
        let labels = OperatorLabels {
            operator: operator.to_owned(),
        };
        self.ussd_step
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub fn backend_call(&self, backend: &str, outcome: &'static str, took: Duration) {
        let labels = BackendLabels {
            backend: backend.to_owned(),
        };
        self.backend_latency
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        let labels = OutcomeLabels {
            backend: backend.to_owned(),
            outcome,
        };
        self.backend_calls.get_or_create(&labels).inc();
    }

    pub fn node(&self, flow: &str, node: &str, event: NodeEvent) {
        let labels = NodeLabels {
            flow: flow.to_owned(),
            node: node.to_owned(),
            event,
        };
        self.funnel.get_or_create(&labels).inc();
    }

    /// The text exposition (OpenMetrics) of the events and of `state`.
    pub fn render(&self, state: &Snapshot) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let mut now = Registry::with_prefix("bawaba");
        state.register(&mut now);
        // Two registries, one exposition: the first without its `# EOF`.
        if encode(&mut out, &now).is_ok() {
            out.truncate(
                out.trim_end()
                    .strip_suffix("# EOF")
                    .map_or(out.len(), str::len),
            );
        }
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// The state of the running gateway at a scrape.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every bind, by operator.
    pub binds: Vec<(String, BindStats)>,
    /// Each operator's window size (submits in flight per bind at most).
    pub windows: Vec<(String, usize)>,
    pub outbox: OutboxStats,
    /// Turns waiting in the subscribers' worker queues.
    pub worker_queue: usize,
    /// Turns accepted and not finished.
    pub in_flight: usize,
    /// Conversations waiting for the citizen, not idle: (operator, bearer, n).
    pub sessions_active: Vec<(String, &'static str, usize)>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BindLabels {
    operator: String,
    bind: String,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    operator: String,
    bearer: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    event: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BindEventLabels {
    operator: String,
    bind: String,
    kind: &'static str,
    event: &'static str,
}

impl Snapshot {
    fn register(&self, r: &mut Registry) {
        let up = Family::<BindLabels, Gauge>::default();
        let in_flight = Family::<BindLabels, Gauge>::default();
        let rate = Family::<BindLabels, Gauge<f64, AtomicU64>>::default();
        let events = Family::<BindEventLabels, Counter>::default();
        for (operator, b) in &self.binds {
            let l = BindLabels {
                operator: operator.clone(),
                bind: b.index.to_string(),
                kind: b.kind,
            };
            up.get_or_create(&l).set(i64::from(b.bound));
            in_flight.get_or_create(&l).set(b.in_flight as i64);
            rate.get_or_create(&l).set(b.rate);
            for (event, n) in [
                ("bound", b.binds),
                ("bind_rejected", b.rejected_binds),
                ("throttled", b.throttled),
                ("queue_full", b.queue_full),
                ("unknown", b.unknown),
                ("busy", b.busy),
                ("malformed", b.malformed),
            ] {
                let l = BindEventLabels {
                    operator: operator.clone(),
                    bind: b.index.to_string(),
                    kind: b.kind,
                    event,
                };
                events.get_or_create(&l).inc_by(n);
            }
        }
        let window = Family::<OperatorLabels, Gauge>::default();
        for (operator, size) in &self.windows {
            let l = OperatorLabels {
                operator: operator.clone(),
            };
            window.get_or_create(&l).set(*size as i64);
        }
        let outbox = Family::<EventLabels, Counter>::default();
        let o = &self.outbox;
        for (event, n) in [
            ("enqueued", o.enqueued),
            ("sent", o.sent),
            ("retried", o.retried),
            ("held", o.held),
            ("failed", o.failed),
            ("receipts", o.receipts),
        ] {
            outbox.get_or_create(&EventLabels { event }).inc_by(n);
        }
        let queue = Gauge::<i64>::default();
        queue.set(self.worker_queue as i64);
        let busy = Gauge::<i64>::default();
        busy.set(self.in_flight as i64);
        r.register("bind_up", "1 while the bind is bound", up);
        r.register(
            "bind_window_in_flight",
            "Requests in flight on the bind (its window occupancy)",
            in_flight,
        );
        r.register("bind_window_size", "The operator's window per bind", window);
        r.register(
            "bind_submit_rate",
            "The bind's submit rate limit now (per second; lowered after ESME_RTHROTTLED)",
            rate,
        );
        r.register(
            "bind_events",
            "Per bind since start: binds, rejected binds, ESME_RTHROTTLED, ESME_RMSGQFUL, submits \
             of unknown fate, inbound refused busy, malformed PDUs",
            events,
        );
        r.register(
            "outbox_messages",
            "Outbound SMS since start: enqueued, sent, retried, held, failed, receipts",
            outbox,
        );
        r.register(
            "worker_queue_depth",
            "Turns waiting in the subscribers' worker queues",
            queue,
        );
        r.register("turns_in_flight", "Turns accepted and not finished", busy);
        let active = Family::<SessionLabels, Gauge>::default();
        for (operator, bearer, n) in &self.sessions_active {
            let l = SessionLabels {
                operator: operator.clone(),
                bearer,
            };
            active.get_or_create(&l).set(*n as i64);
        }
        r.register(
            "sessions_active",
            "Conversations waiting for the citizen's answer and not idle, on this node",
            active,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdus(operator: &str, direction: Direction, status: CommandStatus) -> u64 {
        get()
            .pdu_counter(operator, direction, CommandId::SUBMIT_SM_RESP, status)
            .get()
    }

    #[test]
    fn kept_counters_and_those_past_the_cap_count_into_the_registry() {
        let op = "metrics-test-op";
        let mut c = PduCounters::new(op.into());
        for _ in 0..3 {
            c.count(Direction::In, CommandId::SUBMIT_SM_RESP, CommandStatus(0));
        }
        // More kinds than a bind keeps: every one still counted.
        let named: Vec<CommandStatus> = (1..0x100)
            .map(CommandStatus)
            .filter(|s| s.name() != "UNKNOWN")
            .collect();
        assert!(named.len() > PDU_KINDS_KEPT + 4, "{}", named.len());
        for &status in &named {
            c.count(Direction::In, CommandId::SUBMIT_SM_RESP, status);
            c.count(Direction::In, CommandId::SUBMIT_SM_RESP, status);
        }
        assert_eq!(pdus(op, Direction::In, CommandStatus(0)), 3);
        assert_eq!(pdus(op, Direction::Out, CommandStatus(0)), 0);
        for &status in &named {
            assert_eq!(pdus(op, Direction::In, status), 2, "{status}");
        }
        assert_eq!(c.seen.len(), PDU_KINDS_KEPT);
    }
}
