//! The catalog: every binding kind azfn knows, as plain data.
//!
//! A [`BindingKind`] says what the user writes (`queue_trigger(queue_name = "orders")`), what
//! `function.json` receives (`{"type": "queueTrigger", "queueName": "orders"}`), which keys are
//! required, and how each value is checked. The macros read it to parse and validate attributes;
//! the runtime reads it to describe functions to the host and to decode what the host sends.

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
#[derive(Debug)]
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
}

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
}

impl BindingKind {
    /// The key the user spells `attr`, if this kind has one.
    ///
    /// ```
    /// let key = azfn_bindings::catalog::QUEUE_TRIGGER.key("queue_name").unwrap();
    /// assert_eq!(key.json, "queueName");
    /// ```
    pub fn key(&self, attr: &str) -> Option<&'static KeySpec> {
        self.keys.iter().find(|k| k.attr == attr)
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

const CONNECTION: KeySpec = KeySpec {
    attr: "connection",
    json: "connection",
    rule: ValueRule::AppSettingName,
    required: false,
    doc: "name of the app setting (or setting prefix) holding the connection; default `AzureWebJobsStorage`",
};

const QUEUE_NAME: KeySpec = KeySpec {
    attr: "queue_name",
    json: "queueName",
    rule: ValueRule::QueueName,
    required: true,
    doc: "the storage queue's name",
};

const BLOB_PATH: KeySpec = KeySpec {
    attr: "path",
    json: "path",
    rule: ValueRule::BlobPath,
    required: true,
    doc: "`container/blob` path, which may use binding expressions like `{name}`",
};

/// Defines each kind as a `pub static` and lists them all in [`ALL`], from one table, so the two
/// can never disagree.
macro_rules! catalog {
    ($($(#[$meta:meta])* $ident:ident = $kind:expr;)*) => {
        $( $(#[$meta])* pub static $ident: BindingKind = $kind; )*
        /// Every binding kind azfn knows.
        pub static ALL: &[&BindingKind] = &[$(&$ident),*];
    };
}

catalog! {
    /// `http_trigger(route = "...", methods = [...], auth_level = "...")`
    HTTP_TRIGGER = BindingKind {
        attr: "http_trigger",
        json_type: "httpTrigger",
        role: Role::Trigger,
        default_name: "req",
        supports_retry: false,
        default_data_type: None,
        doc: "runs the function for an HTTP request",
        keys: &[
            KeySpec {
                attr: "route",
                json: "route",
                rule: ValueRule::RouteTemplate,
                required: false,
                doc: "route template such as `orders/{id:int}`; default: the function name",
            },
            KeySpec {
                attr: "methods",
                json: "methods",
                rule: ValueRule::OneOrMore(&["get", "post", "put", "delete", "patch", "head", "options", "trace"]),
                required: false,
                doc: "HTTP methods the function answers; default: all",
            },
            KeySpec {
                attr: "auth_level",
                json: "authLevel",
                rule: ValueRule::OneOf(&["anonymous", "function", "admin"]),
                required: false,
                doc: "which key a caller needs; default `function`",
            },
        ],
    };
    /// `timer_trigger(schedule = "...", run_on_startup = bool, use_monitor = bool)`
    TIMER_TRIGGER = BindingKind {
        attr: "timer_trigger",
        json_type: "timerTrigger",
        role: Role::Trigger,
        default_name: "timer",
        supports_retry: true,
        default_data_type: None,
        doc: "runs the function on a schedule",
        keys: &[
            KeySpec {
                attr: "schedule",
                json: "schedule",
                rule: ValueRule::TimerSchedule,
                required: true,
                doc: "six-field NCRONTAB expression, a TimeSpan such as `00:05:00`, or `%AppSetting%`",
            },
            KeySpec {
                attr: "run_on_startup",
                json: "runOnStartup",
                rule: ValueRule::Bool,
                required: false,
                doc: "also run when the host starts",
            },
            KeySpec {
                attr: "use_monitor",
                json: "useMonitor",
                rule: ValueRule::Bool,
                required: false,
                doc: "persist schedule status so missed runs are caught up",
            },
        ],
    };
    /// `queue_trigger(queue_name = "...", connection = "...")`
    QUEUE_TRIGGER = BindingKind {
        attr: "queue_trigger",
        json_type: "queueTrigger",
        role: Role::Trigger,
        default_name: "message",
        supports_retry: false,
        default_data_type: Some(DataType::String),
        doc: "runs the function for each message of an Azure Storage queue",
        keys: &[QUEUE_NAME, CONNECTION],
    };
    /// `blob_trigger(path = "...", connection = "...")`
    BLOB_TRIGGER = BindingKind {
        attr: "blob_trigger",
        json_type: "blobTrigger",
        role: Role::Trigger,
        default_name: "blob",
        supports_retry: false,
        default_data_type: Some(DataType::String),
        doc: "runs the function when a blob is created or updated",
        keys: &[BLOB_PATH, CONNECTION],
    };
    /// `#[blob_input(path = "...", connection = "...")]` on a parameter
    BLOB_INPUT = BindingKind {
        attr: "blob_input",
        json_type: "blob",
        role: Role::Input,
        default_name: "blob",
        supports_retry: false,
        default_data_type: Some(DataType::String),
        doc: "reads a blob before the function runs",
        keys: &[BLOB_PATH, CONNECTION],
    };
    /// `http_output`: the HTTP response
    HTTP_OUTPUT = BindingKind {
        attr: "http_output",
        json_type: "http",
        role: Role::Output,
        default_name: "res",
        supports_retry: false,
        default_data_type: None,
        doc: "the HTTP response of an HTTP-triggered function",
        keys: &[],
    };
    /// `queue_output(queue_name = "...", connection = "...")`
    QUEUE_OUTPUT = BindingKind {
        attr: "queue_output",
        json_type: "queue",
        role: Role::Output,
        default_name: "message",
        supports_retry: false,
        default_data_type: None,
        doc: "writes messages to an Azure Storage queue",
        keys: &[QUEUE_NAME, CONNECTION],
    };
    /// `blob_output(path = "...", connection = "...")`
    BLOB_OUTPUT = BindingKind {
        attr: "blob_output",
        json_type: "blob",
        role: Role::Output,
        default_name: "blob",
        supports_retry: false,
        default_data_type: None,
        doc: "writes a blob",
        keys: &[BLOB_PATH, CONNECTION],
    };
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
