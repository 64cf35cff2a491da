//! The catalog: every binding kind azfn knows, as plain data.
//!
//! A [`BindingKind`] says what the user writes (`queue_trigger(queue_name = "orders")`), what
//! `function.json` receives (`{"type": "queueTrigger", "queueName": "orders"}`), which keys are
//! required, and how each value is checked. The macros read it to parse and validate attributes;
//! the runtime reads it to describe functions to the host and to decode what the host sends.

use crate::extension::{self as ext, HostBuild};
use crate::rules::ValueRule;

/// Which way data flows through a binding, as `function.json` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Data comes from the host (triggers and input bindings).
    In,
    /// Data goes to the host (output bindings).
    Out,
}

impl Direction {
    /// The `function.json` spelling: `in` or `out`.
    ///
    /// ```
    /// assert_eq!(azfn_bindings::Direction::Out.as_str(), "out");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

/// What part a binding plays in a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Starts the function; exactly one per function.
    Trigger,
    /// Extra data read before the function runs.
    Input,
    /// Data written after the function returns.
    Output,
}

impl Role {
    /// The direction bindings of this role have.
    pub const fn direction(self) -> Direction {
        match self {
            Role::Trigger | Role::Input => Direction::In,
            Role::Output => Direction::Out,
        }
    }
}

/// The `dataType` hint of a binding: how the host should hand over its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Text.
    String,
    /// Raw bytes (sent base64-encoded over the custom-handler protocol).
    Binary,
}

impl DataType {
    /// The `function.json` spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            DataType::String => "string",
            DataType::Binary => "binary",
        }
    }
}

/// One key a binding attribute accepts.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    /// The name the user writes in the attribute, snake_case (`queue_name`).
    pub attr: &'static str,
    /// The `function.json` key (`queueName`).
    pub json: &'static str,
    /// What values are allowed.
    pub rule: ValueRule,
    /// Whether the attribute must set it.
    pub required: bool,
    /// One line for error messages and docs.
    pub doc: &'static str,
    /// What azfn writes for this key when the user leaves it out, if anything.
    pub fill: Option<Fill>,
}

/// A value azfn writes for a key the user left out, because the host needs the key to be there
/// (an extension attribute's constructor takes it; see [`crate::extension`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The value written.
    pub value: &'static str,
    /// Written only when this other key (attribute spelling) is set; always when `None`.
    pub when: Option<&'static str>,
}

impl KeySpec {
    /// An optional key.
    pub const fn new(attr: &'static str, json: &'static str, rule: ValueRule, doc: &'static str) -> KeySpec {
        KeySpec {
            attr,
            json,
            rule,
            required: false,
            doc,
            fill: None,
        }
    }

    /// The same key, required.
    pub const fn required(self) -> KeySpec {
        KeySpec { required: true, ..self }
    }

    /// The same key, written as `value` when the user leaves it out.
    pub const fn written_by_default(self, value: &'static str) -> KeySpec {
        KeySpec {
            fill: Some(Fill { value, when: None }),
            ..self
        }
    }

    /// The same key, written as `value` when the user leaves it out but sets `other`.
    pub const fn written_with(self, other: &'static str, value: &'static str) -> KeySpec {
        KeySpec {
            fill: Some(Fill {
                value,
                when: Some(other),
            }),
            ..self
        }
    }
}

/// Whether a trigger hands over one event or a batch per invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batch {
    /// One event per invocation, always.
    No,
    /// `cardinality` decides; the macro derives it from the payload type (`Vec<T>` means
    /// `many`). `many_by_default` is what is declared when the function takes no payload.
    Optional {
        /// The cardinality the .NET worker declares by default (Event Hubs: many).
        many_by_default: bool,
    },
    /// Always a list (Cosmos DB, SQL change feeds); no `cardinality` key.
    Always,
}

/// A rule across several keys of one attribute, checked generically by the macro.
///
/// Keys are named by their attribute spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRule {
    /// Exactly one of these keys must be set.
    ExactlyOne(&'static [&'static str]),
    /// At most one of these keys may be set.
    AtMostOne(&'static [&'static str]),
    /// Either all of these keys are set or none.
    Together(&'static [&'static str]),
    /// The first key may be set only with all the others: the extension reads it only through
    /// a constructor that takes them together.
    Requires(&'static [&'static str]),
}

impl KeyRule {
    /// The keys the rule names.
    pub const fn keys(&self) -> &'static [&'static str] {
        match *self {
            KeyRule::ExactlyOne(keys)
            | KeyRule::AtMostOne(keys)
            | KeyRule::Together(keys)
            | KeyRule::Requires(keys) => keys,
        }
    }

    /// Whether a binding whose set keys are those `is_set` answers for keeps the rule.
    ///
    /// ```
    /// use azfn_bindings::KeyRule;
    /// let rule = KeyRule::Requires(&["row_key", "partition_key"]);
    /// assert!(rule.admits(|k| k == "partition_key"));
    /// assert!(!rule.admits(|k| k == "row_key"));
    /// ```
    pub fn admits(&self, is_set: impl Fn(&str) -> bool) -> bool {
        let keys = self.keys();
        let set = keys.iter().filter(|k| is_set(k)).count();
        match self {
            KeyRule::ExactlyOne(_) => set == 1,
            KeyRule::AtMostOne(_) => set <= 1,
            KeyRule::Together(_) => set == 0 || set == keys.len(),
            KeyRule::Requires(_) => !keys.first().is_some_and(|k| is_set(k)) || set == keys.len(),
        }
    }
}

/// A key azfn refuses although an older version of the extension read it: the version the
/// extension bundle loads would drop it without a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// The attribute spelling (`host_name`).
    pub attr: &'static str,
    /// The `function.json` key it used to be (`hostName`).
    pub json: &'static str,
    /// Why, and what to write instead.
    pub instead: &'static str,
}

/// What `{expression}`s the other bindings of a function may use, as far as the trigger's
/// binding data is known at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerData {
    /// Not knowable: the payload's own JSON properties become binding data too (and for HTTP
    /// every query parameter, as the host's captures show).
    Open,
    /// Exactly these names, plus the `{parameters}` of the trigger's `path` pattern.
    PathPattern(&'static [&'static str]),
    /// Exactly these names.
    Fixed(&'static [&'static str]),
}

/// Expressions every trigger's binding data offers (case-insensitive).
pub const BUILTIN_EXPRESSIONS: &[&str] = &["rand-guid", "datetime", "sys"];

