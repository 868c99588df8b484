//! Answers each control request: decodes it, does it, and encodes the
//! reply or a typed error. A request is never dropped.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use symphony_host::artifacts::{ArtifactMeta, ArtifactReader, SearchQuery};
use symphony_host::bus::Envelope;
use symphony_host::extension::{Capability, ExtensionSetup};
use symphony_host::protocol::Message;
use symphony_host::runs::ExecutionState;

use super::runs::{self, error_reply};
use super::{Shared, lock};
use crate::api::*;

/// An artifact being read chunk by chunk by one requester.
pub(crate) struct Download {
    next: u64,
    size: u64,
    reader: ArtifactReader,
}

/// Downloads kept open at most; the oldest is dropped past this.
const MAX_DOWNLOADS: usize = 64;

/// Answers one request on `symphony.v1.>`.
pub(crate) fn handle(shared: &Arc<Shared>, request: &Envelope) -> Envelope {
    let answer = dispatch(shared, request);
    let encoded = match answer {
        Ok(reply) => reply,
        Err(error) => error.to_envelope(""),
    };
    encoded.unwrap_or_else(|e| {
        let error = ErrorReply::new(ErrorKind::Internal, format!("cannot encode the reply: {e}"));
        // An error reply of two short strings always encodes.
        error
            .to_envelope("")
            .unwrap_or_else(|_| Envelope::new(ErrorReply::KIND, "", Vec::new()))
    })
}

type Answer = Result<Result<Envelope, symphony_host::protocol::ProtocolError>, ErrorReply>;

/// Decodes `request` as `R` and answers it with `f`.
fn answer<R: Request>(
    request: &Envelope,
    f: impl FnOnce(R) -> Result<R::Reply, ErrorReply>,
) -> Answer {
    let decoded = R::from_envelope(request)
        .map_err(|e| ErrorReply::new(ErrorKind::InvalidRequest, e.to_string()))?;
    Ok(f(decoded)?.to_envelope(""))
}

fn dispatch(shared: &Arc<Shared>, request: &Envelope) -> Answer {
    if request.subject != request.kind {
        return Err(ErrorReply::new(
            ErrorKind::InvalidRequest,
            format!(
                "a '{}' request travels on the subject '{}', not '{}'",
                request.kind, request.kind, request.subject
            ),
        ));
    }
    match request.kind.as_str() {
        RunStart::KIND => answer(request, |mut r: RunStart| {
            if r.workflow_path.is_some() {
                shared.may_name_paths(&request.sender)?;
            }
            (r.tenant, r.priority) = shared.claim_for(&request.sender, r.tenant, r.priority)?;
            runs::start(shared, r)
        }),
        RunStatusRequest::KIND => status(shared, request),
        RunList::KIND => answer(request, |r: RunList| {
            let store = shared.host.runs().map_err(error_reply)?;
            let runs = store
                .runs(r.limit)
                .map_err(|e| error_reply(symphony_host::runs::RunError::Store(e).into()))?;
            Ok(RunsReply { runs })
        }),
        RunPause::KIND => answer(request, |r: RunPause| {
            runs::steer(shared, &r.run, ExecutionState::Paused)
        }),
        RunCancel::KIND => answer(request, |r: RunCancel| {
            runs::steer(shared, &r.run, ExecutionState::Cancelled)
        }),
        RunResume::KIND => answer(request, |r: RunResume| runs::resume(shared, &r.run, false)),
        RunRetry::KIND => answer(request, |r: RunRetry| runs::resume(shared, &r.run, true)),
        RunReportRequest::KIND => {
            answer(request, |r: RunReportRequest| runs::report(shared, &r.run))
        }
        ExtList::KIND => answer(request, |_: ExtList| Ok(extensions(shared))),
        ExtLoad::KIND => answer(request, |r: ExtLoad| {
            shared.may_name_paths(&request.sender)?;
            load(shared, r)
        }),
        ExtUnload::KIND => answer(request, |r: ExtUnload| {
            shared.host.unload(&r.name).map_err(error_reply)?;
            Ok(Done {
                message: format!("unloaded {}", r.name),
            })
        }),
        ExtReload::KIND => answer(request, |r: ExtReload| {
            let report = shared.host.reload(&r.name).map_err(error_reply)?;
            Ok(Done {
                message: serde_json::to_string(&report).unwrap_or_default(),
            })
        }),
        ArtifactPut::KIND => answer(request, |r: ArtifactPut| {
            if r.path.is_some() {
                shared.may_name_paths(&request.sender)?;
            }
            put(shared, r)
        }),
        ArtifactGet::KIND => answer(request, |r: ArtifactGet| get(shared, &request.sender, r)),
        ArtifactSearch::KIND => answer(request, |r: ArtifactSearch| search(shared, r)),
        ArtifactInfoRequest::KIND => answer(request, |r: ArtifactInfoRequest| {
            let info = shared
                .host
                .artifacts()
                .info(&r.id)
                .map_err(artifact_error)?;
            Ok(ArtifactInfoReply {
                info: serde_json::to_value(info).unwrap_or(Value::Null),
            })
        }),
        StatsRequest::KIND => answer(request, |_: StatsRequest| Ok(stats(shared))),
        kind => Err(ErrorReply::new(
            ErrorKind::UnknownType,
            format!("'{kind}' is not a request of the control API"),
        )),
    }
}

