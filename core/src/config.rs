//! Typed configuration: app settings read into any `T: Deserialize`.
//!
//! Settings reach the worker as environment variables: in Azure the app settings are the
//! process environment, and `cargo azfn start` (like Core Tools) hands local.settings.json
//! `Values` to the worker as its environment. A name is split into sections at `__` (and at
//! `:`, which .NET's configuration uses and Linux app settings cannot hold), keys compare
//! without regard to case, as .NET's configuration does, and values are text parsed to the
//! field's type when the type asks for it:
//!
//! ```text
//! Database__Host = db.example.com     →  { database: { host: "db.example.com",
//! Database__Port = 5432                                port: 5432,
//! Database__Replicas__0 = r1                           replicas: ["r1", "r2"] } }
//! Database__Replicas__1 = r2
//! ```
//!
//! Key Vault references (`@Microsoft.KeyVault(...)`) are resolved by the platform before the
//! worker starts: the value read here is the secret. One still in its `@Microsoft.KeyVault(`
//! form was not resolved, and reading it is an error that says so.

use std::any::{Any, TypeId};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Unexpected, Visitor};

use crate::error::{Error, InvocationError};
use crate::extract::{AnyTrigger, Parameter};
use crate::invocation::Invocation;

/// App settings read into `T` (any `T: serde::Deserialize`), once per type: as a function's
/// parameter, or in start-up code with [`Config::from_env`].
///
/// Name the fields as the settings are named, in any case (`#[serde(rename_all =
/// "PascalCase")]` makes a missing setting's error spell it as local.settings.json does); a
/// nested struct is a section (`Database__Port`), a `Vec` a list (`Hosts__0`, `Hosts__1`), an
/// `Option` a setting that may be absent or empty. Settings the type does not name are
/// ignored: the environment holds many.
///
/// ```no_run
/// use azfn::prelude::*;
/// use azfn::Config;
///
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "PascalCase")]
/// struct Shop {
///     currency: String,           // Currency = EUR
///     max_basket: Option<u32>,    // MaxBasket = 20
///     database: Database,         // Database__Host, Database__Port
/// }
///
/// #[derive(serde::Deserialize)]
/// #[serde(rename_all = "PascalCase")]
/// struct Database { host: String, port: u16 }
///
/// #[function(http_trigger(methods = "get"))]
/// async fn currency(shop: Config<Shop>) -> String {
///     shop.currency.clone()
/// }
///
/// fn main() {
///     // Start-up code reads the same settings, checked before the first invocation.
///     let database = Config::<Database>::section("Database").unwrap_or_else(|e| panic!("{e}"));
///     println!("using {}:{}", database.host, database.port);
///     azfn::App::new().run();
/// }
/// ```
///
/// As a parameter it reads the [`Settings`] registered with `App::state` (as `TestApp`'s
/// `with_setting` does), else the process environment. A setting that is missing or does not
/// parse fails the invocation with a [`ConfigError`] naming it.
#[derive(Debug)]
pub struct Config<T>(pub Arc<T>);

