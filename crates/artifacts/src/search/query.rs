//! Turning a [`SearchQuery`] into a tantivy query and its results into a
//! [`SearchPage`].

use std::ops::Bound;

use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, RangeQuery, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Index, Order, Searcher, TantivyDocument, TantivyError, Term};

use super::schema::{Fields, normalize_content_type};
use super::{Highlight, SearchHit, SearchPage, SearchQuery};

/// Characters of text around the matched terms in a highlight.
const SNIPPET_CHARS: usize = 200;

/// A query parser over the fields a user's words are looked up in: the
/// text, names (whole or by word), tags, creator and custom fields. Words
/// are joined with AND: each must match somewhere.
pub(super) fn parser(index: &Index, f: &Fields) -> QueryParser {
    let mut parser = QueryParser::for_index(
        index,
        vec![f.text, f.names, f.name_raw, f.tags, f.creator, f.fields],
    );
    parser.set_conjunction_by_default();
    // A word in an artifact's name or tags says more about it than the
    // same word somewhere in its content.
    parser.set_field_boost(f.names, 3.0);
    parser.set_field_boost(f.name_raw, 3.0);
    parser.set_field_boost(f.tags, 2.0);
    parser
}

/// Checks the page asked for; the message says what is allowed.
pub(super) fn check_page(q: &SearchQuery) -> Result<(), String> {
    if q.limit > SearchQuery::MAX_LIMIT {
        return Err(format!(
            "a page of {} hits is more than the {} allowed; ask for fewer and page with offset",
            q.limit,
            SearchQuery::MAX_LIMIT
        ));
    }
    match q.offset.checked_add(q.limit) {
        Some(end) if end <= SearchQuery::MAX_WINDOW => Ok(()),
        _ => Err(format!(
            "offset {} + limit {} reaches past hit {}, the deepest a search pages; \
             narrow the query with text or filters instead",
            q.offset,
            q.limit,
            SearchQuery::MAX_WINDOW
        )),
    }
}

/// The user's words, parsed leniently: what cannot be parsed is dropped or
/// matches nothing, it never fails. `None` when there are no words.
pub(super) fn text_query(parser: &QueryParser, text: &str) -> Option<Box<dyn Query>> {
    if text.trim().is_empty() {
        return None;
    }
    let (query, errors) = parser.parse_query_lenient(text);
    if !errors.is_empty() {
        tracing::debug!(
            ?errors,
            text,
            "parts of an artifact search were not understood"
        );
    }
    Some(query)
}

/// Whether `e` comes from the shape of the user's query rather than from
/// the index: a lenient parse still lets through a few forms that fail
/// only when run, e.g. `nofield:*` (exists on an unknown field).
pub(super) fn is_query_error(e: &TantivyError) -> bool {
    matches!(
        e,
        TantivyError::FieldNotFound(_)
            | TantivyError::InvalidArgument(_)
            | TantivyError::SchemaError(_)
    )
}

/// The user's text with every character that is not part of a word made a
/// space: plain words, which parse into nothing but terms on the default
/// fields.
pub(super) fn plain_words(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect()
}

/// The whole query: the words (if any) and every filter, all required. The
/// filters do not change the score.
pub(super) fn full_query(f: &Fields, text: Option<&dyn Query>, q: &SearchQuery) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    if let Some(text) = text {
        clauses.push((Occur::Must, text.box_clone()));
    }
    let filter = |query: Box<dyn Query>| -> (Occur, Box<dyn Query>) {
        (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
    };
    for tag in &q.tags {
        let term = Term::from_field_text(f.tags, tag);
        clauses.push(filter(Box::new(TermQuery::new(
            term,
            IndexRecordOption::Basic,
        ))));
    }
    if let Some(content_type) = &q.content_type {
        let term = Term::from_field_text(f.content_type, &normalize_content_type(content_type));
        clauses.push(filter(Box::new(TermQuery::new(
            term,
            IndexRecordOption::Basic,
        ))));
    }
    if q.created_after_ms.is_some() || q.created_before_ms.is_some() {
        let bound = |ms: Option<i64>, inclusive: bool| match ms {
            None => Bound::Unbounded,
            Some(ms) if inclusive => Bound::Included(Term::from_field_i64(f.created_ms, ms)),
            Some(ms) => Bound::Excluded(Term::from_field_i64(f.created_ms, ms)),
        };
        clauses.push(filter(Box::new(RangeQuery::new(
            bound(q.created_after_ms, true),
            bound(q.created_before_ms, false),
        ))));
    }
    match clauses.len() {
        0 => Box::new(AllQuery),
        1 if text.is_some() => clauses.remove(0).1,
        _ => Box::new(BooleanQuery::new(clauses)),
    }
}

/// Runs `query` and builds the page: ranked by score when there are words,
/// newest first when there are none.
pub(super) fn run(
    searcher: &Searcher,
    f: &Fields,
    query: &dyn Query,
    text: Option<&dyn Query>,
    q: &SearchQuery,
) -> Result<SearchPage, TantivyError> {
    if q.limit == 0 {
        let total = searcher.search(query, &Count)?;
        return Ok(SearchPage {
            total,
            hits: Vec::new(),
            pending_index: 0,
        });
    }
    let top = TopDocs::with_limit(q.limit).and_offset(q.offset);
    let (total, ranked): (usize, Vec<(f32, DocAddress)>) = if text.is_some() {
        searcher.search(query, &(Count, top.order_by_score()))?
    } else {
        let (total, newest) = searcher.search(
            query,
            &(
                Count,
                top.order_by_fast_field::<i64>("created_ms", Order::Desc),
            ),
        )?;
        // Without words every hit scores the same.
        (total, newest.into_iter().map(|(_, a)| (1.0, a)).collect())
    };
    let snippets = match text {
        Some(text) => {
            let mut generator = SnippetGenerator::create(searcher, text, f.text)?;
            generator.set_max_num_chars(SNIPPET_CHARS);
            Some(generator)
        }
        None => None,
    };
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, address) in ranked {
        let doc: TantivyDocument = searcher.doc(address)?;
        let field_str = |field| doc.get_first(field).and_then(|v| v.as_str());
        let id = field_str(f.id).unwrap_or_default().to_string();
        let highlight = match (&snippets, field_str(f.snippet)) {
            (Some(generator), Some(stored)) => {
                let snippet = generator.snippet(stored);
                (!snippet.highlighted().is_empty()).then(|| Highlight::new(&snippet))
            }
            _ => None,
        };
        hits.push(SearchHit {
            id,
            score,
            highlight,
        });
    }
    Ok(SearchPage {
        total,
        hits,
        pending_index: 0,
    })
}
