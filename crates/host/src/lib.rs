//! Symphony's host: runs workflows of WebAssembly component extensions.
//!
//! ```
//! use symphony_host::{Host, workflow::Workflow};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = tempfile::tempdir()?;
//! let host = Host::builder().home(home.path()).build()?;
//!
//! // Extensions are components built for wasm32-wasip2; this host has none
//! // loaded yet, so the workflow names an extension it cannot find.
//! let workflow = Workflow::from_json(
//!     r#"{"schema_version": 1, "name": "demo",
//!         "nodes": [{"id": "llm", "kind": "instrument", "extension": "mock-llm"}]}"#,
//!     "demo.json",
//! )?;
//! let err = host.validate(&workflow).unwrap_err();
//! assert!(err.to_string().contains("node 'llm': unknown extension 'mock-llm'"));
//! # Ok(())
//! # }
//! ```
//!
//! With the example extensions built (`cargo xtask build-examples`), a run
//! looks like this:
//!
//! ```no_run
//! use symphony_host::{Host, extension::NodeConfig, workflow::Workflow};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = Host::builder().build()?;
//! host.load_dir("target/components")?;
//!
//! // Call an extension directly ...
//! let llm = host.instrument("mock-llm")?;
//! let answer = llm.invoke(&NodeConfig::default(), r#"{"text": "Wasm is fast. Wasm is safe."}"#)?;
//!
//! // ... or run a workflow of them.
//! let workflow = Workflow::from_file("examples/workflows/demo.json")?;
//! let report = host.run(&workflow, &json!({"text": "Symphony runs extensions."}))?;
//! println!("{answer}\n{}", report.output.unwrap_or_default());
//! # Ok(())
//! # }
//! ```
//!
//! # Core concepts
//!
//! - **[`Host`]** owns one wasmtime engine (pooling allocator, fuel, epoch
//!   deadlines), a linker built once, an on-disk cache of compiled
//!   components, and the loaded extensions.
//! - **Extensions** are components exporting one of three worlds of the WIT
//!   package `symphony:extension@0.1.1` (0.1.0 components load too):
//!   [`Instrument`](extension::Instrument), [`Operator`](extension::Operator) or [`Addon`](extension::Addon). Each call runs under
//!   [`Limits`](extension::Limits) (fuel, deadline, memory, log output) in an instance from the
//!   extension's pool, on wasmtime's async support: the deadline, a node's or
//!   run's timeout and an [`Interrupt`](extension::Interrupt) stop it in guest code and while it
//!   waits in a host call alike; a trapped or stopped instance is discarded.
//!   An extension that cannot be loaded fails alone ([`Host::load_failures`]).
//! - **Grants** ([`Grants`](extension::Grants)) are all an extension may reach: WASI sees only
//!   granted directories, variables and `net` addresses, every host import
//!   checks its capability and answers `denied` rather than trapping, and
//!   every refusal is recorded in the [`AuditLog`](extension::AuditLog).
//! - **The Pool Manager** keeps every Instrument and Operator instance on
//!   the lifecycle Cold → Warming → Hot → Cooling → Cold (or Failed →
//!   Cold), in a host-wide LRU of Hot instances within a count and memory
//!   budget ([`HostBuilder::pool_budget`]); it prewarms ([`Host::prewarm`],
//!   [`Host::prewarm_predicted`] from a [`UsageHistory`](pool::UsageHistory)), health-checks
//!   ([`Host::check_health`]), drains ([`Host::drain`]) and reports
//!   [`Host::pool_stats`]; [`Host::pool_listeners`] hears every transition.
//! - **Workflows** ([`Workflow`](workflow::Workflow)) are DAGs of Instrument, Operator and
//!   [`Control`](workflow::Control) nodes (branch, merge, map) with typed [`Port`](workflow::Port)s;
//!   [`Host::run`] validates one and hands it to the DAG Tracker, which
//!   runs ready nodes in parallel ([`RunOptions`](runs::RunOptions)), applies each node's
//!   timeout and [`RecoveryPolicy`](workflow::RecoveryPolicy), checkpoints every finished node in the
//!   [`RunStore`](runs::RunStore) (so [`Host::resume`] continues a killed run), takes
//!   pause/resume/cancel through a [`RunControl`](runs::RunControl) and streams
//!   [`ExecEvent`](runs::ExecEvent)s; it returns a [`RunReport`](runs::RunReport) that Addons can render.
//! - **Templates** ([`Template`](workflow::Template)) are workflows with typed parameters,
//!   checked and filled in by [`Template::instantiate`](workflow::Template::instantiate); a
//!   [`TemplateLibrary`](workflow::TemplateLibrary) finds them on disk by id, version, text and tags.
//! - **The bus** ([`Bus`](bus::Bus)) routes [`Envelope`](bus::Envelope)s by subject (`*` and `>`
//!   wildcards): publish/subscribe, request/reply, queue groups, bounded
//!   queues with a [`SlowPolicy`](bus::SlowPolicy), handlers served in place
//!   ([`Bus::serve`](bus::Bus::serve)), metrics. Runs publish their events on
//!   `exec.<run-id>.>`; extensions publish as themselves when granted.
//!   A [`BusServer`](bus::BusServer) serves the bus to other processes over a local socket
//!   or shared memory; they connect with [`protocol::client::Client`].
//! - **The Artifact Store** ([`ArtifactStore`](artifacts::ArtifactStore), [`Host::artifacts`]) keeps
//!   content by SHA-256 (deduplicated, streamed, optionally AES-256-GCM
//!   encrypted) with a SQLite catalog of [`ArtifactMeta`](artifacts::ArtifactMeta)data: tags, fields,
//!   named versions ([`ArtifactStore::history`](artifacts::ArtifactStore::history), [`ArtifactStore::diff`](artifacts::ArtifactStore::diff)),
//!   derived-from links, read counts and [`Quality`](artifacts::Quality) scores; a Tantivy index
//!   answers [`ArtifactStore::search`](artifacts::ArtifactStore::search) with filters and highlights. Every
//!   run keeps its node outputs there ([`RunOptions::store_outputs`](runs::RunOptions::store_outputs)).
//! - **The Stale Manager** applies a [`RetentionPolicy`](artifacts::stale::RetentionPolicy) (TOML) to a
//!   [`Shelf`](artifacts::stale::Shelf) of [`ArtifactFacts`](artifacts::stale::ArtifactFacts): [`evaluate`](artifacts::stale::evaluate) scores every artifact and
//!   decides keep / archive / delete with reasons, never deleting a pinned,
//!   keep-tagged or training artifact; [`clean`](artifacts::stale::clean) carries that out — idle
//!   artifacts to a compressed warm directory or a cold [`TierStore`](artifacts::stale::TierStore)
//!   (any `object_store`), worthless ones to a [`Trash`](artifacts::stale::Trash) with undo —
//!   throttled, or as a dry run; a [`StaleManager`](artifacts::stale::StaleManager) runs it on a [`Schedule`](artifacts::stale::Schedule)
//!   ([`ArtifactStore::clean`](artifacts::ArtifactStore::clean) by hand, [`HostBuilder::retention`] in the
//!   background); archived artifacts read back transparently.
//!
//! # Crate features
//!
//! - `s3` (off): an S3 or S3-compatible cold tier for the Stale Manager
//!   (`TierStore::with_s3`, `[cold] kind = "s3"`); pulls in `object_store`'s
//!   AWS client (reqwest, rustls, aws-lc).
//!
//! # Crates
//!
//! This crate is the top of a workspace of layer crates, each usable on its
//! own: `symphony-protocol` (bus wire format and client), `symphony-bus`,
//! `symphony-manifest` (the extension contract as data), `symphony-workflow`
//! (workflows and templates, no engine), `symphony-artifacts` (Artifact Store
//! and Stale Manager), `symphony-runtime` (engine, instances, Pool Manager)
//! and `symphony-dag` (DAG Tracker). Its modules re-export the parts an
//! embedder uses, by concern.
//!
//! `wasmtime` is re-exported so embedders build against the same version.

