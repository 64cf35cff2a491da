//! [`EntityId`]: which entity an operation goes to.

use std::fmt;
use std::str::FromStr;

/// The id of a durable entity: its name (the entity function's name, lower-cased) and a key.
///
/// Its instance id in the task hub — what [`Display`](fmt::Display) writes and
/// [`FromStr`] reads — is `@<name>@<key>`.
///
/// ```
/// use azfn::durable::orchestration::EntityId;
///
/// let id = EntityId::new("Counter", "daily");
/// assert_eq!(id.name(), "counter");
/// assert_eq!(id.key(), "daily");
/// assert_eq!(id.to_string(), "@counter@daily");
/// assert_eq!("@counter@daily".parse::<EntityId>().unwrap(), id);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityId {
    name: String,
    key: String,
}

impl EntityId {
    /// The entity `name` (lower-cased, as the extension does) with `key`.
    pub fn new(name: impl AsRef<str>, key: impl Into<String>) -> Self {
        EntityId {
            name: name.as_ref().to_lowercase(),
            key: key.into(),
        }
    }

    /// Parses an instance id, `@<name>@<key>`: the name may not be empty, the key is
    /// everything after the second `@`.
    ///
    /// ```
    /// use azfn::durable::EntityId;
    /// assert_eq!(EntityId::parse("@cart@a@b").unwrap().key(), "a@b");
    /// assert!(EntityId::parse("cart@a").is_err());
    /// assert!(EntityId::parse("@@a").is_err());
    /// ```
    pub fn parse(instance_id: &str) -> Result<Self, azfn_core::Error> {
        Ok(instance_id.parse()?)
    }

    /// The entity's name, lower-case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The entity's key.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for EntityId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{}@{}", self.name, self.key)
    }
}

/// Why a string is not an entity instance id.
///
/// ```
/// assert!("counter".parse::<azfn::durable::orchestration::EntityId>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseEntityIdError(String);

impl fmt::Display for ParseEntityIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not an entity instance id (`@<name>@<key>`)", self.0)
    }
}

impl std::error::Error for ParseEntityIdError {}

impl FromStr for EntityId {
    type Err = ParseEntityIdError;

    /// Reads `@<name>@<key>`; the key may itself contain `@`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s.strip_prefix('@').ok_or_else(|| ParseEntityIdError(s.to_owned()))?;
        let (name, key) = rest.split_once('@').ok_or_else(|| ParseEntityIdError(s.to_owned()))?;
        if name.is_empty() {
            return Err(ParseEntityIdError(s.to_owned()));
        }
        Ok(EntityId::new(name, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_may_contain_the_separator() {
        let id: EntityId = "@Cart@user@example.com".parse().unwrap();
        assert_eq!(id.name(), "cart");
        assert_eq!(id.key(), "user@example.com");
        assert_eq!(id.to_string(), "@cart@user@example.com");
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert!("".parse::<EntityId>().is_err());
        assert!("@nokey".parse::<EntityId>().is_err());
        assert!("name@key".parse::<EntityId>().is_err());
    }
}