/// Status replies of runs that ended for good kept at most.
const MAX_ENDED_STATUSES: usize = 4096;

/// A run's status: from the cache of ended runs, or the run store.
fn status(shared: &Shared, request: &Envelope) -> Answer {
    let run = RunStatusRequest::from_envelope(request)
        .map_err(|e| ErrorReply::new(ErrorKind::InvalidRequest, e.to_string()))?
        .run;
    if let Some(hit) = lock(&shared.ended_statuses).get(&run) {
        let reply = Envelope::new(hit.kind.clone(), "", hit.payload.clone());
        return Ok(Ok(reply.with_version(hit.version)));
    }
    let reply = runs::status(shared, &run)?;
    let ended = reply.live.is_none()
        && matches!(
            reply.status.summary.state,
            ExecutionState::Completed | ExecutionState::Cancelled
        );
    let envelope = reply.to_envelope("");
    if ended && let Ok(envelope) = &envelope {
        let mut cache = lock(&shared.ended_statuses);
        if cache.len() >= MAX_ENDED_STATUSES {
            cache.clear();
        }
        cache.insert(run, envelope.clone());
    }
    Ok(envelope)
}

fn extensions(shared: &Shared) -> ExtensionsReply {
    let extensions = shared
        .host
        .extensions()
        .into_iter()
        .map(|info| {
            json!({
                "name": info.name,
                "kind": info.kind.to_string(),
                "version": info.version.map(|v| v.to_string()),
                "state": info.state.to_string(),
                "path": info.path,
                "sha256": info.sha256,
                "wasi": info.wasi.map(|v| v.to_string()),
                "producers": info.producers,
            })
        })
        .collect();
    let failures = shared
        .host
        .load_failures()
        .into_iter()
        .map(|f| json!({"name": f.name, "path": f.path, "reason": f.reason}))
        .collect();
    ExtensionsReply {
        extensions,
        failures,
    }
}

fn load(shared: &Shared, request: ExtLoad) -> Result<ExtLoaded, ErrorReply> {
    let grants = request
        .grants
        .iter()
        .map(|text| {
            let (name, capability) = text.split_once(':').ok_or_else(|| {
                ErrorReply::new(
                    ErrorKind::InvalidRequest,
                    format!("grant '{text}': expected EXT:CAPABILITY"),
                )
            })?;
            let capability: Capability = capability.parse().map_err(|e| {
                ErrorReply::new(ErrorKind::InvalidRequest, format!("grant '{text}': {e}"))
            })?;
            Ok((name.to_string(), capability))
        })
        .collect::<Result<Vec<_>, ErrorReply>>()?;
    let setup = ExtensionSetup {
        grants,
        prompt: None,
    };
    let report = shared
        .host
        .load_extensions(&[PathBuf::from(&request.dir)], &setup)
        .map_err(error_reply)?;
    let mut warnings = Vec::new();
    for loaded in &report.loaded {
        warnings.extend(loaded.denied.iter().map(|d| format!("{} {d}", loaded.name)));
    }
    warnings.extend(report.notes.iter().cloned());
    warnings.extend(
        report
            .failed
            .iter()
            .map(|(name, reason)| format!("{name} failed to activate: {reason}")),
    );
    warnings.extend(
        report
            .not_loaded
            .iter()
            .map(|f| format!("{} could not be loaded: {}", f.name, f.reason)),
    );
    let mut loaded: Vec<String> = report.loaded.iter().map(|l| l.name.clone()).collect();
    loaded.extend(report.bare.iter().cloned());
    Ok(ExtLoaded { loaded, warnings })
}