/// One trigger or binding kind.
#[derive(Debug)]
pub struct BindingKind {
    /// The attribute the user writes (`queue_trigger`, `blob_input`, `queue_output`).
    pub attr: &'static str,
    /// The `function.json` `type` (`queueTrigger`, `blob`, `queue`).
    pub json_type: &'static str,
    /// Trigger, input or output.
    pub role: Role,
    /// The keys the attribute accepts.
    pub keys: &'static [KeySpec],
    /// The binding name used when the user's code gives none (`req`, `timer`, …).
    pub default_name: &'static str,
    /// Whether the host applies function-level `retry` policies to this trigger.
    pub supports_retry: bool,
    /// The `dataType` declared for values the host sends to this binding when the Rust type
    /// asks for nothing more specific (byte types always ask for [`DataType::Binary`]).
    pub default_data_type: Option<DataType>,
    /// One line for error messages and docs.
    pub doc: &'static str,
    /// The cargo feature of the `azfn` crate that compiles this kind's runtime types, or `None`
    /// for kinds that are always available (HTTP, timer, warmup, storage queues and blobs).
    pub feature: Option<&'static str>,
    /// One event or a batch per invocation (triggers only).
    pub batch: Batch,
    /// Rules across keys.
    pub key_rules: &'static [KeyRule],
    /// The generic bindings: a `type` key and any other key, passed through camelCased.
    pub open_keys: bool,
    /// What other bindings may refer to with `{expression}`s (triggers only).
    pub trigger_data: TriggerData,
    /// What the host builds from the keys: the extension attribute (its constructors and
    /// settable properties, from the extension's source at the version the bundle loads), or
    /// the host's own code. Required, so no kind exists without it.
    pub host: HostBuild,
    /// Keys the user might write that the loaded extension would drop.
    pub refused: &'static [Refused],
}

impl BindingKind {
    /// A kind with no retry, no feature, one event per invocation, no cross-key rules; `host`
    /// says what the host makes of its keys.
    pub const fn new(
        attr: &'static str,
        json_type: &'static str,
        role: Role,
        default_name: &'static str,
        doc: &'static str,
        keys: &'static [KeySpec],
        host: HostBuild,
    ) -> BindingKind {
        BindingKind {
            attr,
            json_type,
            role,
            keys,
            default_name,
            supports_retry: false,
            default_data_type: None,
            doc,
            feature: None,
            batch: Batch::No,
            key_rules: &[],
            open_keys: false,
            trigger_data: TriggerData::Open,
            host,
            refused: &[],
        }
    }

    /// The same kind, refusing these keys.
    pub const fn refuses(self, refused: &'static [Refused]) -> BindingKind {
        BindingKind { refused, ..self }
    }

    /// The same kind, with function-level retry (the .NET `FunctionLevelRetry` capability).
    pub const fn retry(self) -> BindingKind {
        BindingKind {
            supports_retry: true,
            ..self
        }
    }

    /// The same kind, compiled only with the `azfn` feature `feature`.
    pub const fn feature(self, feature: &'static str) -> BindingKind {
        BindingKind {
            feature: Some(feature),
            ..self
        }
    }

    /// The same kind, with this batch behaviour.
    pub const fn batch(self, batch: Batch) -> BindingKind {
        BindingKind { batch, ..self }
    }

    /// The same kind, with these cross-key rules.
    pub const fn key_rules(self, key_rules: &'static [KeyRule]) -> BindingKind {
        BindingKind { key_rules, ..self }
    }

    /// The same kind, declaring `data_type` by default.
    pub const fn data_type(self, data_type: DataType) -> BindingKind {
        BindingKind {
            default_data_type: Some(data_type),
            ..self
        }
    }

    /// The same kind, with known binding data for expressions.
    pub const fn trigger_data(self, trigger_data: TriggerData) -> BindingKind {
        BindingKind { trigger_data, ..self }
    }

    /// The same kind, accepting arbitrary keys (the generic bindings).
    pub const fn open_keys(self) -> BindingKind {
        BindingKind {
            open_keys: true,
            ..self
        }
    }

    /// The kind a generic binding stands for: the template with the user's `type`.
    ///
    /// ```
    /// use azfn_bindings::catalog::GENERIC_TRIGGER;
    /// static CUSTOM: azfn_bindings::BindingKind = GENERIC_TRIGGER.with_json_type("customTrigger");
    /// assert_eq!(CUSTOM.json_type, "customTrigger");
    /// ```
    pub const fn with_json_type(&self, json_type: &'static str) -> BindingKind {
        BindingKind {
            json_type,
            attr: self.attr,
            role: self.role,
            keys: self.keys,
            default_name: self.default_name,
            supports_retry: self.supports_retry,
            default_data_type: self.default_data_type,
            doc: self.doc,
            feature: self.feature,
            batch: self.batch,
            key_rules: self.key_rules,
            open_keys: self.open_keys,
            trigger_data: self.trigger_data,
            host: self.host,
            refused: self.refused,
        }
    }

    /// The key the user spells `attr`, if this kind has one.
    ///
    /// ```
    /// let key = azfn_bindings::catalog::QUEUE_TRIGGER.key("queue_name").unwrap();
    /// assert_eq!(key.json, "queueName");
    /// ```
    pub fn key(&self, attr: &str) -> Option<&'static KeySpec> {
        self.keys.iter().find(|k| k.attr == attr)
    }

    /// Why the key the user spells `attr` is refused, if it is: what drops it and what to
    /// write instead.
    ///
    /// ```
    /// let why = azfn_bindings::catalog::RABBITMQ_TRIGGER.refusal("host_name").unwrap();
    /// assert!(why.contains("Microsoft.Azure.WebJobs.Extensions.RabbitMQ 2."), "{why}");
    /// assert!(why.contains("connection_string_setting"), "{why}");
    /// ```
    pub fn refusal(&self, attr: &str) -> Option<String> {
        let refused = self.refused.iter().find(|r| r.attr == attr)?;
        let reader = match self.host.attribute() {
            Some(a) => format!(
                "{} {}, which extension bundle v4 loads,",
                a.package.id, a.package.version
            ),
            None => "the host".to_owned(),
        };
        Some(format!(
            "`{attr}` would be ignored: {reader} does not read `{}`; {}",
            refused.json, refused.instead
        ))
    }

    /// The keys azfn writes although the user left them out, given which keys the user set
    /// (by attribute spelling), with their values.
    ///
    /// ```
    /// let kind = &azfn_bindings::catalog::SERVICE_BUS_OUTPUT;
    /// let filled: Vec<_> = kind.fills(|k| k == "queue_or_topic_name").map(|(k, v)| (k.json, v)).collect();
    /// assert_eq!(filled, [("entityType", "Queue")]);
    /// ```
    pub fn fills<'a>(
        &'a self,
        is_set: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = (&'static KeySpec, &'static str)> + 'a {
        let keys: &'static [KeySpec] = self.keys;
        keys.iter().filter_map(move |key| {
            let fill = key.fill?;
            let wanted = !is_set(key.attr) && fill.when.is_none_or(&is_set);
            wanted.then_some((key, fill.value))
        })
    }

    /// The direction of this kind's bindings.
    pub const fn direction(&self) -> Direction {
        self.role.direction()
    }

    /// Whether this is the HTTP trigger (whose value is never double-encoded by the host).
    pub fn is_http_trigger(&self) -> bool {
        self.json_type == HTTP_TRIGGER.json_type
    }

    /// Whether this is the HTTP output (whose value is a response object).
    pub fn is_http_output(&self) -> bool {
        self.json_type == HTTP_OUTPUT.json_type && self.role == Role::Output
    }
}

/// The `cardinality` key of batch-capable triggers. The macro writes it from the payload type.
pub const CARDINALITY: KeySpec = KeySpec::new(
    "cardinality",
    "cardinality",
    ValueRule::OneOf(&["one", "many"]),
    "`one` event or `many` per invocation; must agree with the payload type (`Vec<T>` is many)",
);

/// The `type` key of the generic bindings.
pub const GENERIC_TYPE: KeySpec = KeySpec::new(
    "type",
    "type",
    ValueRule::BindingType,
    "the binding's `type` in function.json, e.g. `customTrigger`",
)
.required();