impl<T> Clone for Config<T> {
    fn clone(&self) -> Self {
        Config(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for Config<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + Send + Sync + 'static> Config<T> {
    /// `T` read from the process environment's settings (read once, the first time any
    /// setting is asked for), cached per type.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting that is missing or does not parse.
    pub fn from_env() -> Result<Self, ConfigError> {
        Settings::process().read::<T>()
    }

    /// `T` read from the section `section` of the process environment's settings
    /// (`Config::<Database>::section("Database")` reads `Database__Host`, `Database__Port`).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting that is missing or does not parse.
    pub fn section(section: &str) -> Result<Self, ConfigError> {
        Settings::process().read_section::<T>(section)
    }
}

impl<T: DeserializeOwned + Send + Sync + 'static> Parameter for Config<T> {
    type Owner = AnyTrigger;

    fn read(invocation: &Invocation) -> Result<Self, InvocationError> {
        let settings = match invocation.state.get::<Settings>() {
            Some(registered) => registered,
            None => Settings::process(),
        };
        // The app's configuration, not the caller's input: a failed invocation, in the log.
        settings
            .read::<T>()
            .map_err(|e| InvocationError::Function(Error::msg(format!("configuration: {e}"))))
    }
}

/// A set of app settings: name to text value, with each type read from them cached.
///
/// [`Settings::process`] holds the process environment's; a `Settings` registered with
/// `App::state` replaces them for the functions' [`Config`] parameters (a test's own values,
/// say: `TestApp::with_setting` does this).
///
/// ```
/// let settings = azfn::Settings::from_pairs([("Database__Port", "5432"), ("database:host", "db")]);
/// assert_eq!(settings.get("DATABASE__PORT"), Some("5432"));
/// assert_eq!(settings.get("Database__Host"), Some("db"));
///
/// #[derive(serde::Deserialize)]
/// struct Database { host: String, port: u16 }
/// let database = settings.read_section::<Database>("Database").unwrap();
/// assert_eq!((database.host.as_str(), database.port), ("db", 5432));
/// ```
pub struct Settings {
    root: Node,
    /// Each type read, by type and lowercase section (empty for the root).
    cache: Mutex<HashMap<(TypeId, String), Arc<dyn Any + Send + Sync>>>,
}

impl fmt::Debug for Settings {
    // The values hold secrets (connection strings, keys): only the names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = Vec::new();
        self.root.names("", &mut names);
        f.debug_struct("Settings")
            .field("names", &names)
            .finish_non_exhaustive()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::from_pairs(std::iter::empty::<(String, String)>())
    }
}

impl Clone for Settings {
    fn clone(&self) -> Self {
        Settings {
            root: self.root.clone(),
            cache: Mutex::new(lock(&self.cache).clone()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while reading a type leaves the cache as it was: keep using it.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Settings {
    /// Settings from name–value pairs (`"Database__Port"`, `"5432"`). Names are split into
    /// sections at `__` and `:`; when two names differ only in case, the later one wins.
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        let mut settings = Settings {
            root: Node::default(),
            cache: Mutex::new(HashMap::new()),
        };
        for (name, value) in pairs {
            settings.set(name.as_ref(), value);
        }
        settings
    }

    /// A snapshot of the process environment now (variables whose name or value is not
    /// UTF-8 are left out). Functions read [`Settings::process`]'s, taken once.
    pub fn from_env() -> Self {
        let mut variables: Vec<(String, String)> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        // The environment's order is the platform's: sorted, the outcome of names that differ
        // only in case does not depend on it.
        variables.sort();
        Settings::from_pairs(variables)
    }

    /// The process environment's settings, read the first time they are asked for and kept:
    /// app settings do not change while a worker runs (changing them restarts it).
    pub fn process() -> &'static Settings {
        static PROCESS: OnceLock<Settings> = OnceLock::new();
        PROCESS.get_or_init(Settings::from_env)
    }

    /// Sets one setting (replacing one whose name differs only in case), and forgets the
    /// types read so far.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let mut node = &mut self.root;
        for segment in segments(name) {
            let entry = node
                .children
                .entry(segment.to_ascii_lowercase())
                .or_insert_with(|| (segment.to_owned(), Node::default()));
            node = &mut entry.1;
        }
        node.value = Some(value.into());
        node.name = Some(name.to_owned());
        self.cache
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// One setting's value, its name in any case, sections separated by `__` or `:`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.root.find(name)?.value.as_deref()
    }

    /// `T` read from every setting (fields are top-level names; a nested struct a section),
    /// cached: the same `Arc` the next time.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting that is missing or does not parse.
    pub fn read<T: DeserializeOwned + Send + Sync + 'static>(&self) -> Result<Config<T>, ConfigError> {
        self.read_section::<T>("")
    }