#![deny(missing_docs)]

mod error;
mod host;
pub mod schema;

pub use error::Error;
pub use host::{Host, HostBuilder, default_home, default_tenant};

pub mod extension {
    //! Extensions: their manifests, grants and permissions, the handles
    //! that call them, their limits and errors, loading, reloading and
    //! watching them (`symphony-manifest` and `symphony-runtime`).
    pub use crate::host::discovery::{LoadFailure, MANIFEST_FILE, discover};
    pub use crate::host::loader::{ExtensionSetup, LoadReport, LoadedExtension};
    pub use crate::host::reload::ReloadReport;
    pub use crate::host::watch::{ReloadEvent, SETTLE, Watcher};
    pub use symphony_bus::Interrupt;
    pub use symphony_manifest::{
        ArtifactAccess, AuditError, AuditLog, AuditQuery, AuditRecord, BuildSpec, Candidate,
        Capabilities, Capability, Chain, ConfigKey, ConfigSchema, CrashPolicy,
        DEFAULT_RESOLVE_STEPS, DecidedBy, Decision, Denial, Dependency, DirGrant, ExtError,
        ExtensionKind, FsAccess, FsCapability, GrantStore, Grants, Language, LifecycleState,
        Limits, LogLimits, Manifest, ManifestError, ManifestKind, ManifestLimits, ManifestProblem,
        NameVersion, ParseCapabilityError, PermissionError, PermissionOutcome, PermissionRequest,
        Permissions, Policy, PolicyError, Prompt, Recorded, Requirement, Resolution, ResolveError,
        ResolveNote, ResolveProblem, Roots, Rule, Transition, TransitionError, VersionGrants,
        http_allows, net_allows, resolve, resolve_within,
    };
    pub use symphony_runtime::extension::{
        Addon, CallLatency, ErrorCounts, ExtensionInfo, Health, Instrument, LatencyBucket,
        LoadOptions, MetricsSnapshot, NodeConfig, Operator, UiEvent, VNode, render_text,
    };
    pub use symphony_runtime::{
        ActivateError, CacheStats, CallError, ComponentInfo, ComponentItemInfo, ConfigError,
        EngineSettings, LoadError, Producer, SetupError,
    };
}