const CONNECTION: KeySpec = KeySpec::new(
    "connection",
    "connection",
    ValueRule::AppSettingName,
    "name of the app setting (or setting prefix) holding the connection; default `AzureWebJobsStorage`",
);

const SERVICE_CONNECTION: KeySpec = KeySpec::new(
    "connection",
    "connection",
    ValueRule::AppSettingName,
    "name of the app setting (or setting prefix) holding the connection",
);

const CONNECTION_STRING_SETTING: KeySpec = KeySpec::new(
    "connection_string_setting",
    "connectionStringSetting",
    ValueRule::AppSettingName,
    "name of the app setting holding the connection string",
);

const QUEUE_NAME: KeySpec = KeySpec::new(
    "queue_name",
    "queueName",
    ValueRule::QueueName,
    "the storage queue's name",
)
.required();

const BLOB_PATH: KeySpec = KeySpec::new(
    "path",
    "path",
    ValueRule::BlobPath,
    "`container/blob` path, which may use binding expressions like `{name}`",
)
.required();

const fn text(attr: &'static str, json: &'static str, doc: &'static str) -> KeySpec {
    KeySpec::new(attr, json, ValueRule::Text, doc)
}

const fn flag(attr: &'static str, json: &'static str, doc: &'static str) -> KeySpec {
    KeySpec::new(attr, json, ValueRule::Bool, doc)
}

const fn int(attr: &'static str, json: &'static str, min: i64, max: i64, doc: &'static str) -> KeySpec {
    KeySpec::new(attr, json, ValueRule::IntRange { min, max }, doc)
}

const fn setting(attr: &'static str, json: &'static str, doc: &'static str) -> KeySpec {
    KeySpec::new(attr, json, ValueRule::AppSettingName, doc)
}

// Keys shared by several kinds of one family.

const TABLE_NAME: KeySpec = text("table_name", "tableName", "the storage table's name").required();
const PARTITION_KEY: KeySpec = text("partition_key", "partitionKey", "the partition key");
const ROW_KEY: KeySpec = text("row_key", "rowKey", "the row key");

/// `accessRights` was read by the Service Bus binding of Functions 1.x only.
const SERVICE_BUS_REFUSED: &[Refused] = &[Refused {
    attr: "access_rights",
    json: "accessRights",
    instead: "no Service Bus extension has read it since Functions 2.x: what the binding may do is what its \
              connection's credentials allow, so remove it",
}];

const EVENT_HUB_NAME: KeySpec = text("event_hub_name", "eventHubName", "the event hub's name").required();

const DATABASE_NAME: KeySpec = text("database_name", "databaseName", "the Cosmos DB database").required();
const CONTAINER_NAME: KeySpec = text("container_name", "containerName", "the Cosmos DB container").required();
const PREFERRED_LOCATIONS: KeySpec = text(
    "preferred_locations",
    "preferredLocations",
    "comma-separated preferred regions, e.g. `East US,West Europe`",
);
const COSMOS_PARTITION_KEY: KeySpec = text("partition_key", "partitionKey", "the partition key value or path");

const HUB_NAME: KeySpec = text("hub_name", "hubName", "the SignalR hub").required();
const USER_ID: KeySpec = text(
    "user_id",
    "userId",
    "the user id claim, e.g. `{headers.x-ms-client-principal-id}`",
);
const ID_TOKEN: KeySpec = text("id_token", "idToken", "the JWT whose claims go into the access token");
const CLAIM_TYPE_LIST: KeySpec = KeySpec::new(
    "claim_type_list",
    "claimTypeList",
    ValueRule::List,
    "claim types copied from `id_token` into the access token",
);

const COMMAND_TEXT: KeySpec = text(
    "command_text",
    "commandText",
    "the query, or the stored procedure's name",
)
.required();
const COMMAND_TYPE: KeySpec = KeySpec::new(
    "command_type",
    "commandType",
    ValueRule::OneOf(&["text", "storedProcedure"]),
    "whether `command_text` is a query or a stored procedure",
);
// The extension reads `commandType` only through the constructor that also takes `parameters`,
// so `parameters` is written (empty) whenever `command_type` is set.
const PARAMETERS: KeySpec = text(
    "parameters",
    "parameters",
    "`@name=value,@other={expression}` parameters; written empty when only `command_type` is set",
)
.written_with("command_type", "");
const TABLE_COMMAND: KeySpec = text("command_text", "commandText", "the table to write to").required();
const SQL_CONNECTION: KeySpec = CONNECTION_STRING_SETTING.required();

// RabbitMQ 2.x, which the bundle loads, reads the connection only as a whole connection string.
const RABBITMQ_CONNECTION: KeySpec = setting(
    "connection_string_setting",
    "connectionStringSetting",
    "name of the app setting holding the `amqp://` connection string; default: host.json \
     `extensions.rabbitMQ.connectionString`",
);

const fn rabbitmq_refused(attr: &'static str, json: &'static str) -> Refused {
    Refused {
        attr,
        json,
        instead: "since 2.0.0 the extension takes the connection only as a whole connection string: put \
                  `amqp://user:password@host:port` in an app setting and name that setting with \
                  `connection_string_setting`",
    }
}

const BROKER_LIST: KeySpec = text("broker_list", "brokerList", "the brokers, or `%Setting%`").required();
const TOPIC: KeySpec = text("topic", "topic", "the Kafka topic").required();
const AVRO_SCHEMA: KeySpec = KeySpec::new("avro_schema", "avroSchema", ValueRule::Str, "the Avro schema of values");
const KEY_AVRO_SCHEMA: KeySpec = KeySpec::new(
    "key_avro_schema",
    "keyAvroSchema",
    ValueRule::Str,
    "the Avro schema of keys",
);
const KEY_DATA_TYPE: KeySpec = KeySpec::new(
    "key_data_type",
    "keyDataType",
    ValueRule::OneOf(&["Int", "Long", "String", "Binary"]),
    "the type of message keys",
);
const KAFKA_AUTH: [KeySpec; 19] = [
    KeySpec::new(
        "authentication_mode",
        "authenticationMode",
        ValueRule::OneOf(&["NotSet", "Gssapi", "Plain", "ScramSha256", "ScramSha512", "OAuthBearer"]),
        "the SASL mechanism",
    ),
    text("username", "username", "SASL user name, usually `%Setting%`"),
    text("password", "password", "SASL password, usually `%Setting%`"),
    KeySpec::new(
        "protocol",
        "protocol",
        ValueRule::OneOf(&["NotSet", "Plaintext", "Ssl", "SaslPlaintext", "SaslSsl"]),
        "the security protocol",
    ),
    text(
        "ssl_key_location",
        "sslKeyLocation",
        "path of the client's private key (PEM)",
    ),
    text("ssl_ca_location", "sslCaLocation", "path of the CA certificate"),
    text(
        "ssl_certificate_location",
        "sslCertificateLocation",
        "path of the client's certificate",
    ),
    text("ssl_key_password", "sslKeyPassword", "password of the client's key"),
    text(
        "ssl_certificate_pem",
        "sslCertificatePEM",
        "the client's certificate, PEM",
    ),
    text("ssl_key_pem", "sslKeyPEM", "the client's private key, PEM"),
    text("ssl_ca_pem", "sslCaPEM", "the CA certificate, PEM"),
    text(
        "ssl_certificate_and_key_pem",
        "sslCertificateandKeyPEM",
        "certificate and key, PEM",
    ),
    text("schema_registry_url", "schemaRegistryUrl", "the schema registry's URL"),
    text(
        "schema_registry_username",
        "schemaRegistryUsername",
        "the schema registry's user name",
    ),
    text(
        "schema_registry_password",
        "schemaRegistryPassword",
        "the schema registry's password",
    ),
    KeySpec::new(
        "oauth_bearer_method",
        "oAuthBearerMethod",
        ValueRule::OneOf(&["Default", "Oidc"]),
        "how OAuth bearer tokens are obtained",
    ),
    text("oauth_bearer_client_id", "oAuthBearerClientId", "OIDC client id"),
    text(
        "oauth_bearer_client_secret",
        "oAuthBearerClientSecret",
        "OIDC client secret",
    ),
    text(
        "oauth_bearer_token_endpoint_url",
        "oAuthBearerTokenEndpointUrl",
        "OIDC token endpoint",
    ),
];
const KAFKA_OAUTH_MORE: [KeySpec; 2] = [
    text("oauth_bearer_scope", "oAuthBearerScope", "OIDC scope"),
    text(
        "oauth_bearer_extensions",
        "oAuthBearerExtensions",
        "OIDC extensions, `key=value,...`",
    ),
];