fn artifact_error(error: symphony_host::artifacts::ArtifactError) -> ErrorReply {
    let kind = match error {
        symphony_host::artifacts::ArtifactError::NotFound(_) => ErrorKind::NotFound,
        _ => ErrorKind::Artifact,
    };
    ErrorReply::new(kind, error.to_string())
}

fn put(shared: &Shared, request: ArtifactPut) -> Result<ArtifactStored, ErrorReply> {
    let mut meta = ArtifactMeta::default().pinned(request.pin);
    meta.tags = request.tags;
    meta.name = request.name;
    meta.content_type = request.content_type;
    meta.fields = request.fields;
    meta.creator = request.creator;
    meta.parent_version = request.parent_version;
    meta.derived_from = request.derived_from;
    let store = shared.host.artifacts();
    let outcome = match (request.content, request.path) {
        (Some(content), _) => store.put_with(&content[..], &meta),
        (None, Some(path)) => {
            let file = std::fs::File::open(&path).map_err(|e| {
                ErrorReply::new(
                    ErrorKind::InvalidRequest,
                    format!("cannot read {path}: {e}"),
                )
            })?;
            store.put_with(file, &meta)
        }
        (None, None) => unreachable!("checked by ArtifactPut::check"),
    }
    .map_err(artifact_error)?;
    Ok(ArtifactStored {
        id: outcome.id,
        size: outcome.size,
        deduplicated: outcome.deduplicated,
        version: outcome.version.and_then(|v| serde_json::to_value(v).ok()),
    })
}

/// Reads the next chunk: from the requester's open download when it asks
/// for where that one stands, else from a freshly opened reader.
fn get(
    shared: &Shared,
    requester: &str,
    request: ArtifactGet,
) -> Result<ArtifactChunk, ErrorReply> {
    let key = (requester.to_string(), request.id.clone());
    let open = lock(&shared.downloads).remove(&key);
    let mut download = match open {
        Some(download) if download.next == request.offset => download,
        _ => {
            let store = shared.host.artifacts();
            let size = store.info(&request.id).map_err(artifact_error)?.size;
            let reader = store.open_artifact(&request.id).map_err(artifact_error)?;
            let mut download = Download {
                next: 0,
                size,
                reader,
            };
            // Skipping reads through: content may be compressed or
            // encrypted, so there is no seeking.
            let skipped = std::io::copy(
                &mut (&mut download.reader).take(request.offset),
                &mut std::io::sink(),
            )
            .map_err(|e| ErrorReply::new(ErrorKind::Artifact, e.to_string()))?;
            download.next = skipped;
            download
        }
    };
    let mut data = Vec::with_capacity(request.max as usize);
    (&mut download.reader)
        .take(u64::from(request.max))
        .read_to_end(&mut data)
        .map_err(|e| ErrorReply::new(ErrorKind::Artifact, e.to_string()))?;
    let chunk = ArtifactChunk {
        id: request.id,
        offset: download.next,
        size: download.size,
        data,
    };
    download.next += chunk.data.len() as u64;
    if download.next < download.size {
        let mut downloads = lock(&shared.downloads);
        if downloads.len() >= MAX_DOWNLOADS
            && let Some(oldest) = downloads.keys().next().cloned()
        {
            downloads.remove(&oldest);
        }
        downloads.insert(key, download);
    }
    Ok(chunk)
}

fn search(shared: &Shared, request: ArtifactSearch) -> Result<ArtifactHits, ErrorReply> {
    let query = SearchQuery {
        text: request.text,
        tags: request.tags,
        content_type: request.content_type,
        created_after_ms: request.created_after_ms,
        created_before_ms: request.created_before_ms,
        offset: request.offset,
        limit: request.limit,
    };
    let store = shared.host.artifacts();
    let page = store.search(&query).map_err(artifact_error)?;
    Ok(ArtifactHits::from_page(store, &page))
}

fn stats(shared: &Shared) -> StatsReply {
    StatsReply {
        pool: serde_json::to_value(shared.host.pool_stats()).unwrap_or(Value::Null),
        bus: shared
            .server_stats()
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null),
        runs: shared.runs.counts(),
        uptime_s: shared.started.elapsed().as_secs_f64(),
    }
}