pub mod pool {
    //! The Pool Manager: instance lifecycles, the hot set, prewarming,
    //! health checks, draining and their reports (`symphony-runtime`).
    pub use symphony_runtime::pool::{
        DrainReport, ExtensionPoolStats, HealthReport, HotSet, HotSetError, HotSetStats,
        InstanceLifecycle, InvalidTransition, Listener, ListenerId, Listeners, LoadTime,
        PoolCounts, PoolSettings, PoolState, PoolStats, PoolTransition, PrewarmEntry,
        PrewarmOutcome, PrewarmReport, UsageHistory,
    };
}

pub mod arbitration {
    //! The Arbitration Engine: resources, requesters, the five strategies,
    //! explanations, budgets, fairness measures, stats and the decision log
    //! (`symphony-arbitration`).
    pub use symphony_arbitration::fairness;
    pub use symphony_arbitration::{
        Arbiter, ArbitrationConfig, BudgetExhausted, ConfigError, Conflict, Decision, DecisionSink,
        Explanation, LogConfig, LogError, LogQuery, MAX_BUDGET, Permit, Requester, ResourceConfig,
        ResourceStats, SlotsConfig, SqliteLog, Stats, StrategyKind, Tenant, TenantConfig,
        TenantStats, Units, Verdict, WaitError, human_ms,
    };
}

pub mod workflow {
    //! Workflows and templates: the model, its builder, formats and
    //! validation, recovery policies (`symphony-workflow`).
    pub use symphony_workflow::template::{
        ParamType, Parameter, Template, TemplateError, TemplateLibrary,
    };
    pub use symphony_workflow::{
        AddonView, BackoffPolicy, Branch, Case, Control, DEFAULT_MAX_BACKOFF_MS, Edge, EdgeKind,
        FailureKind, Format, MapBody, MergeMode, Metadata, Node, NodeKind, Plan, Port, PortType,
        PortTypeError, Problem, RecoveryError, RecoveryPolicy, Workflow, WorkflowBuilder,
        WorkflowError,
    };
}

pub mod runs {
    //! Running workflows: options, control, events, reports and the run
    //! store (`symphony-dag`).
    pub use symphony_dag::{
        Checkpoint, CheckpointFuture, Directive, ExecEvent, ExecutionState, KindMetrics, NodeError,
        NodeRecord, NodeReport, NodeState, Progress, ResumeRefusal, RunControl, RunError, RunEvent,
        RunMetrics, RunOptions, RunReport, RunStatus, RunStore, RunStoreError, RunSummary,
        RunTransitionError, StateChange, new_run_id,
    };
}

pub mod artifacts {
    //! The Artifact Store, and the Stale Manager in [`stale`]
    //! (`symphony-artifacts`).
    pub use symphony_artifacts::stale;
    pub use symphony_artifacts::{
        ARTIFACT_KEY_ENV, ArtifactError, ArtifactInfo, ArtifactKey, ArtifactMeta, ArtifactReader,
        ArtifactStore, DedupStats, Highlight, IndexDoc, ListQuery, Location, PutOutcome, Quality,
        RebuildReason, SearchHit, SearchIndex, SearchPage, SearchQuery, StoreOptions, TextDiff,
        VerifyReport, VersionInfo, content_id,
    };
}

pub mod bus {
    //! The message bus, its server for other processes, and its stats
    //! (`symphony-bus`).
    pub use symphony_bus::{
        Bus, BusError, BusServer, BusStats, ERROR_KIND_HEADER, Envelope, Knock, LatencyStats,
        PeerAccess, PeerCredentials, PeerGate, PeerStats, RecvError, Refusal, ServerError,
        ServerOptions, ServerStats, Service, SlowPolicy, SubjectStats, SubscribeOptions,
        Subscription, SubscriptionStats, subject_matches,
    };
}

#[doc(hidden)]
pub mod __internal {
    //! Support for the benches; not part of the API and not stable.
    pub use crate::host::checkout_checkin;
}

pub use symphony_protocol as protocol;
pub use wasmtime;

// Embedders share a host and its handles across threads.
const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Host>();
    shareable::<extension::Instrument>();
    shareable::<extension::Operator>();
    shareable::<extension::Addon>();
};
