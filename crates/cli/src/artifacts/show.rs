//! `symphony artifacts info|ls|history|diff|stats`: what the catalog knows.

use std::io::{self, Write};
use std::process::ExitCode;

use std::io::IsTerminal;

use serde_json::{Value, json};
use symphony_host::artifacts::{ArtifactInfo, ArtifactStore, Highlight, ListQuery, SearchQuery};
use symphony_service::api::ArtifactHits;

use super::{DiffArgs, FilterArgs, HistoryArgs, InfoArgs, JsonArg, LsArgs, SearchArgs, resolve};
use crate::runs::age;

pub(super) fn info(store: &ArtifactStore, args: InfoArgs) -> anyhow::Result<ExitCode> {
    let id = resolve(store, &args.artifact)?;
    let info = store.info(&id)?;
    let names = store.names_of(&id)?;
    let parents = store.derived_from(&id)?;
    let children = store.derivatives(&id)?;
    if args.json {
        let doc = serde_json::json!({
            "artifact": info, "names": names, "derived_from": parents, "derivatives": children,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = io::stdout().lock();
    writeln!(out, "id          {}", info.id)?;
    writeln!(out, "size        {} bytes", info.size)?;
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    writeln!(out, "type        {}", or_none(&info.content_type))?;
    writeln!(out, "creator     {}", or_none(&info.creator))?;
    writeln!(out, "created     {}", age(info.created_ms.max(0) as u64))?;
    writeln!(out, "tags        {}", info.tags.join(", "))?;
    for (key, value) in &info.fields {
        writeln!(out, "field       {key} = {value}")?;
    }
    writeln!(
        out,
        "reads       {} (last {})",
        info.access_count,
        info.last_access_ms
            .map_or("never".into(), |ms| age(ms.max(0) as u64))
    )?;
    writeln!(out, "copies      {}", info.copies)?;
    writeln!(
        out,
        "location    {}{}",
        info.location.as_str(),
        if info.pinned { ", pinned" } else { "" }
    )?;
    writeln!(
        out,
        "quality     {:.2} (structure {:.2}, usage {:.2})",
        info.quality.score, info.quality.structure, info.quality.usage
    )?;
    if !names.is_empty() {
        writeln!(out, "names       {}", names.join(", "))?;
    }
    for parent in parents {
        writeln!(out, "derived from {parent}")?;
    }
    for child in children {
        writeln!(out, "derivative  {child}")?;
    }
    Ok(ExitCode::SUCCESS)
}

impl FilterArgs {
    /// The filter with its dates read: (filter, created after, created
    /// before) in Unix milliseconds.
    fn read(self) -> anyhow::Result<(FilterArgs, Option<i64>, Option<i64>)> {
        let after = self
            .since
            .as_deref()
            .map(|t| parse_time("--since", t))
            .transpose()?;
        let before = self
            .until
            .as_deref()
            .map(|t| parse_time("--until", t))
            .transpose()?;
        Ok((self, after, before))
    }
}

/// Unix milliseconds from `YYYY-MM-DD` (UTC midnight) or a number.
fn parse_time(flag: &str, text: &str) -> anyhow::Result<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let bad = || anyhow::anyhow!("{flag} {text}: expected YYYY-MM-DD or Unix milliseconds");
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days since the Unix epoch of a proleptic Gregorian date (Howard
    // Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok((era * 146_097 + doe - 719_468) * 86_400_000)
}

pub(super) fn ls(store: &ArtifactStore, args: LsArgs) -> anyhow::Result<ExitCode> {
    let (filter, created_after_ms, created_before_ms) = args.filter.read()?;
    let query = ListQuery {
        tags: filter.tags,
        content_type: filter.content_type,
        created_after_ms,
        created_before_ms,
        include_trashed: args.all,
        offset: args.offset,
        limit: args.limit,
    };
    let found = store.list(&query)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
        return Ok(ExitCode::SUCCESS);
    }
    if found.is_empty() {
        println!("no artifacts");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<16} {:>10} {:<18} {:>10} {:>5} {:>7}  TAGS",
        "ID", "SIZE", "TYPE", "CREATED", "READS", "QUALITY"
    );
    for info in &found {
        print_row(info);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_row(info: &ArtifactInfo) {
    println!(
        "{:<16} {:>10} {:<18} {:>10} {:>5} {:>7.2}  {}",
        &info.id[..16],
        info.size,
        info.content_type.as_deref().unwrap_or("-"),
        age(info.created_ms.max(0) as u64),
        info.access_count,
        info.quality.score,
        tag_list(&info.tags)
    );
}

/// Tags shown in a listing row before the rest are counted.
const SHOWN_TAGS: usize = 6;

/// The tags for one row: content output by many nodes carries a tag per
/// node, and one row must stay one line (`info` shows them all).
fn tag_list(tags: &[String]) -> String {
    let mut shown = tags[..tags.len().min(SHOWN_TAGS)].join(",");
    if tags.len() > SHOWN_TAGS {
        shown.push_str(&format!(" (+{} more)", tags.len() - SHOWN_TAGS));
    }
    shown
}

/// The query `args` asks for.
pub(super) fn search_query(args: &SearchArgs) -> anyhow::Result<SearchQuery> {
    anyhow::ensure!(args.page >= 1, "--page counts from 1");
    let (filter, created_after_ms, created_before_ms) = args.filter.clone().read()?;
    Ok(SearchQuery {
        text: args.query.clone(),
        tags: filter.tags,
        content_type: filter.content_type,
        created_after_ms,
        created_before_ms,
        offset: (args.page - 1).saturating_mul(args.limit),
        limit: args.limit,
    })
}

pub(super) fn search(store: &ArtifactStore, args: SearchArgs) -> anyhow::Result<ExitCode> {
    let page = store.search(&search_query(&args)?)?;
    let hits = ArtifactHits::from_page(store, &page);
    print_search(hits.total, &hits.hits, &args)
}

/// Prints a page of hits, each `{"id", "score", "highlight", "artifact",
/// "names"}` as the store and the service both give them.
pub(super) fn print_search(
    total: usize,
    hits: &[Value],
    args: &SearchArgs,
) -> anyhow::Result<ExitCode> {
    if args.json {
        let doc = json!({"total": total, "page": args.page, "hits": hits});
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    let (open, close) = if io::stdout().is_terminal() {
        ("\x1b[1m", "\x1b[0m")
    } else {
        ("**", "**")
    };
    let pages = total.div_ceil(args.limit.max(1));
    println!("{total} found (page {} of {})", args.page, pages.max(1));
    for hit in hits {
        let id = hit["id"].as_str().unwrap_or_default();
        let short = &id[..id.len().min(16)];
        let label = match hit["artifact"]["tags"].as_array() {
            Some(tags) => {
                let tags: Vec<&str> = tags.iter().filter_map(Value::as_str).collect();
                let name = hit["names"][0]
                    .as_str()
                    .map_or(String::new(), |n| format!(" {n}"));
                format!("{short}{name}  [{}]", tags.join(","))
            }
            None => short.to_string(),
        };
        println!(
            "\n{label}  score {:.2}",
            hit["score"].as_f64().unwrap_or(0.0)
        );
        if let Some(highlight) = highlight(&hit["highlight"]) {
            let snippet = highlight.to_marked(open, close).replace('\n', " ");
            println!("  {}", snippet.trim());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A highlight back from its JSON form.
fn highlight(value: &Value) -> Option<Highlight> {
    let ranges = value["ranges"]
        .as_array()?
        .iter()
        .map(|r| Some(r[0].as_u64()? as usize..r[1].as_u64()? as usize))
        .collect::<Option<Vec<_>>>()?;
    Some(Highlight {
        fragment: value["fragment"].as_str()?.to_string(),
        offset: value["offset"].as_u64()? as usize,
        ranges,
    })
}

pub(super) fn history(store: &ArtifactStore, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let versions = store.history(&args.name)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&versions)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:>7} {:>6} {:<16} {:>10} {:>10}  CREATOR",
        "VERSION", "PARENT", "ID", "SIZE", "CREATED"
    );
    for v in versions {
        println!(
            "{:>7} {:>6} {:<16} {:>10} {:>10}  {}",
            v.version,
            v.parent.map_or("-".into(), |p| p.to_string()),
            &v.id[..16],
            v.size,
            age(v.created_ms.max(0) as u64),
            v.creator.as_deref().unwrap_or("-")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn diff(store: &ArtifactStore, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let to = match args.to {
        Some(to) => to,
        None => store.version(&args.name, None)?.version,
    };
    let diff = store.diff(&args.name, args.from, to)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else if diff.unified.is_empty() {
        println!(
            "{}@{} and {}@{to} are the same",
            args.name, args.from, args.name
        );
    } else {
        print!("{}", diff.unified);
    }
    Ok(ExitCode::SUCCESS)
}

pub(super) fn stats(store: &ArtifactStore, args: JsonArg) -> anyhow::Result<ExitCode> {
    let stats = store.stats()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!(
            "{} puts, {} unique artifacts, {} bytes stored, {} bytes saved by dedup (ratio {:.2})",
            stats.puts,
            stats.unique_objects,
            stats.bytes_stored,
            stats.bytes_saved,
            stats.dedup_ratio
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
