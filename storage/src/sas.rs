//! Shared access signatures: the one place an account key is used.
//!
//! The Azure SDK for Rust 1.x storage clients take Entra ID tokens or SAS URLs, not shared
//! keys; with an account key (Azurite's well-known one, or a connection string's `AccountKey`)
//! the host signs an account SAS for the blob and queue services and hands the SDK URLs that
//! carry it, with no credential. [`blob_service_sas`] signs the narrower service SAS for one
//! blob, which `cargo azfn deploy` gives a Linux Consumption app as its package URL.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use azfn_bindings::percent::encode_component;

use crate::clock;

/// The service version whose string-to-sign the signature follows (it has the encryption
/// scope line).
const SIGNED_VERSION: &str = "2021-08-06";

/// Blob and queue services.
const SIGNED_SERVICES: &str = "bq";
/// Service, container (and queue) and object operations.
const SIGNED_RESOURCE_TYPES: &str = "sco";
/// Read, write, delete, list, add, create, update, process: all a host does to queues and
/// blobs.
const SIGNED_PERMISSIONS: &str = "rwdlacup";

/// How long a signature is valid; clients are re-signed long before (see
/// [`crate::account::StorageAccount`]).
pub const VALIDITY_SECONDS: i64 = 7 * 86_400;

/// The query string of an account SAS (`sv=…&ss=…&sig=…`, without `?`) signed with `key` for
/// `account`, valid from five minutes ago (clock skew) for [`VALIDITY_SECONDS`].
pub fn account_sas(account: &str, key: &[u8], now_unix: i64) -> String {
    let start = clock::iso_utc_seconds(now_unix - 300);
    let expiry = clock::iso_utc_seconds(now_unix + VALIDITY_SECONDS);
    let protocol = "https,http";
    // The account SAS string-to-sign for versions 2020-12-06 and later, the last line being the
    // (empty) encryption scope.
    let string_to_sign = [
        account,
        SIGNED_PERMISSIONS,
        SIGNED_SERVICES,
        SIGNED_RESOURCE_TYPES,
        &start,
        &expiry,
        "",
        protocol,
        SIGNED_VERSION,
        "",
        "",
    ]
    .join("\n");
    signed_query(
        key,
        &string_to_sign,
        &[
            ("sv", SIGNED_VERSION),
            ("ss", SIGNED_SERVICES),
            ("srt", SIGNED_RESOURCE_TYPES),
            ("sp", SIGNED_PERMISSIONS),
            ("st", &start),
            ("se", &expiry),
            ("spr", protocol),
        ],
    )
}

/// The query string of a blob service SAS (`sv=…&sr=b&sp=…&sig=…`, without `?`) for blob
/// `blob` of `container` in `account`, signed with `key`: `permissions` (`r` for read-only)
/// from `start_unix` to `expiry_unix`, over https or http.
///
/// Follows the service SAS string-to-sign of version 2020-12-06 and later ("Create a service
/// SAS" in the Storage REST reference): no stored access policy, IP range, snapshot,
/// encryption scope or response-header overrides, so those lines are empty.
pub fn blob_service_sas(
    account: &str,
    key: &[u8],
    container: &str,
    blob: &str,
    permissions: &str,
    start_unix: i64,
    expiry_unix: i64,
) -> String {
    let start = clock::iso_utc_seconds(start_unix);
    let expiry = clock::iso_utc_seconds(expiry_unix);
    let protocol = "https,http";
    let signed_resource = "b";
    // The resource is named by its decoded path, under the service's name.
    let canonicalized_resource = format!("/blob/{account}/{container}/{blob}");
    let string_to_sign = [
        permissions,
        &start,
        &expiry,
        &canonicalized_resource,
        "", // signed identifier (stored access policy)
        "", // signed IP
        protocol,
        SIGNED_VERSION,
        signed_resource,
        "", // snapshot time
        "", // encryption scope
        "", // rscc: Cache-Control
        "", // rscd: Content-Disposition
        "", // rsce: Content-Encoding
        "", // rscl: Content-Language
        "", // rsct: Content-Type
    ]
    .join("\n");
    signed_query(
        key,
        &string_to_sign,
        &[
            ("sv", SIGNED_VERSION),
            ("sr", signed_resource),
            ("sp", permissions),
            ("st", &start),
            ("se", &expiry),
            ("spr", protocol),
        ],
    )
}

/// `fields`, then `sig` (the HMAC-SHA256 of `string_to_sign` with `key`), as a query string.
fn signed_query(key: &[u8], string_to_sign: &str, fields: &[(&str, &str)]) -> String {
    let signature = BASE64.encode(hmac_sha256(key, string_to_sign.as_bytes()));
    fields
        .iter()
        .copied()
        .chain([("sig", signature.as_str())])
        .map(|(name, value)| format!("{name}={}", encode_component(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn the_query_carries_every_signed_field() {
        // 2024-01-01T00:00:00Z.
        let query = account_sas("devstoreaccount1", b"key", 1_704_067_200);
        assert!(query.starts_with("sv=2021-08-06&ss=bq&srt=sco&sp=rwdlacup&"), "{query}");
        assert!(query.contains("st=2023-12-31T23%3A55%3A00Z"), "{query}");
        assert!(query.contains("se=2024-01-08T00%3A00%3A00Z"), "{query}");
        assert!(query.contains("spr=https%2Chttp"), "{query}");
        let signature = query.rsplit_once("sig=").unwrap().1;
        assert!(
            !signature.contains('+') && !signature.contains('/'),
            "percent-encoded: {signature}"
        );
    }

    #[test]
    fn a_blob_service_sas_names_the_blob_and_its_window() {
        // 2024-01-01T00:00:00Z, for ten years (2034-01-01, with the leap days between).
        let start = 1_704_067_200;
        let query = blob_service_sas("acct", b"key", "function-releases", "a.zip", "r", start, 2_019_686_400);
        assert!(query.starts_with("sv=2021-08-06&sr=b&sp=r&"), "{query}");
        assert!(query.contains("st=2024-01-01T00%3A00%3A00Z"), "{query}");
        assert!(query.contains("se=2034-01-01T00%3A00%3A00Z"), "{query}");
        // The signature covers the blob: another blob, another signature.
        let other = blob_service_sas("acct", b"key", "function-releases", "b.zip", "r", start, 2_019_686_400);
        assert_ne!(
            query.rsplit_once("sig=").unwrap().1,
            other.rsplit_once("sig=").unwrap().1
        );
    }
}