/// Built from this extension attribute's constructors and properties.
const fn built_from(attribute: &'static ext::Attribute) -> HostBuild {
    HostBuild::Attribute(attribute)
}

/// Defines each kind as a `pub static` and lists them all in [`ALL`], from one table, so the two
/// can never disagree.
macro_rules! catalog {
    ($($(#[$meta:meta])* $ident:ident = $kind:expr;)*) => {
        $( $(#[$meta])* pub static $ident: BindingKind = $kind; )*
        /// Every binding kind azfn knows.
        pub static ALL: &[&BindingKind] = &[$(&$ident),*];
    };
}

/// Concatenates key tables at compile time (for families that share long key lists).
macro_rules! keys {
    ($($part:expr),* $(,)?) => {{
        const LEN: usize = 0 $(+ $part.len())*;
        const KEYS: [KeySpec; LEN] = {
            let mut out = [CARDINALITY; LEN];
            let mut n = 0;
            $(
                let part: &[KeySpec] = &$part;
                let mut i = 0;
                while i < part.len() {
                    out[n] = part[i];
                    n += 1;
                    i += 1;
                }
            )*
            out
        };
        &KEYS
    }};
}

catalog! {
    /// `http_trigger(route = "...", methods = [...], auth_level = "...")`
    HTTP_TRIGGER = BindingKind::new("http_trigger", "httpTrigger", Role::Trigger, "req",
        "runs the function for an HTTP request",
        &[
            KeySpec::new("route", "route", ValueRule::RouteTemplate,
                "route template such as `orders/{id:int}`; default: the function name"),
            KeySpec::new("methods", "methods",
                ValueRule::OneOrMore(&["get", "post", "put", "delete", "patch", "head", "options", "trace"]),
                "HTTP methods the function answers; default: all"),
            KeySpec::new("auth_level", "authLevel", ValueRule::OneOf(&["anonymous", "function", "admin"]),
                "which key a caller needs; default `function`"),
        ], HostBuild::BuiltIn(&ext::HTTP_TRIGGER_BUILT_IN));
    /// `timer_trigger(schedule = "...", run_on_startup = bool, use_monitor = bool)`
    TIMER_TRIGGER = BindingKind::new("timer_trigger", "timerTrigger", Role::Trigger, "timer",
        "runs the function on a schedule",
        &[
            KeySpec::new("schedule", "schedule", ValueRule::TimerSchedule,
                "six-field NCRONTAB expression, a TimeSpan such as `00:05:00`, or `%AppSetting%`").required(),
            flag("run_on_startup", "runOnStartup", "also run when the host starts"),
            flag("use_monitor", "useMonitor", "persist schedule status so missed runs are caught up"),
        ], HostBuild::BuiltIn(&ext::TIMER_TRIGGER_BUILT_IN))
        .retry()
        .trigger_data(TriggerData::Fixed(&[]));
    /// `warmup_trigger`: runs when an instance is added (Premium and Dedicated plans)
    WARMUP_TRIGGER = BindingKind::new("warmup_trigger", "warmupTrigger", Role::Trigger, "warmupContext",
        "runs the function when the platform adds an instance, before it takes traffic", &[],
        built_from(&ext::WARMUP_TRIGGER_ATTRIBUTE))
        .trigger_data(TriggerData::Fixed(&[]));
    /// `queue_trigger(queue_name = "...", connection = "...")`
    QUEUE_TRIGGER = BindingKind::new("queue_trigger", "queueTrigger", Role::Trigger, "message",
        "runs the function for each message of an Azure Storage queue", &[QUEUE_NAME, CONNECTION],
        built_from(&ext::QUEUE_TRIGGER_ATTRIBUTE))
        .data_type(DataType::String);
    /// `blob_trigger(path = "...", connection = "...", source = "EventGrid")`
    BLOB_TRIGGER = BindingKind::new("blob_trigger", "blobTrigger", Role::Trigger, "blob",
        "runs the function when a blob is created or updated",
        &[
            BLOB_PATH,
            CONNECTION,
            KeySpec::new("source", "source", ValueRule::OneOf(&["LogsAndContainerScan", "EventGrid"]),
                "how new blobs are detected; `EventGrid` needs an Event Grid subscription"),
        ], built_from(&ext::BLOB_TRIGGER_ATTRIBUTE))
        .data_type(DataType::String)
        .trigger_data(TriggerData::PathPattern(&["Uri", "Properties", "Metadata", "BlobTrigger"]));
    /// `#[blob_input(path = "...", connection = "...")]` on a parameter
    BLOB_INPUT = BindingKind::new("blob_input", "blob", Role::Input, "blob",
        "reads a blob before the function runs", &[BLOB_PATH, CONNECTION], built_from(&ext::BLOB_ATTRIBUTE))
        .data_type(DataType::String);
    /// `http_output`: the HTTP response
    HTTP_OUTPUT = BindingKind::new("http_output", "http", Role::Output, "res",
        "the HTTP response of an HTTP-triggered function", &[], HostBuild::BuiltIn(&ext::HTTP_OUTPUT_BUILT_IN));
    /// `queue_output(queue_name = "...", connection = "...")`
    QUEUE_OUTPUT = BindingKind::new("queue_output", "queue", Role::Output, "message",
        "writes messages to an Azure Storage queue", &[QUEUE_NAME, CONNECTION], built_from(&ext::QUEUE_ATTRIBUTE));
    /// `blob_output(path = "...", connection = "...")`
    BLOB_OUTPUT = BindingKind::new("blob_output", "blob", Role::Output, "blob",
        "writes a blob", &[BLOB_PATH, CONNECTION], built_from(&ext::BLOB_ATTRIBUTE));

    /// `#[table_input(table_name = "...", partition_key = "...", row_key = "...", filter = "...", take = n)]`
    TABLE_INPUT = BindingKind::new("table_input", "table", Role::Input, "entity",
        "reads one entity (with `row_key`) or a list of entities of an Azure Table",
        &[
            TABLE_NAME,
            PARTITION_KEY,
            ROW_KEY,
            text("filter", "filter", "an OData filter, e.g. `Status eq 'open'`"),
            KeySpec::new("take", "take", ValueRule::IntText { min: 1, max: 1000 }, "how many entities to read at most"),
            CONNECTION,
        ], built_from(&ext::TABLE_ATTRIBUTE))
        .feature("tables")
        .key_rules(&[
            KeyRule::AtMostOne(&["row_key", "filter"]),
            KeyRule::AtMostOne(&["row_key", "take"]),
            KeyRule::Requires(&["row_key", "partition_key"]),
        ]);
    /// `table_output(table_name = "...", partition_key = "...", row_key = "...")`
    TABLE_OUTPUT = BindingKind::new("table_output", "table", Role::Output, "entity",
        "inserts entities into an Azure Table", &[TABLE_NAME, PARTITION_KEY, ROW_KEY, CONNECTION],
        built_from(&ext::TABLE_ATTRIBUTE))
        .feature("tables")
        .key_rules(&[KeyRule::Requires(&["row_key", "partition_key"])]);

    /// `service_bus_trigger(queue_name = "..." | topic_name = "...", subscription_name = "...", ...)`
    SERVICE_BUS_TRIGGER = BindingKind::new("service_bus_trigger", "serviceBusTrigger", Role::Trigger, "message",
        "runs the function for messages of a Service Bus queue or topic subscription",
        &[
            text("queue_name", "queueName", "the queue to read (or `topic_name` and `subscription_name`)"),
            text("topic_name", "topicName", "the topic to read, with `subscription_name`"),
            text("subscription_name", "subscriptionName", "the topic's subscription"),
            SERVICE_CONNECTION,
            flag("is_sessions_enabled", "isSessionsEnabled", "read a session-enabled queue or subscription"),
            flag("auto_complete_messages", "autoCompleteMessages", "complete messages when the function succeeds (default true)"),
            CARDINALITY,
        ], built_from(&ext::SERVICE_BUS_TRIGGER_ATTRIBUTE))
        .feature("servicebus")
        .refuses(SERVICE_BUS_REFUSED)
        .data_type(DataType::String)
        .batch(Batch::Optional { many_by_default: false })
        .key_rules(&[
            KeyRule::ExactlyOne(&["queue_name", "topic_name"]),
            KeyRule::Together(&["topic_name", "subscription_name"]),
        ]);
    /// `service_bus_output(queue_or_topic_name = "...", entity_type = "Queue" | "Topic")`
    SERVICE_BUS_OUTPUT = BindingKind::new("service_bus_output", "serviceBus", Role::Output, "message",
        "sends messages to a Service Bus queue or topic",
        &[
            text("queue_or_topic_name", "queueOrTopicName", "the queue or topic to send to").required(),
            // The extension's one constructor takes the entity type, so it is always written.
            KeySpec::new("entity_type", "entityType", ValueRule::OneOf(&["Queue", "Topic"]),
                "whether `queue_or_topic_name` is a queue or a topic; default `Queue`")
                .written_by_default("Queue"),
            SERVICE_CONNECTION,
        ], built_from(&ext::SERVICE_BUS_ATTRIBUTE))
        .feature("servicebus")
        .refuses(SERVICE_BUS_REFUSED);

    /// `event_hub_trigger(event_hub_name = "...", consumer_group = "...", connection = "...")`
    EVENT_HUB_TRIGGER = BindingKind::new("event_hub_trigger", "eventHubTrigger", Role::Trigger, "events",
        "runs the function for events of an event hub, in batches by default",
        &[
            EVENT_HUB_NAME,
            text("consumer_group", "consumerGroup", "the consumer group; default `$Default`"),
            SERVICE_CONNECTION,
            CARDINALITY,
        ], built_from(&ext::EVENT_HUB_TRIGGER_ATTRIBUTE))
        .feature("eventhubs")
        .retry()
        .data_type(DataType::String)
        .batch(Batch::Optional { many_by_default: true });
    /// `event_hub_output(event_hub_name = "...", connection = "...")`
    EVENT_HUB_OUTPUT = BindingKind::new("event_hub_output", "eventHub", Role::Output, "event",
        "sends events to an event hub", &[EVENT_HUB_NAME, SERVICE_CONNECTION], built_from(&ext::EVENT_HUB_ATTRIBUTE))
        .feature("eventhubs");

    /// `event_grid_trigger`
    EVENT_GRID_TRIGGER = BindingKind::new("event_grid_trigger", "eventGridTrigger", Role::Trigger, "event",
        "runs the function for Event Grid events (Event Grid or CloudEvents schema)", &[CARDINALITY],
        built_from(&ext::EVENT_GRID_TRIGGER_ATTRIBUTE))
        .feature("eventgrid")
        .batch(Batch::Optional { many_by_default: false });
    /// `event_grid_output(topic_endpoint_uri = "...", topic_key_setting = "...")` or `(connection = "...")`
    EVENT_GRID_OUTPUT = BindingKind::new("event_grid_output", "eventGrid", Role::Output, "event",
        "publishes events to an Event Grid topic",
        &[
            setting("topic_endpoint_uri", "topicEndpointUri", "the app setting holding the topic's endpoint URI"),
            setting("topic_key_setting", "topicKeySetting", "the app setting holding the topic's access key"),
            SERVICE_CONNECTION,
        ], built_from(&ext::EVENT_GRID_ATTRIBUTE))
        .feature("eventgrid")
        .key_rules(&[
            KeyRule::Together(&["topic_endpoint_uri", "topic_key_setting"]),
            KeyRule::ExactlyOne(&["topic_endpoint_uri", "connection"]),
        ]);

    /// `cosmos_db_trigger(database_name = "...", container_name = "...", connection = "...", ...)`
    COSMOS_DB_TRIGGER = BindingKind::new("cosmos_db_trigger", "cosmosDBTrigger", Role::Trigger, "documents",
        "runs the function for changes to a Cosmos DB container (a list of documents)",
        &[
            DATABASE_NAME,
            CONTAINER_NAME,
            SERVICE_CONNECTION,
            text("lease_container_name", "leaseContainerName", "the container of leases; default `leases`"),
            text("lease_database_name", "leaseDatabaseName", "the database of the leases container"),
            setting("lease_connection", "leaseConnection", "the connection of the leases container"),
            flag("create_lease_container_if_not_exists", "createLeaseContainerIfNotExists", "create the leases container"),
            int("leases_container_throughput", "leasesContainerThroughput", 400, 1_000_000, "RU/s of a created leases container"),
            text("lease_container_prefix", "leaseContainerPrefix", "prefix of leases, to share a leases container"),
            int("feed_poll_delay", "feedPollDelay", 0, i32::MAX as i64, "milliseconds between polls once drained"),
            int("lease_renew_interval", "leaseRenewInterval", 1, i32::MAX as i64, "milliseconds between lease renewals"),
            int("lease_acquire_interval", "leaseAcquireInterval", 1, i32::MAX as i64, "milliseconds between lease rebalances"),
            int("lease_expiration_interval", "leaseExpirationInterval", 1, i32::MAX as i64, "milliseconds a lease lives"),
            int("max_items_per_invocation", "maxItemsPerInvocation", 1, i32::MAX as i64, "the most documents per invocation"),
            flag("start_from_beginning", "startFromBeginning", "read the container's history first"),
            text("start_from_time", "startFromTime", "read changes since this ISO-8601 time"),
            PREFERRED_LOCATIONS,
            KeySpec::new("change_feed_mode", "changeFeedMode", ValueRule::OneOf(&["LatestVersion", "AllVersionsAndDeletes"]),
                "which changes arrive"),
        ], built_from(&ext::COSMOS_DB_TRIGGER_ATTRIBUTE))
        .feature("cosmosdb")
        .retry()
        .data_type(DataType::String)
        .batch(Batch::Always)
        .key_rules(&[KeyRule::AtMostOne(&["start_from_beginning", "start_from_time"])]);
    /// `#[cosmos_db_input(database_name = "...", container_name = "...", id = "...", partition_key = "...")]`
    COSMOS_DB_INPUT = BindingKind::new("cosmos_db_input", "cosmosDB", Role::Input, "document",
        "reads a document by id, or the documents a SQL query returns",
        &[
            DATABASE_NAME,
            CONTAINER_NAME,
            SERVICE_CONNECTION,
            text("id", "id", "the document's id, e.g. `{id}`"),
            COSMOS_PARTITION_KEY,
            text("sql_query", "sqlQuery", "a query, e.g. `SELECT * FROM c WHERE c.status = {status}`"),
            PREFERRED_LOCATIONS,
        ], built_from(&ext::COSMOS_DB_ATTRIBUTE))
        .feature("cosmosdb")
        .data_type(DataType::String)
        .key_rules(&[KeyRule::AtMostOne(&["id", "sql_query"])]);
    /// `cosmos_db_output(database_name = "...", container_name = "...", create_if_not_exists = bool)`
    COSMOS_DB_OUTPUT = BindingKind::new("cosmos_db_output", "cosmosDB", Role::Output, "document",
        "creates or replaces documents",
        &[
            DATABASE_NAME,
            CONTAINER_NAME,
            SERVICE_CONNECTION,
            flag("create_if_not_exists", "createIfNotExists", "create the database and container if missing"),
            COSMOS_PARTITION_KEY,
            int("container_throughput", "containerThroughput", 400, 1_000_000, "RU/s of a created container"),
            PREFERRED_LOCATIONS,
        ], built_from(&ext::COSMOS_DB_ATTRIBUTE))
        .feature("cosmosdb");

    /// `signalr_trigger(hub_name = "...", category = "messages", event = "...")`
    SIGNALR_TRIGGER = BindingKind::new("signalr_trigger", "signalRTrigger", Role::Trigger, "invocation",
        "runs the function for messages or connection events of a SignalR Service hub",
        &[
            HUB_NAME,
            KeySpec::new("category", "category", ValueRule::OneOf(&["connections", "messages"]),
                "`connections` (connected/disconnected) or `messages`").required(),
            text("event", "event", "the event: `connected`, `disconnected`, or a message target").required(),
            KeySpec::new("parameter_names", "parameterNames", ValueRule::List, "names for the message's arguments"),
            CONNECTION_STRING_SETTING,
        ], built_from(&ext::SIGNALR_TRIGGER_ATTRIBUTE))
        .feature("signalr");
    /// `#[signalr_connection_info_input(hub_name = "...", user_id = "...")]`
    SIGNALR_CONNECTION_INFO_INPUT = BindingKind::new("signalr_connection_info_input", "signalRConnectionInfo",
        Role::Input, "connectionInfo", "a client's URL and access token for a SignalR hub",
        &[HUB_NAME, CONNECTION_STRING_SETTING, USER_ID, ID_TOKEN, CLAIM_TYPE_LIST],
        built_from(&ext::SIGNALR_CONNECTION_INFO_ATTRIBUTE))
        .feature("signalr");
    /// `#[signalr_negotiation_input(hub_name = "...")]`
    SIGNALR_NEGOTIATION_INPUT = BindingKind::new("signalr_negotiation_input", "signalRNegotiation",
        Role::Input, "negotiation", "the negotiation answer across several SignalR endpoints",
        &[HUB_NAME, CONNECTION_STRING_SETTING, USER_ID, ID_TOKEN, CLAIM_TYPE_LIST],
        built_from(&ext::SIGNALR_NEGOTIATION_ATTRIBUTE))
        .feature("signalr");
    /// `#[signalr_endpoints_input(hub_name = "...")]`
    SIGNALR_ENDPOINTS_INPUT = BindingKind::new("signalr_endpoints_input", "signalREndpoints",
        Role::Input, "endpoints", "the SignalR Service endpoints of a hub", &[HUB_NAME, CONNECTION_STRING_SETTING],
        built_from(&ext::SIGNALR_ENDPOINTS_ATTRIBUTE))
        .feature("signalr");
    /// `signalr_output(hub_name = "...")`
    SIGNALR_OUTPUT = BindingKind::new("signalr_output", "signalR", Role::Output, "signalRMessages",
        "sends messages or group actions to a SignalR hub", &[HUB_NAME, CONNECTION_STRING_SETTING],
        built_from(&ext::SIGNALR_ATTRIBUTE))
        .feature("signalr");

    /// `sql_trigger(table_name = "...", connection_string_setting = "...")`
    SQL_TRIGGER = BindingKind::new("sql_trigger", "sqlTrigger", Role::Trigger, "changes",
        "runs the function for changes to an Azure SQL table (a list of changes)",
        &[
            text("table_name", "tableName", "the table to watch, e.g. `dbo.Orders`").required(),
            SQL_CONNECTION,
            text("leases_table_name", "leasesTableName", "the table of leases"),
        ], built_from(&ext::SQL_TRIGGER_ATTRIBUTE))
        .feature("sql")
        .batch(Batch::Always);
    /// `#[sql_input(command_text = "...", command_type = "text", parameters = "...", connection_string_setting = "...")]`
    SQL_INPUT = BindingKind::new("sql_input", "sql", Role::Input, "rows", "the rows of a query or stored procedure",
        &[COMMAND_TEXT, COMMAND_TYPE, PARAMETERS, SQL_CONNECTION], built_from(&ext::SQL_ATTRIBUTE))
        .feature("sql");
    /// `sql_output(command_text = "dbo.Table", connection_string_setting = "...")`
    SQL_OUTPUT = BindingKind::new("sql_output", "sql", Role::Output, "rows", "upserts rows into a table",
        &[TABLE_COMMAND, SQL_CONNECTION], built_from(&ext::SQL_ATTRIBUTE))
        .feature("sql");

    /// `mysql_trigger(table_name = "...", connection_string_setting = "...")`
    MYSQL_TRIGGER = BindingKind::new("mysql_trigger", "mysqlTrigger", Role::Trigger, "changes",
        "runs the function for changes to a MySQL table (a list of changes)",
        &[
            text("table_name", "tableName", "the table to watch").required(),
            SQL_CONNECTION,
            text("leases_table_name", "leasesTableName", "the table of leases"),
        ], built_from(&ext::MYSQL_TRIGGER_ATTRIBUTE))
        .feature("mysql")
        .batch(Batch::Always);
    /// `#[mysql_input(command_text = "...", command_type = "text", parameters = "...", connection_string_setting = "...")]`
    MYSQL_INPUT = BindingKind::new("mysql_input", "mysql", Role::Input, "rows", "the rows of a MySQL query",
        &[COMMAND_TEXT, COMMAND_TYPE, PARAMETERS, SQL_CONNECTION], built_from(&ext::MYSQL_ATTRIBUTE))
        .feature("mysql");
    /// `mysql_output(command_text = "table", connection_string_setting = "...")`
    MYSQL_OUTPUT = BindingKind::new("mysql_output", "mysql", Role::Output, "rows", "upserts rows into a MySQL table",
        &[TABLE_COMMAND, SQL_CONNECTION], built_from(&ext::MYSQL_ATTRIBUTE))
        .feature("mysql");

    /// `kafka_trigger(broker_list = "...", topic = "...", consumer_group = "...", ...)`
    KAFKA_TRIGGER = BindingKind::new("kafka_trigger", "kafkaTrigger", Role::Trigger, "event",
        "runs the function for events of a Kafka topic",
        keys![
            [BROKER_LIST, TOPIC, text("consumer_group", "consumerGroup", "the consumer group"), AVRO_SCHEMA,
                KEY_AVRO_SCHEMA, KEY_DATA_TYPE,
                int("lag_threshold", "lagThreshold", 0, i64::MAX, "lag above which the scale controller adds instances")],
            KAFKA_AUTH,
            KAFKA_OAUTH_MORE,
            [CARDINALITY],
        ], built_from(&ext::KAFKA_TRIGGER_ATTRIBUTE))
        .feature("kafka")
        .retry()
        .data_type(DataType::String)
        .batch(Batch::Optional { many_by_default: false })
        .key_rules(&[KeyRule::Together(&["username", "password"])]);
    /// `kafka_output(broker_list = "...", topic = "...", ...)`
    KAFKA_OUTPUT = BindingKind::new("kafka_output", "kafka", Role::Output, "event", "produces events to a Kafka topic",
        keys![
            [BROKER_LIST, TOPIC, AVRO_SCHEMA, KEY_AVRO_SCHEMA, KEY_DATA_TYPE,
                int("max_message_bytes", "maxMessageBytes", 1, i32::MAX as i64, "the largest message"),
                int("batch_size", "batchSize", 1, i32::MAX as i64, "messages per batch"),
                flag("enable_idempotence", "enableIdempotence", "exactly-once, in-order production"),
                int("message_timeout_ms", "messageTimeoutMs", 0, i32::MAX as i64, "delivery timeout"),
                int("request_timeout_ms", "requestTimeoutMs", 0, i32::MAX as i64, "acknowledgement timeout"),
                int("max_retries", "maxRetries", 0, i32::MAX as i64, "retries of a failed send"),
                int("linger_ms", "lingerMs", 0, i32::MAX as i64, "wait to fill a batch")],
            KAFKA_AUTH,
            KAFKA_OAUTH_MORE,
        ], built_from(&ext::KAFKA_ATTRIBUTE))
        .feature("kafka")
        .key_rules(&[KeyRule::Together(&["username", "password"])]);

    /// `rabbitmq_trigger(queue_name = "...", connection_string_setting = "...")`
    RABBITMQ_TRIGGER = BindingKind::new("rabbitmq_trigger", "rabbitMQTrigger", Role::Trigger, "message",
        "runs the function for messages of a RabbitMQ queue",
        &[
            text("queue_name", "queueName", "the queue to read").required(),
            RABBITMQ_CONNECTION,
            flag("disable_certificate_validation", "disableCertificateValidation", "accept any server certificate"),
        ], built_from(&ext::RABBITMQ_TRIGGER_ATTRIBUTE))
        .feature("rabbitmq")
        .data_type(DataType::String)
        .refuses(&[
            rabbitmq_refused("host_name", "hostName"),
            rabbitmq_refused("user_name_setting", "userNameSetting"),
            rabbitmq_refused("password_setting", "passwordSetting"),
            rabbitmq_refused("port", "port"),
        ]);
    /// `rabbitmq_output(queue_name = "...", connection_string_setting = "...")`
    RABBITMQ_OUTPUT = BindingKind::new("rabbitmq_output", "rabbitMQ", Role::Output, "message",
        "publishes messages to a RabbitMQ queue",
        &[
            text("queue_name", "queueName", "the queue to publish to").required(),
            RABBITMQ_CONNECTION,
            flag("disable_certificate_validation", "disableCertificateValidation", "accept any server certificate"),
        ], built_from(&ext::RABBITMQ_ATTRIBUTE))
        .feature("rabbitmq")
        .refuses(&[
            rabbitmq_refused("host_name", "hostName"),
            rabbitmq_refused("user_name", "userName"),
            rabbitmq_refused("password", "password"),
            rabbitmq_refused("port", "port"),
        ]);

    /// `sendgrid_output(api_key = "...", to = "...", from = "...", subject = "...", text = "...")`
    SENDGRID_OUTPUT = BindingKind::new("sendgrid_output", "sendGrid", Role::Output, "message",
        "sends e-mail through SendGrid",
        &[
            setting("api_key", "apiKey", "the app setting holding the SendGrid API key; default `AzureWebJobsSendGridApiKey`"),
            text("to", "to", "the recipient"),
            text("from", "from", "the sender"),
            text("subject", "subject", "the subject"),
            text("text", "text", "the body"),
        ], built_from(&ext::SENDGRID_ATTRIBUTE))
        .feature("sendgrid");

    /// `orchestration_trigger(orchestration = "...")`: a Durable Functions orchestrator
    ORCHESTRATION_TRIGGER = BindingKind::new("orchestration_trigger", "orchestrationTrigger", Role::Trigger,
        "context", "runs the function as a Durable Functions orchestrator, replaying its history",
        &[text("orchestration", "orchestration", "the orchestration's name; default: the function name")],
        built_from(&ext::ORCHESTRATION_TRIGGER_ATTRIBUTE))
        .feature("durable")
        .trigger_data(TriggerData::Fixed(&[]));
    /// `activity_trigger(activity = "...")`: a Durable Functions activity
    ACTIVITY_TRIGGER = BindingKind::new("activity_trigger", "activityTrigger", Role::Trigger, "input",
        "runs the function as an activity an orchestrator calls, with its input",
        &[text("activity", "activity", "the activity's name; default: the function name")],
        built_from(&ext::ACTIVITY_TRIGGER_ATTRIBUTE))
        .feature("durable")
        .trigger_data(TriggerData::Fixed(&["instanceId", "data"]));
    /// `entity_trigger(entity_name = "...")`: a Durable Functions entity
    ENTITY_TRIGGER = BindingKind::new("entity_trigger", "entityTrigger", Role::Trigger, "context",
        "runs the function for a batch of operations on a durable entity",
        &[text("entity_name", "entityName", "the entity's name; default: the function name")],
        built_from(&ext::ENTITY_TRIGGER_ATTRIBUTE))
        .feature("durable")
        .trigger_data(TriggerData::Fixed(&[]));
    /// `#[durable_client(task_hub = "...", connection_name = "...")]`: the Durable Functions client
    DURABLE_CLIENT = BindingKind::new("durable_client", "durableClient", Role::Input, "client",
        "starts, queries and manages orchestrations and entities",
        &[
            text("task_hub", "taskHub", "the task hub; default: the app's (host.json)"),
            text("connection_name", "connectionName", "the storage connection setting; default: the app's"),
        ], built_from(&ext::DURABLE_CLIENT_ATTRIBUTE))
        .feature("durable");

    /// `generic_trigger(type = "customTrigger", any_key = value, ...)`: any trigger azfn has no kind for
    GENERIC_TRIGGER = BindingKind::new("generic_trigger", "genericTrigger", Role::Trigger, "trigger",
        "a trigger of any extension: `type` and keys are passed through", &[GENERIC_TYPE], HostBuild::UserType)
        .retry()
        .open_keys();
    /// `#[generic_input(type = "...", any_key = value, ...)]`: any input binding
    GENERIC_INPUT = BindingKind::new("generic_input", "generic", Role::Input, "input",
        "an input binding of any extension: `type` and keys are passed through", &[GENERIC_TYPE], HostBuild::UserType)
        .open_keys();
    /// `generic_output(type = "...", any_key = value, ...)`: any output binding
    GENERIC_OUTPUT = BindingKind::new("generic_output", "generic", Role::Output, "output",
        "an output binding of any extension: `type` and keys are passed through", &[GENERIC_TYPE], HostBuild::UserType)
        .open_keys();
}

/// Every cargo feature of `azfn` that gates a family of kinds, in catalog order.
///
/// ```
/// assert!(azfn_bindings::catalog::features().any(|f| f == "servicebus"));
/// ```
pub fn features() -> impl Iterator<Item = &'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for kind in ALL {
        if let Some(f) = kind.feature
            && !seen.contains(&f)
        {
            seen.push(f);
        }
    }
    seen.into_iter()
}

/// The kind the user spells `attr` (`"queue_trigger"`), if azfn knows it.
///
/// ```
/// assert_eq!(azfn_bindings::catalog::by_attr("blob_input").unwrap().json_type, "blob");
/// assert!(azfn_bindings::catalog::by_attr("nope").is_none());
/// ```
pub fn by_attr(attr: &str) -> Option<&'static BindingKind> {
    ALL.iter().copied().find(|k| k.attr == attr)
}

/// The attribute names of every kind with `role`, for "expected one of" messages.
pub fn attrs_with_role(role: Role) -> impl Iterator<Item = &'static str> {
    ALL.iter().filter(move |k| k.role == role).map(|k| k.attr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_and_json_keys_are_unique_per_kind() {
        for kind in ALL {
            for (i, key) in kind.keys.iter().enumerate() {
                assert!(
                    kind.keys[i + 1..]
                        .iter()
                        .all(|k| k.attr != key.attr && k.json != key.json),
                    "{} repeats key {}",
                    kind.attr,
                    key.attr
                );
            }
        }
        for (i, kind) in ALL.iter().enumerate() {
            assert!(
                ALL[i + 1..].iter().all(|k| k.attr != kind.attr),
                "{} listed twice",
                kind.attr
            );
        }
    }

    #[test]
    fn trigger_types_end_with_trigger_as_the_host_requires() {
        // The host decides `IsTrigger` by the `type` suffix.
        for kind in ALL {
            let ends = kind.json_type.to_ascii_lowercase().ends_with("trigger");
            assert_eq!(ends, kind.role == Role::Trigger, "{}", kind.json_type);
        }
    }

    #[test]
    fn key_rules_name_keys_of_their_kind() {
        for kind in ALL {
            for rule in kind.key_rules {
                for key in rule.keys() {
                    assert!(kind.key(key).is_some(), "{} has no key {key}", kind.attr);
                }
            }
        }
    }

    #[test]
    fn retry_and_batches_follow_the_dotnet_worker() {
        let retry: Vec<_> = ALL
            .iter()
            .filter(|k| k.supports_retry && !k.open_keys)
            .map(|k| k.attr)
            .collect();
        assert_eq!(
            retry,
            [
                "timer_trigger",
                "event_hub_trigger",
                "cosmos_db_trigger",
                "kafka_trigger"
            ]
        );
        for kind in ALL {
            let optional = matches!(kind.batch, Batch::Optional { .. });
            assert_eq!(optional, kind.key("cardinality").is_some(), "{}", kind.attr);
            assert!(kind.batch == Batch::No || kind.role == Role::Trigger, "{}", kind.attr);
        }
    }

    #[test]
    fn written_values_pass_their_own_rules_and_name_real_keys() {
        let mut fills = 0;
        for kind in ALL {
            for key in kind.keys {
                let Some(fill) = key.fill else { continue };
                fills += 1;
                assert!(!key.required, "{}.{} is required and filled", kind.attr, key.attr);
                assert_eq!(
                    key.rule.check_str(fill.value).as_deref(),
                    Ok(fill.value),
                    "{}.{}",
                    kind.attr,
                    key.attr
                );
                if let Some(other) = fill.when {
                    assert!(kind.key(other).is_some(), "{} has no key {other}", kind.attr);
                }
            }
        }
        // Service Bus output's entity type; SQL and MySQL input's parameters.
        assert_eq!(fills, 3);
    }

    #[test]
    fn refused_keys_are_not_keys_and_say_why() {
        for kind in ALL {
            for refused in kind.refused {
                assert!(
                    kind.key(refused.attr).is_none(),
                    "{} both takes and refuses {}",
                    kind.attr,
                    refused.attr
                );
                assert!(kind.keys.iter().all(|k| !k.json.eq_ignore_ascii_case(refused.json)));
                let why = kind.refusal(refused.attr).unwrap();
                let attribute = kind.host.attribute().expect("refusals name the extension");
                assert!(why.contains(attribute.package.version), "{why}");
                assert!(
                    why.starts_with(&format!("`{}` would be ignored", refused.attr)),
                    "{why}"
                );
            }
        }
        assert!(
            RABBITMQ_OUTPUT
                .refusal("user_name")
                .unwrap()
                .contains("connection_string_setting")
        );
        assert!(SERVICE_BUS_TRIGGER.refusal("access_rights").is_some());
        assert!(SERVICE_BUS_OUTPUT.refusal("access_rights").is_some());
        assert!(SERVICE_BUS_OUTPUT.refusal("connection").is_none());
    }

    #[test]
    fn key_rules_admit_what_they_say() {
        let set = |keys: &'static [&'static str]| move |k: &str| keys.contains(&k);
        let exactly = KeyRule::ExactlyOne(&["a", "b"]);
        assert!(exactly.admits(set(&["a"])) && !exactly.admits(set(&[])) && !exactly.admits(set(&["a", "b"])));
        let at_most = KeyRule::AtMostOne(&["a", "b"]);
        assert!(at_most.admits(set(&[])) && at_most.admits(set(&["b"])) && !at_most.admits(set(&["a", "b"])));
        let together = KeyRule::Together(&["a", "b"]);
        assert!(together.admits(set(&[])) && together.admits(set(&["a", "b"])) && !together.admits(set(&["b"])));
        let requires = KeyRule::Requires(&["a", "b"]);
        assert!(requires.admits(set(&["b"])) && requires.admits(set(&["a", "b"])) && !requires.admits(set(&["a"])));
    }

    #[test]
    fn features_are_lowercase_words() {
        let features: Vec<_> = features().collect();
        assert!(features.len() >= 11, "{features:?}");
        for f in features {
            assert!(f.bytes().all(|b| b.is_ascii_lowercase()), "{f}");
        }
    }

    #[test]
    fn default_names_are_valid_binding_names() {
        for kind in ALL {
            assert!(
                crate::validate::check_binding_name(kind.default_name).is_ok(),
                "{}",
                kind.default_name
            );
        }
    }
}