    /// `T` read from the section `section` (`"Database"` reads `Database__Host`, …; nested
    /// sections as `"Shop__Database"` or `"Shop:Database"`), cached like [`Settings::read`].
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the setting that is missing or does not parse.
    pub fn read_section<T: DeserializeOwned + Send + Sync + 'static>(
        &self,
        section: &str,
    ) -> Result<Config<T>, ConfigError> {
        let key = (TypeId::of::<T>(), section.to_ascii_lowercase());
        let cached = lock(&self.cache).get(&key).cloned();
        if let Some(Ok(value)) = cached.map(|cached| cached.downcast::<T>()) {
            return Ok(Config(value));
        }
        static EMPTY: Node = Node {
            value: None,
            name: None,
            children: BTreeMap::new(),
        };
        let node = if section.is_empty() {
            Some(&self.root)
        } else {
            self.root.find(section)
        };
        // An absent section reads as an empty one: a type whose fields all have defaults
        // still reads, and any other names its first missing setting.
        let path = segments(section).collect::<Vec<_>>().join("__");
        let value = T::deserialize(NodeDeserializer {
            node: node.unwrap_or(&EMPTY),
            path: &path,
        })
        .map_err(|e| e.at(&path))?;
        let value = Arc::new(value);
        lock(&self.cache).insert(key, value.clone());
        Ok(Config(value))
    }
}

/// A setting name's sections: split at `__` (what the host and .NET's environment variables
/// provider read as `:`) and at `:`.
fn segments(name: &str) -> impl Iterator<Item = &str> {
    // The empty name is the root, with no sections.
    name.split(':')
        .flat_map(|part| part.split("__"))
        .filter(move |_| !name.is_empty())
}

/// One section of the settings: its own value, and the sections under it.
#[derive(Debug, Clone, Default)]
struct Node {
    value: Option<String>,
    /// The whole name the value was set under, as written (`Database__Port`).
    name: Option<String>,
    /// By lowercase name: the name as first written, and the section.
    children: BTreeMap<String, (String, Node)>,
}

impl Node {
    fn find(&self, name: &str) -> Option<&Node> {
        segments(name).try_fold(self, |node, segment| {
            node.children.get(&segment.to_ascii_lowercase()).map(|(_, child)| child)
        })
    }

    fn names(&self, path: &str, names: &mut Vec<String>) {
        if self.value.is_some() && !path.is_empty() {
            names.push(path.to_owned());
        }
        for (spelling, child) in self.children.values() {
            child.names(&join(path, spelling), names);
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}__{key}")
    }
}

/// A setting that is missing or does not parse into the type asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The setting, as local.settings.json names it (`Database__Port`); `None` until known.
    setting: Option<String>,
    problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// A field the type requires has no setting; its name, when the error is not yet placed.
    Missing(Option<String>),
    /// The value does not fit; what is wrong.
    Invalid(String),
}

impl ConfigError {
    /// The setting in error, as local.settings.json names it (`Database__Port`); empty when
    /// the settings as a whole do not fit the type.
    pub fn setting(&self) -> &str {
        self.setting.as_deref().unwrap_or("")
    }

    /// Whether the setting is missing (rather than set to a value that does not parse).
    pub fn is_missing(&self) -> bool {
        matches!(self.problem, Problem::Missing(_))
    }

    fn invalid(path: &str, problem: impl fmt::Display) -> Self {
        ConfigError {
            setting: Some(path.to_owned()),
            problem: Problem::Invalid(problem.to_string()),
        }
    }

