//! Export to Application Insights (feature `application-insights`): the track API exporter of
//! `opentelemetry-application-insights`, built from `APPLICATIONINSIGHTS_CONNECTION_STRING`.

use std::time::Duration;

use opentelemetry_application_insights::Exporter;

use crate::ExportError;

/// The setting the Functions host reads its Azure Monitor exporter's connection string from.
pub(crate) const CONNECTION_STRING: &str = "APPLICATIONINSIGHTS_CONNECTION_STRING";

/// How long one upload may take (the exporter retries a failed one for up to 35 s, unless the
/// SDK's flush or shutdown timeout ends it first).
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(10);

/// The exporter for `connection_string`, posting with reqwest's blocking client (the one the
/// OTLP exporter uses). A connection string the exporter cannot read is an error naming the
/// setting.
pub(crate) fn exporter(connection_string: &str) -> Result<Exporter<reqwest::blocking::Client>, ExportError> {
    // Built on a thread of its own: reqwest's blocking client panics when it is built, or
    // dropped, inside an async runtime, and a program may call `init` from one.
    let client = std::thread::spawn(|| reqwest::blocking::Client::builder().timeout(UPLOAD_TIMEOUT).build())
        .join()
        .map_err(|_| ExportError("building the HTTP client for Application Insights panicked".into()))?
        .map_err(|error| ExportError(format!("the HTTP client for Application Insights: {error}")))?;
    Exporter::new_from_connection_string(normalized(connection_string), client).map_err(|error| {
        ExportError(format!(
            "{CONNECTION_STRING} is not a connection string the Application Insights exporter \
             accepts ({error}); copy it from the Application Insights resource's Overview page: \
             `InstrumentationKey=<key>;IngestionEndpoint=https://<region>.in.applicationinsights.azure.com/;…`"
        ))
    })
}

/// The connection string without blanks around its `key=value` pairs and without empty pairs
/// (a trailing `;`), which the exporter's parser would refuse as malformed.
fn normalized(connection_string: &str) -> String {
    connection_string
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_string_is_read_with_blanks_and_a_trailing_semicolon() {
        assert_eq!(
            normalized(" InstrumentationKey=k ; IngestionEndpoint=https://x/;"),
            "InstrumentationKey=k;IngestionEndpoint=https://x/"
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        assert!(exporter("InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;").is_ok());
    }

    #[test]
    fn a_malformed_connection_string_is_an_error_naming_the_setting() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        for malformed in [
            "not a connection string",
            "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
            "InstrumentationKey=k;Authorization=AAD",
        ] {
            let error = exporter(malformed).unwrap_err().to_string();
            assert!(error.contains(CONNECTION_STRING), "{malformed}: {error}");
            assert!(error.contains("InstrumentationKey=<key>"), "{malformed}: {error}");
        }
    }
}
