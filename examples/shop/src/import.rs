//! `POST /api/stock/import`: a restock list of any length, applied line by line as it arrives.
//!
//! The body is newline-delimited JSON, one [`Restock`](crate::Restock)-shaped line each
//! (`{"id":1,"quantity":5}`). Taking a [`RequestBody`] instead of an `HttpRequest`'s whole
//! body, the function holds one chunk at a time: with `forward_http_requests` (or over `HttpUri`)
//! a large upload is never buffered whole, and the app's body limit applies to what arrives.

use crate::{Catalog, Restock};
use azfn::RequestBody;
use azfn::prelude::*;

/// What an import did.
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// Lines applied.
    pub applied: u32,
    /// Lines naming an item the catalog does not have.
    pub unknown: Vec<u32>,
}

/// Applies each line of the body as soon as it is complete.
#[function(http_trigger(route = "stock/import", methods = "post", auth_level = "anonymous"))]
pub async fn import_stock(mut body: RequestBody, catalog: State<Catalog>) -> azfn::Result<Json<ImportReport>> {
    let mut report = ImportReport {
        applied: 0,
        unknown: Vec::new(),
    };
    let mut pending = Vec::new();
    while let Some(chunk) = body.chunk().await {
        pending.extend_from_slice(&chunk?);
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            apply(&line, &catalog, &mut report)?;
        }
    }
    apply(&pending, &catalog, &mut report)?;
    tracing::info!(applied = report.applied, "imported stock");
    Ok(Json(report))
}

fn apply(line: &[u8], catalog: &Catalog, report: &mut ImportReport) -> azfn::Result<()> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let restock: Restock = serde_json::from_slice(line)
        .map_err(|e| azfn::Error::bad_request(format!("line {}: {e}", report.applied + 1)))?;
    match catalog.add_stock(restock.id, restock.quantity) {
        Some(_) => report.applied += 1,
        None => report.unknown.push(restock.id),
    }
    Ok(())
}