    /// Places an error raised by a type's `Deserialize` at the section `path` it was reading.
    fn at(mut self, path: &str) -> Self {
        if self.setting.is_none() {
            self.setting = Some(match &mut self.problem {
                Problem::Missing(field) => join(path, &field.take().unwrap_or_default()),
                Problem::Invalid(_) => path.to_owned(),
            });
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let setting = self.setting();
        match &self.problem {
            Problem::Missing(_) => write!(
                f,
                "the setting `{setting}` is missing: set it in the app settings (locally, under `Values` in \
                 local.settings.json)"
            ),
            Problem::Invalid(problem) if setting.is_empty() => write!(f, "the settings do not fit: {problem}"),
            Problem::Invalid(problem) => write!(f, "the setting `{setting}` {problem}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// What a value was, without the value itself: settings hold secrets, and errors reach logs.
fn kind_of(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Str(_) | Unexpected::Char(_) => "text".to_owned(),
        Unexpected::Bool(_) => "a boolean".to_owned(),
        Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number".to_owned(),
        Unexpected::Seq => "a list".to_owned(),
        Unexpected::Map => "a section".to_owned(),
        other => other.to_string(),
    }
}

impl de::Error for ConfigError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        ConfigError {
            setting: None,
            problem: Problem::Invalid(format!("is not valid: {message}")),
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        ConfigError {
            setting: None,
            problem: Problem::Invalid(format!("is {}, not {expected}", kind_of(&unexpected))),
        }
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        ConfigError {
            setting: None,
            problem: Problem::Invalid(format!("is {} that is not {expected}", kind_of(&unexpected))),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        ConfigError {
            setting: None,
            problem: Problem::Missing(Some(field.to_owned())),
        }
    }
}

/// Reads a type from one section: its value parsed on demand to what the type asks for, or
/// its sections as a struct, a map or a list.
#[derive(Clone, Copy)]
struct NodeDeserializer<'a> {
    node: &'a Node,
    /// The section's name, as local.settings.json writes it.
    path: &'a str,
}

const KEY_VAULT_REFERENCE: &str = "@Microsoft.KeyVault(";

impl<'a> NodeDeserializer<'a> {
    /// The name an error about the section's own value gives: the name it was set under.
    fn value_name(&self) -> &'a str {
        match (&self.node.name, self.node.children.is_empty()) {
            (Some(name), true) => name,
            _ => self.path,
        }
    }

    /// The section's own value, for a type that reads one value.
    fn text(&self) -> Result<&'a str, ConfigError> {
        match &self.node.value {
            Some(value) if value.trim_start().starts_with(KEY_VAULT_REFERENCE) => Err(ConfigError::invalid(
                self.value_name(),
                "is a Key Vault reference the platform did not resolve: check its status in the app's \
                 environment variables in the portal (the app's identity needs access to the vault); \
                 local runs do not resolve references, put the value itself in local.settings.json",
            )),
            Some(value) => Ok(value),
            None if !self.node.children.is_empty() => Err(ConfigError::invalid(
                self.path,
                format!("is a section (`{}__…` settings), not one value", self.path),
            )),
            None => Err(ConfigError::invalid(self.path, "is not set")),
        }
    }

    /// Places an error the type's visitor raised at this section.
    fn placed<T>(&self, result: Result<T, ConfigError>) -> Result<T, ConfigError> {
        result.map_err(|e| e.at(self.value_name()))
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        self.text()?
            .trim()
            .parse()
            .map_err(|e| ConfigError::invalid(self.value_name(), format!("is not {what} ({e})")))
    }

    /// The sections under this one, each with its name as written and its full path.
    fn children(&self) -> impl Iterator<Item = (&'a str, String, &'a Node)> + use<'a> {
        let path = self.path;
        self.node
            .children
            .values()
            .map(move |(spelling, node)| (spelling.as_str(), join(path, spelling), node))
    }

    /// The sections, for a struct, a map or a list: a lone empty value is an empty section
    /// (`"Tags": ""` in local.settings.json).
    fn sections(&self, what: &str) -> Result<(), ConfigError> {
        match &self.node.value {
            Some(value) if self.node.children.is_empty() && !value.is_empty() => Err(ConfigError::invalid(
                self.value_name(),
                format!(
                    "is one value, not {what}: write its entries as `{}__<name>` settings",
                    self.path
                ),
            )),
            _ => Ok(()),
        }
    }
}

