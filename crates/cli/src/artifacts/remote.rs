//! `artifacts put` and `artifacts search` through a running service, which
//! holds the search index.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use symphony_service::ServiceClient;
use symphony_service::api::{ArtifactPut, ArtifactSearch, MAX_INLINE};

use super::show::{print_search, search_query};
use super::{PutArgs, SearchArgs, print_put};

pub(super) fn put(client: &ServiceClient, args: &PutArgs) -> anyhow::Result<ExitCode> {
    let mut request = ArtifactPut {
        name: args.name.clone(),
        tags: args.tags.clone(),
        content_type: args.content_type.clone(),
        fields: args.fields()?,
        creator: args.creator(),
        parent_version: args.parent_version,
        derived_from: args.derived_from.clone(),
        pin: args.pin,
        ..ArtifactPut::default()
    };
    // Kept until the service has read it.
    let mut _spill = None;
    if args.file.as_os_str() == "-" {
        let mut content = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut content)
            .context("reading stdin")?;
        if content.len() <= MAX_INLINE {
            request.content = Some(content);
        } else {
            // Too large for one message: the service reads it from a file.
            let mut file = tempfile::NamedTempFile::new().context("spilling stdin")?;
            std::io::Write::write_all(&mut file, &content).context("spilling stdin")?;
            request.path = Some(file.path().display().to_string());
            _spill = Some(file);
        }
    } else {
        let opening = || format!("opening {}", args.file.display());
        let size = std::fs::metadata(&args.file).with_context(opening)?.len();
        if size <= MAX_INLINE as u64 {
            request.content = Some(std::fs::read(&args.file).with_context(opening)?);
        } else {
            // The service streams a large file from where it lies.
            let path = std::fs::canonicalize(&args.file).with_context(opening)?;
            request.path = Some(path.display().to_string());
        }
    }
    let stored = client.call(&request)?;
    let outcome = serde_json::json!({
        "id": stored.id,
        "size": stored.size,
        "deduplicated": stored.deduplicated,
        "version": stored.version,
    });
    print_put(&outcome, args.json)
}

pub(super) fn search(client: &ServiceClient, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let query = search_query(args)?;
    let reply = client.call(&ArtifactSearch {
        text: query.text,
        tags: query.tags,
        content_type: query.content_type,
        created_after_ms: query.created_after_ms,
        created_before_ms: query.created_before_ms,
        offset: query.offset,
        limit: query.limit,
    })?;
    print_search(reply.total, &reply.hits, args)
}