macro_rules! parse_numbers {
    ($($method:ident => $visit:ident, $ty:ty, $what:literal;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
            let value: $ty = self.parse($what)?;
            self.placed(visitor.$visit(value))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'_> {
    type Error = ConfigError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        if self.node.children.is_empty() {
            self.deserialize_str(visitor)
        } else {
            self.deserialize_map(visitor)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        // `true` / `false` in any case, as .NET's `bool.Parse` reads them.
        let text = self.text()?.trim();
        let value = if text.eq_ignore_ascii_case("true") {
            true
        } else if text.eq_ignore_ascii_case("false") {
            false
        } else {
            return Err(ConfigError::invalid(self.value_name(), "is not `true` or `false`"));
        };
        self.placed(visitor.visit_bool(value))
    }

    parse_numbers! {
        deserialize_i8 => visit_i8, i8, "an integer from -128 to 127";
        deserialize_i16 => visit_i16, i16, "an integer from -32768 to 32767";
        deserialize_i32 => visit_i32, i32, "a 32-bit integer";
        deserialize_i64 => visit_i64, i64, "a 64-bit integer";
        deserialize_i128 => visit_i128, i128, "a 128-bit integer";
        deserialize_u8 => visit_u8, u8, "an integer from 0 to 255";
        deserialize_u16 => visit_u16, u16, "an integer from 0 to 65535";
        deserialize_u32 => visit_u32, u32, "a 32-bit unsigned integer";
        deserialize_u64 => visit_u64, u64, "a 64-bit unsigned integer";
        deserialize_u128 => visit_u128, u128, "a 128-bit unsigned integer";
        deserialize_f32 => visit_f32, f32, "a number";
        deserialize_f64 => visit_f64, f64, "a number";
        deserialize_char => visit_char, char, "one character";
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.placed(visitor.visit_str(self.text()?))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.placed(visitor.visit_bytes(self.text()?.as_bytes()))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        // An empty value is no value: local.settings.json often lists settings as `""`.
        let empty = self.node.children.is_empty() && self.node.value.as_deref().is_none_or(str::is_empty);
        if empty {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.sections("a list")?;
        // `Hosts__0`, `Hosts__1`, …, in the order of their indexes, as .NET binds arrays.
        let mut items = Vec::new();
        for (spelling, path, node) in self.children() {
            let index: u64 = spelling.parse().map_err(|_| {
                ConfigError::invalid(
                    &path,
                    format!(
                        "is not an index: the items of the list `{}` are written `{0}__0`, `{0}__1`, …",
                        self.path
                    ),
                )
            })?;
            items.push((index, path, node));
        }
        items.sort_by_key(|(index, _, _)| *index);
        visitor.visit_seq(Items(items.into_iter())).map_err(|e| e.at(self.path))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.sections("a section")?;
        visitor
            .visit_map(Entries {
                entries: self.children(),
                next: None,
            })
            .map_err(|e| e.at(self.path))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        self.sections("a section")?;
        // Each setting under the field name it matches ignoring case, as .NET binds
        // properties; names no field matches keep their spelling, and the type ignores them.
        let entries = self
            .children()
            .map(|(spelling, path, node)| (declared_spelling(fields, spelling), path, node));
        visitor
            .visit_map(Entries { entries, next: None })
            .map_err(|e| e.at(self.path))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ConfigError> {
        // A unit variant by name, in any case (as .NET parses enums).
        let variant = declared_spelling(variants, self.text()?.trim());
        let variant: StrDeserializer<'_, ConfigError> = variant.into_deserializer();
        self.placed(visitor.visit_enum(variant))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ConfigError> {
        visitor.visit_unit()
    }
}

/// The declared name (a field's, a variant's) that `spelling` matches ignoring ASCII case, as
/// .NET binds properties and parses enums; `spelling` itself when none does.
fn declared_spelling<'a>(declared: &'static [&'static str], spelling: &'a str) -> &'a str {
    declared
        .iter()
        .find(|name| name.eq_ignore_ascii_case(spelling))
        .copied()
        .unwrap_or(spelling)
}

/// The sections of a struct or a map.
struct Entries<'a, I: Iterator<Item = (&'a str, String, &'a Node)>> {
    entries: I,
    next: Option<(String, &'a Node)>,
}

impl<'de, 'a, I: Iterator<Item = (&'a str, String, &'a Node)>> de::MapAccess<'de> for Entries<'a, I> {
    type Error = ConfigError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ConfigError> {
        let Some((key, path, node)) = self.entries.next() else {
            return Ok(None);
        };
        let read = seed
            .deserialize(key.into_deserializer())
            .map_err(|e: ConfigError| e.at(&path));
        self.next = Some((path, node));
        read.map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, ConfigError> {
        let (path, node) = self
            .next
            .take()
            .ok_or_else(|| <ConfigError as de::Error>::custom("a value was asked for before its name"))?;
        seed.deserialize(NodeDeserializer { node, path: &path })
            .map_err(|e| e.at(&path))
    }
}

/// The items of a list, in index order.
struct Items<'a, I: Iterator<Item = (u64, String, &'a Node)>>(I);

impl<'de, 'a, I: Iterator<Item = (u64, String, &'a Node)>> de::SeqAccess<'de> for Items<'a, I> {
    type Error = ConfigError;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, ConfigError> {
        let Some((_, path, node)) = self.0.next() else {
            return Ok(None);
        };
        seed.deserialize(NodeDeserializer { node, path: &path })
            .map(Some)
            .map_err(|e| e.at(&path))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::{ConfigError, Settings};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Shop {
        currency: String,
        max_basket: Option<u32>,
        open: bool,
        database: Database,
        #[serde(default)]
        hosts: Vec<String>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Database {
        host: String,
        port: u16,
    }

    fn shop_settings(extra: &[(&str, &str)]) -> Settings {
        let mut settings = Settings::from_pairs([
            ("Currency", "EUR"),
            ("OPEN", "True"),
            ("database__host", "db.example.com"),
            ("Database:Port", " 5432 "),
            ("PATH", "/usr/bin"),
        ]);
        for (name, value) in extra {
            settings.set(name, *value);
        }
        settings
    }

    fn error_of<T: serde::de::DeserializeOwned + Send + Sync + std::fmt::Debug + 'static>(
        settings: &Settings,
    ) -> ConfigError {
        settings.read::<T>().map(|c| format!("{:?}", c.0)).unwrap_err()
    }

    #[test]
    fn sections_nest_at_double_underscores_and_colons_ignoring_case() {
        let shop = shop_settings(&[("Hosts__1", "b"), ("hosts__0", "a"), ("Hosts__10", "c")])
            .read::<Shop>()
            .unwrap();
        assert_eq!(
            *shop,
            Shop {
                currency: "EUR".into(),
                max_basket: None,
                open: true,
                database: Database {
                    host: "db.example.com".into(),
                    port: 5432
                },
                hosts: vec!["a".into(), "b".into(), "c".into()],
            }
        );
    }

    #[test]
    fn a_type_is_read_once_per_settings() {
        let settings = shop_settings(&[]);
        let first = settings.read::<Shop>().unwrap();
        let again = settings.read::<Shop>().unwrap();
        assert!(std::sync::Arc::ptr_eq(&first.0, &again.0));
        // A section is its own entry; setting a value forgets what was read.
        let database = settings.read_section::<Database>("DATABASE").unwrap();
        assert_eq!(database.port, 5432);
        let mut settings = settings;
        settings.set("Database__Port", "6543");
        assert_eq!(settings.read_section::<Database>("Database").unwrap().port, 6543);
    }

    #[test]
    fn empty_values_are_absent_options_and_maps_keep_their_spelling() {
        #[derive(Debug, Deserialize)]
        struct Flags {
            #[serde(rename = "MaxBasket")]
            max_basket: Option<u32>,
            #[serde(rename = "Limits")]
            limits: HashMap<String, u32>,
        }
        let settings = Settings::from_pairs([("MaxBasket", ""), ("Limits__Tea", "3"), ("limits__COFFEE", "4")]);
        let flags = settings.read::<Flags>().unwrap();
        assert_eq!(flags.max_basket, None);
        assert_eq!(flags.limits, HashMap::from([("Tea".into(), 3), ("COFFEE".into(), 4)]));
    }

    #[test]
    fn enums_match_their_variants_ignoring_case() {
        #[derive(Debug, Deserialize, PartialEq)]
        enum Level {
            Debug,
            Warning,
        }
        #[derive(Debug, Deserialize)]
        struct Logging {
            level: Level,
        }
        let settings = Settings::from_pairs([("Level", "warning")]);
        assert_eq!(settings.read::<Logging>().unwrap().level, Level::Warning);
        let error = error_of::<Logging>(&Settings::from_pairs([("Level", "loud")]));
        assert_eq!(error.setting(), "Level");
        assert!(error.to_string().contains("unknown variant"), "{error}");
    }

    #[test]
    fn a_missing_setting_is_named_as_local_settings_writes_it() {
        let settings = Settings::from_pairs([("Currency", "EUR"), ("Open", "true"), ("Database__Host", "db")]);
        let error = error_of::<Shop>(&settings);
        assert!(error.is_missing());
        assert_eq!(error.setting(), "Database__Port");
        assert_eq!(
            error.to_string(),
            "the setting `Database__Port` is missing: set it in the app settings (locally, under `Values` in \
             local.settings.json)"
        );
        let error = error_of::<Shop>(&Settings::from_pairs([("Currency", "EUR"), ("Open", "true")]));
        assert_eq!(error.setting(), "Database");
        let error = settings.read_section::<Database>("Other").unwrap_err();
        assert_eq!(error.setting(), "Other__Host");
    }

    #[test]
    fn a_malformed_setting_is_named_without_its_value() {
        let error = error_of::<Shop>(&shop_settings(&[("Database__Port", "secret-70000")]));
        assert_eq!(error.setting(), "Database__Port");
        assert!(!error.is_missing());
        let message = error.to_string();
        assert!(
            message.starts_with("the setting `Database__Port` is not an integer from 0 to 65535"),
            "{message}"
        );
        assert!(!message.contains("secret"), "{message}");

        let error = error_of::<Shop>(&shop_settings(&[("Open", "yes")]));
        assert_eq!(error.to_string(), "the setting `Open` is not `true` or `false`");

        let settings = Settings::from_pairs([("Currency", "EUR"), ("Open", "true"), ("Database", "db:5432")]);
        let error = error_of::<Shop>(&settings);
        assert_eq!(
            error.to_string(),
            "the setting `Database` is one value, not a section: write its entries as `Database__<name>` settings"
        );
    }

    #[test]
    fn lists_and_sections_say_how_they_are_written() {
        let error = error_of::<Shop>(&shop_settings(&[("Hosts", "a,b")]));
        assert_eq!(
            error.to_string(),
            "the setting `Hosts` is one value, not a list: write its entries as `Hosts__<name>` settings"
        );
        let error = error_of::<Shop>(&shop_settings(&[("Hosts__first", "a")]));
        assert_eq!(error.setting(), "Hosts__first");
        assert!(error.to_string().contains("is not an index"), "{error}");
        let settings = Settings::from_pairs([
            ("Currency__Code", "EUR"),
            ("Open", "true"),
            ("Database__Host", "db"),
            ("Database__Port", "5432"),
        ]);
        let error = error_of::<Shop>(&settings);
        assert_eq!(error.setting(), "Currency");
        assert!(error.to_string().contains("is a section"), "{error}");
    }

    #[test]
    fn unresolved_key_vault_references_are_reported() {
        let reference = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/db/)";
        let error = error_of::<Shop>(&shop_settings(&[("Database__Host", reference)]));
        assert_eq!(error.setting(), "Database__Host");
        assert!(
            error
                .to_string()
                .contains("Key Vault reference the platform did not resolve"),
            "{error}"
        );
    }

    #[test]
    fn types_that_read_anything_see_text_and_sections() {
        let settings = Settings::from_pairs([("A__B", "1"), ("A__C__D", "x")]);
        let value = settings.read_section::<serde_json::Value>("a").unwrap();
        assert_eq!(*value, serde_json::json!({"B": "1", "C": {"D": "x"}}));
    }

    #[test]
    fn the_process_environment_is_read_with_the_same_rules() {
        // Cargo sets this variable for the tests it runs.
        let expected = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        assert_eq!(Settings::from_env().get("cargo_manifest_dir"), Some(expected.as_str()));
        #[derive(Debug, Deserialize)]
        struct Cargo {
            cargo_manifest_dir: String,
        }
        let read = super::Config::<Cargo>::from_env().unwrap();
        assert_eq!(read.cargo_manifest_dir, expected);
        assert!(std::sync::Arc::ptr_eq(
            &read.0,
            &super::Config::<Cargo>::from_env().unwrap().0
        ));
    }

    #[test]
    fn debug_shows_names_not_values() {
        let settings = Settings::from_pairs([("Db__Password", "hunter2")]);
        let shown = format!("{settings:?}");
        assert!(shown.contains("Db__Password") && !shown.contains("hunter2"), "{shown}");
    }
}
