//! What the Functions host makes of each kind's `function.json` keys.
//!
//! The published schema says which keys a binding may have; the host does more. For every
//! binding except the HTTP trigger, the timer trigger and the HTTP output, it looks up the
//! extension attribute class whose name, less `Attribute`, is the binding's `type` (ignoring
//! case), and builds one instance of it from the binding's keys:
//!
//! 1. `type`, `direction`, `name`, `dataType` and `cardinality` are the host's own keys
//!    ([`HOST_KEYS`]); no attribute azfn emits has a property of those names.
//! 2. A few attributes get keys copied under another name first ([`Attribute::copies`]): the
//!    blob attributes' `path` becomes `blobPath`, and a binding's `direction` becomes `access`
//!    on attributes with a file-access property.
//! 3. Of the class's public constructors, the host calls the one with the most parameters
//!    whose names are *all* keys of the binding (compared ignoring case). A parameter with a
//!    C# default value is missing like any other when its key is absent; of two constructors
//!    of the same length, the first declared wins. When none fits, the function fails to load
//!    ("Can't figure out which ctor to call").
//! 4. Every remaining key that names a settable property (ignoring case; a private setter
//!    counts) is assigned. Any other key is dropped without a word.
//!
//! So a key can be valid for the schema and still be lost: a constructor parameter whose
//! constructor was not chosen, because one of its other parameters was absent, and which has
//! no setter. [`HostBuild::read`] applies these steps to a set of keys, and the tests of this
//! module run it over every binding the macros can emit.
//!
//! Where the rules were read (Azure/azure-webjobs-sdk at
//! `f79ea0bff76c31048388fde784a9164b5d880c8a`: `AttributeCloner.CreateDirect` in
//! `src/Microsoft.Azure.WebJobs.Host/Bindings/AttributeConverter.cs`; the type lookup and the
//! copies in `GetAttribute` and `Touchups` of
//! `src/Microsoft.Azure.WebJobs.Host/Extensions/JobHostMetadataProvider.cs`; Azure/azure-functions-host
//! at `89dc438d476542786f2fc4070f553423213a6223`: `src/WebJobs.Script/Binding/GeneralScriptBindingProvider.cs`
//! for the general path and the host's own keys).
//!
//! Triggers are then rebuilt once more from the attribute's non-null properties, and every
//! attribute again when it binds; both passes pick constructors by the same longest-match rule
//! over values the first pass set, so they agree with it for the keys azfn writes, which are
//! never null. Only the first pass is modelled here.
//!
//! The versions are those extension bundle 4.x loads: Azure/azure-functions-extension-bundles
//! at tag 4.38.0 (`d44ac016cb9b375175bd67d159342f789ce08053`),
//! `src/Microsoft.Azure.Functions.ExtensionBundle/extensions.json` (exact versions, or a major
//! version whose newest release is taken when the bundle is built) and
//! `tests/ExtensionBundle.Tests/TestData/any_any_extensions.deps.json` (the versions a build
//! resolved). The HTTP, timer and warmup bindings are not in the bundle: the host ships them
//! (Azure/azure-functions-host at `89dc438d476542786f2fc4070f553423213a6223`,
//! `src/WebJobs.Script/WebJobs.Script.csproj`).

/// A file of a public repository at one commit, where a fact of this module was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// `owner/name` on GitHub.
    pub repo: &'static str,
    /// The file's path in the repository.
    pub path: &'static str,
    /// The full commit id.
    pub commit: &'static str,
}

const fn src(repo: &'static str, path: &'static str, commit: &'static str) -> Source {
    Source { repo, path, commit }
}

/// A NuGet package at the version extension bundle 4.x loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    /// The package id.
    pub id: &'static str,
    /// The version.
    pub version: &'static str,
}

/// An extension's attribute class: what the host builds from a binding's keys.
#[derive(Debug)]
pub struct Attribute {
    /// The class name (`ServiceBusAttribute`).
    pub class: &'static str,
    /// The package that defines it, at the version the bundle loads.
    pub package: Package,
    /// Where the constructors and properties below were read.
    pub sources: &'static [Source],
    /// The public constructors' parameter names, in declaration order (`&[]` for the
    /// parameterless one, including the implicit constructor of a class that declares none).
    pub constructors: &'static [&'static [&'static str]],
    /// The properties with a setter, public or private: keys of these names are assigned after
    /// construction.
    pub properties: &'static [&'static str],
    /// Keys the host copies under another name before it builds the attribute: `(from, to)`.
    pub copies: &'static [(&'static str, &'static str)],
}

/// A kind the host builds with its own code instead of an attribute's constructors.
#[derive(Debug)]
pub struct BuiltIn {
    /// The host's code that builds it.
    pub builder: &'static str,
    /// The keys that code reads, besides [`HOST_KEYS`].
    pub reads: &'static [&'static str],
    /// Where that code was read.
    pub source: Source,
}

/// How the host turns a kind's keys into a binding.
#[derive(Debug, Clone, Copy)]
pub enum HostBuild {
    /// Through the extension attribute's constructors and settable properties.
    Attribute(&'static Attribute),
    /// By the host's own code.
    BuiltIn(&'static BuiltIn),
    /// The generic bindings: the user's `type` names an attribute azfn knows nothing about.
    UserType,
}

/// The keys the host reads itself, whatever the attribute (`GetRequestedType` and the binding
/// metadata in `GeneralScriptBindingProvider.cs`, Azure/azure-functions-host at
/// `89dc438d476542786f2fc4070f553423213a6223`).
pub const HOST_KEYS: &[&str] = &["type", "direction", "name", "dataType", "cardinality"];

/// No public constructor's parameters are all keys of the binding: the host does not load the
/// function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoConstructor {
    /// The attribute class.
    pub class: &'static str,
}

fn named(names: &[&str], key: &str) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(key))
}

impl Attribute {
    /// The keys the constructors and properties see: `keys` and their copies.
    fn with_copies<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        let mut all = keys.to_vec();
        for &(from, to) in self.copies {
            if named(keys, from) && !named(&all, to) {
                all.push(to);
            }
        }
        all
    }

    /// The constructor the host calls for a binding with `keys` (after the copies): the
    /// longest whose parameters are all keys, the first declared of equal ones.
    ///
    /// ```
    /// use azfn_bindings::extension::SQL_ATTRIBUTE;
    /// // `commandType` alone does not reach the constructor that takes it: that one also
    /// // needs `parameters`.
    /// let chosen = SQL_ATTRIBUTE.constructor_for(&["commandText", "commandType", "connectionStringSetting"]);
    /// assert_eq!(chosen, Some(&["commandText", "connectionStringSetting"][..]));
    /// ```
    pub fn constructor_for(&self, keys: &[&str]) -> Option<&'static [&'static str]> {
        let keys = self.with_copies(keys);
        let mut chosen: Option<&'static [&'static str]> = None;
        for &constructor in self.constructors {
            let fits = constructor.iter().all(|p| named(&keys, p));
            if fits && chosen.is_none_or(|c| constructor.len() > c.len()) {
                chosen = Some(constructor);
            }
        }
        chosen
    }

    /// The keys of `keys` the built attribute does not read: neither a parameter of the chosen
    /// constructor, nor a settable property, nor the host's own, nor copied to one of those.
    pub fn dropped<'k>(&self, keys: &[&'k str]) -> Result<Vec<&'k str>, NoConstructor> {
        let constructor = self.constructor_for(keys).ok_or(NoConstructor { class: self.class })?;
        let reads = |key: &str| named(constructor, key) || named(self.properties, key);
        Ok(keys
            .iter()
            .copied()
            .filter(|key| {
                let copied = self
                    .copies
                    .iter()
                    .any(|&(from, to)| from.eq_ignore_ascii_case(key) && reads(to));
                !(named(HOST_KEYS, key) || reads(key) || copied)
            })
            .collect())
    }

    /// Whether some constructor or property of this attribute has the name `key`, whatever
    /// the other keys.
    pub fn knows(&self, key: &str) -> bool {
        named(self.properties, key) || self.constructors.iter().any(|c| named(c, key))
    }
}

impl HostBuild {
    /// The keys of a binding with `keys` that the host drops (empty when all are read), or
    /// the attribute the host cannot build from them. The generic bindings are unknown here
    /// and read whole.
    ///
    /// ```
    /// use azfn_bindings::catalog::SERVICE_BUS_OUTPUT;
    /// let keys = ["type", "direction", "name", "queueOrTopicName", "connection"];
    /// assert!(SERVICE_BUS_OUTPUT.host.read(&keys).is_err());
    /// let keys = ["type", "direction", "name", "queueOrTopicName", "entityType", "connection"];
    /// assert_eq!(SERVICE_BUS_OUTPUT.host.read(&keys), Ok(vec![]));
    /// ```
    pub fn read<'k>(&self, keys: &[&'k str]) -> Result<Vec<&'k str>, NoConstructor> {
        match self {
            HostBuild::Attribute(attribute) => attribute.dropped(keys),
            HostBuild::BuiltIn(built_in) => Ok(keys
                .iter()
                .copied()
                .filter(|key| !named(HOST_KEYS, key) && !named(built_in.reads, key))
                .collect()),
            HostBuild::UserType => Ok(Vec::new()),
        }
    }

    /// The attribute, for kinds built from one.
    pub const fn attribute(&self) -> Option<&'static Attribute> {
        match self {
            HostBuild::Attribute(attribute) => Some(attribute),
            _ => None,
        }
    }
}

// The host's own code.

const HOST: &str = "Azure/azure-functions-host";
const HOST_COMMIT: &str = "89dc438d476542786f2fc4070f553423213a6223";

/// `httpTrigger`: the host makes the HTTP trigger attribute itself from three keys
/// (`methods` as a JSON array).
pub static HTTP_TRIGGER_BUILT_IN: BuiltIn = BuiltIn {
    builder: "WebJobsCoreScriptBindingProvider",
    reads: &["authLevel", "methods", "route"],
    source: src(
        HOST,
        "src/WebJobs.Script/Binding/WebJobsCoreScriptBindingProvider.cs",
        HOST_COMMIT,
    ),
};

/// `timerTrigger`: the host makes the timer trigger attribute itself.
pub static TIMER_TRIGGER_BUILT_IN: BuiltIn = BuiltIn {
    builder: "CoreExtensionsScriptBindingProvider",
    reads: &["schedule", "runOnStartup", "useMonitor"],
    source: src(
        HOST,
        "src/WebJobs.Script/Binding/CoreExtensionsScriptBindingProvider.cs",
        HOST_COMMIT,
    ),
};

/// The `http` output: the host's `HttpBinding`, no attribute, no keys of its own.
pub static HTTP_OUTPUT_BUILT_IN: BuiltIn = BuiltIn {
    builder: "HttpBinding",
    reads: &[],
    source: src(HOST, "src/WebJobs.Script/Binding/FunctionBinding.cs", HOST_COMMIT),
};

// Packages, at the versions extension bundle 4.38.0 loads (see the module docs).

const WEBJOBS_EXTENSIONS: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions",
    version: "5.1.0-12067",
};
const STORAGE_QUEUES: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.Storage.Queues",
    version: "5.3.7",
};
const STORAGE_BLOBS: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.Storage.Blobs",
    version: "5.3.7",
};
const TABLES: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.Tables",
    version: "1.4.0",
};
const SERVICE_BUS: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.ServiceBus",
    version: "5.17.0",
};
const EVENT_HUBS: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.EventHubs",
    version: "6.5.3",
};
const EVENT_GRID: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.EventGrid",
    version: "3.5.0",
};
const COSMOS_DB: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.CosmosDB",
    version: "4.15.0",
};
const SIGNALR: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.SignalRService",
    version: "2.1.0",
};
const SQL: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.Sql",
    version: "3.1.536",
};
const MYSQL: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.MySql",
    version: "1.0.129",
};
const KAFKA: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.Kafka",
    version: "4.3.2",
};
const RABBITMQ: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.RabbitMQ",
    version: "2.1.0",
};
const SENDGRID: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.SendGrid",
    version: "3.1.1",
};
const DURABLE_TASK: Package = Package {
    id: "Microsoft.Azure.WebJobs.Extensions.DurableTask",
    version: "3.12.5",
};

// Repositories and the commits read. Where the exact release's commit could not be pinned,
// the nearest stored one is cited and the gap is said beside the attribute.

const SDK_EXTENSIONS: &str = "Azure/azure-webjobs-sdk-extensions";
/// `dev`, also tag `cosmos-v4.8.2`.
const SDK_EXTENSIONS_COMMIT: &str = "2e7550f72362ee727b3e55703904212f0690c431";
const SDK_FOR_NET: &str = "Azure/azure-sdk-for-net";

/// `warmupTrigger`: no constructor parameters, no properties.
pub static WARMUP_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "WarmupTriggerAttribute",
    package: WEBJOBS_EXTENSIONS,
    sources: &[src(
        SDK_EXTENSIONS,
        "src/WebJobs.Extensions/Extensions/Warmup/Trigger/WarmupTriggerAttribute.cs",
        SDK_EXTENSIONS_COMMIT,
    )],
    constructors: &[&[]],
    properties: &[],
    copies: &[],
};

const QUEUES_API: Source = src(
    SDK_FOR_NET,
    "sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Queues/api/Microsoft.Azure.WebJobs.Extensions.Storage.Queues.net10.0.cs",
    "02a56170b13462f569bef308096491f67165dea1",
);

/// `queueTrigger`.
pub static QUEUE_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "QueueTriggerAttribute",
    package: STORAGE_QUEUES,
    sources: &[QUEUES_API],
    constructors: &[&["queueName"]],
    properties: &["Connection"],
    copies: &[],
};

/// `queue`.
pub static QUEUE_ATTRIBUTE: Attribute = Attribute {
    class: "QueueAttribute",
    package: STORAGE_QUEUES,
    sources: &[QUEUES_API],
    constructors: &[&["queueName"]],
    properties: &["Connection"],
    copies: &[],
};

const BLOBS_API: Source = src(
    SDK_FOR_NET,
    "sdk/storage/Microsoft.Azure.WebJobs.Extensions.Storage.Blobs/api/Microsoft.Azure.WebJobs.Extensions.Storage.Blobs.net8.0.cs",
    "0ec0ae172950a68bec32542b5200516a77cb7e3f",
);

/// `blobTrigger`: the host copies `path` to `blobPath`.
pub static BLOB_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "BlobTriggerAttribute",
    package: STORAGE_BLOBS,
    sources: &[BLOBS_API],
    constructors: &[&["blobPath"]],
    properties: &["Connection", "Source"],
    copies: &[("path", "blobPath")],
};

/// `blob`, in and out: the host copies `path` to `blobPath` and `direction` to `access`.
pub static BLOB_ATTRIBUTE: Attribute = Attribute {
    class: "BlobAttribute",
    package: STORAGE_BLOBS,
    sources: &[BLOBS_API],
    constructors: &[&["blobPath"], &["blobPath", "access"]],
    properties: &["Connection", "Access"],
    copies: &[("path", "blobPath"), ("direction", "access")],
};

/// `table`, in and out: the partition and row keys exist only as constructor parameters,
/// so a row key without a partition key reaches no constructor and is dropped.
pub static TABLE_ATTRIBUTE: Attribute = Attribute {
    class: "TableAttribute",
    package: TABLES,
    sources: &[src(
        SDK_FOR_NET,
        "sdk/tables/Microsoft.Azure.WebJobs.Extensions.Tables/src/TableAttribute.cs",
        "6ff1cc5043152e432bbfe72cb634262c56a1fe21",
    )],
    constructors: &[
        &["tableName"],
        &["tableName", "partitionKey"],
        &["tableName", "partitionKey", "rowKey"],
    ],
    properties: &["Filter", "Take", "Connection"],
    copies: &[],
};

const SERVICE_BUS_API: Source = src(
    SDK_FOR_NET,
    "sdk/servicebus/Microsoft.Azure.WebJobs.Extensions.ServiceBus/api/Microsoft.Azure.WebJobs.Extensions.ServiceBus.net10.0.cs",
    "05b0f722d0013797b740426fbc0c368966d90115",
);

/// `serviceBusTrigger`. No `accessRights`: that was a constructor parameter (named `access`)
/// of the Functions 1.x SDK only, gone since Azure/azure-webjobs-sdk
/// `e915ee574136207cab3b01cac7139bf09b013ace`. `MaxMessageBatchSize` is in the newest API
/// listing; whether 5.17.0 has it was not pinned, and azfn does not offer it.
pub static SERVICE_BUS_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "ServiceBusTriggerAttribute",
    package: SERVICE_BUS,
    sources: &[
        SERVICE_BUS_API,
        src(
            SDK_FOR_NET,
            "sdk/servicebus/Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/ServiceBusTriggerAttribute.cs",
            "d7e23c751f7270f867aa6d4159e04f08aaa1ef80",
        ),
    ],
    constructors: &[&["queueName"], &["topicName", "subscriptionName"]],
    properties: &[
        "Connection",
        "IsSessionsEnabled",
        "AutoCompleteMessages",
        "MaxMessageBatchSize",
    ],
    copies: &[],
};

/// `serviceBus`: one public constructor, which needs `entityType` as a key although C# gives
/// it a default. (The host also turns `queueName` or `topicName` keys into these two; azfn
/// writes `queueOrTopicName`.)
pub static SERVICE_BUS_ATTRIBUTE: Attribute = Attribute {
    class: "ServiceBusAttribute",
    package: SERVICE_BUS,
    sources: &[
        SERVICE_BUS_API,
        src(
            SDK_FOR_NET,
            "sdk/servicebus/Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/ServiceBusAttribute.cs",
            "343799ace6be464281c27a2657a8b477fe857d59",
        ),
    ],
    constructors: &[&["queueOrTopicName", "entityType"]],
    properties: &["Connection", "EntityType", "QueueOrTopicName"],
    copies: &[],
};

const EVENT_HUBS_API: Source = src(
    SDK_FOR_NET,
    "sdk/eventhub/Microsoft.Azure.WebJobs.Extensions.EventHubs/api/Microsoft.Azure.WebJobs.Extensions.EventHubs.net10.0.cs",
    "f735ebad7bcac291a65f09a15e8116052383ff3c",
);

/// `eventHubTrigger`.
pub static EVENT_HUB_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "EventHubTriggerAttribute",
    package: EVENT_HUBS,
    sources: &[EVENT_HUBS_API],
    constructors: &[&["eventHubName"]],
    properties: &["Connection", "ConsumerGroup"],
    copies: &[],
};

/// `eventHub`.
pub static EVENT_HUB_ATTRIBUTE: Attribute = Attribute {
    class: "EventHubAttribute",
    package: EVENT_HUBS,
    sources: &[EVENT_HUBS_API],
    constructors: &[&["eventHubName"]],
    properties: &["Connection"],
    copies: &[],
};

const EVENT_GRID_API: Source = src(
    SDK_FOR_NET,
    "sdk/eventgrid/Microsoft.Azure.WebJobs.Extensions.EventGrid/api/Microsoft.Azure.WebJobs.Extensions.EventGrid.net10.0.cs",
    "c157f31de6d36e10e964e5dddfe34e139833cc4a",
);

/// `eventGridTrigger`.
pub static EVENT_GRID_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "EventGridTriggerAttribute",
    package: EVENT_GRID,
    sources: &[EVENT_GRID_API],
    constructors: &[&[]],
    properties: &[],
    copies: &[],
};

/// `eventGrid`: `TopicEndpointUri` and `TopicKeySetting` are app-setting attributes, so both
/// values are setting *names* (the host looks the value up as it is; `%Name%` is not stripped).
pub static EVENT_GRID_ATTRIBUTE: Attribute = Attribute {
    class: "EventGridAttribute",
    package: EVENT_GRID,
    sources: &[EVENT_GRID_API],
    constructors: &[&[]],
    properties: &["TopicEndpointUri", "TopicKeySetting", "Connection"],
    copies: &[],
};

/// `cosmosDBTrigger`. The stored source is 4.8.2 (`cosmos-v4.8.2`); `ChangeFeedMode` came
/// later (Azure/azure-webjobs-sdk-extensions
/// `src/WebJobs.Extensions.CosmosDB/Trigger/CosmosDBChangeFeedMode.cs` at
/// `69d8c0049def352f2a90c060657c9373e4853044`, first in preview packages); that 4.15.0 reads it
/// was not pinned.
pub static COSMOS_DB_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "CosmosDBTriggerAttribute",
    package: COSMOS_DB,
    sources: &[
        src(
            SDK_EXTENSIONS,
            "src/WebJobs.Extensions.CosmosDB/Trigger/CosmosDBTriggerAttribute.cs",
            SDK_EXTENSIONS_COMMIT,
        ),
        src(
            SDK_EXTENSIONS,
            "src/WebJobs.Extensions.CosmosDB/Trigger/CosmosDBChangeFeedMode.cs",
            "69d8c0049def352f2a90c060657c9373e4853044",
        ),
    ],
    constructors: &[&["databaseName", "containerName"]],
    properties: &[
        "Connection",
        "LeaseConnection",
        "LeaseContainerName",
        "LeaseDatabaseName",
        "CreateLeaseContainerIfNotExists",
        "LeasesContainerThroughput",
        "LeaseContainerPrefix",
        "FeedPollDelay",
        "LeaseRenewInterval",
        "LeaseAcquireInterval",
        "LeaseExpirationInterval",
        "MaxItemsPerInvocation",
        "StartFromBeginning",
        "StartFromTime",
        "PreferredLocations",
        "ContainerName",
        "DatabaseName",
        "ChangeFeedMode",
    ],
    copies: &[],
};

/// `cosmosDB`, in and out (the stored source is 4.8.2, see the trigger).
pub static COSMOS_DB_ATTRIBUTE: Attribute = Attribute {
    class: "CosmosDBAttribute",
    package: COSMOS_DB,
    sources: &[src(
        SDK_EXTENSIONS,
        "src/WebJobs.Extensions.CosmosDB/CosmosDBAttribute.cs",
        SDK_EXTENSIONS_COMMIT,
    )],
    constructors: &[&[], &["databaseName", "containerName"]],
    properties: &[
        "CreateIfNotExists",
        "Connection",
        "Id",
        "PartitionKey",
        "ContainerThroughput",
        "SqlQuery",
        "PreferredLocations",
        "DatabaseName",
        "ContainerName",
    ],
    copies: &[],
};

const SIGNALR_API: Source = src(
    SDK_FOR_NET,
    "sdk/signalr/Microsoft.Azure.WebJobs.Extensions.SignalRService/api/Microsoft.Azure.WebJobs.Extensions.SignalRService.net10.0.cs",
    "1a7d34004b36332a75ac5c0d3bfbd3aed40eed45",
);

/// `signalRTrigger` (the C# parameter `@event` is named `event`).
pub static SIGNALR_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "SignalRTriggerAttribute",
    package: SIGNALR,
    sources: &[
        SIGNALR_API,
        src(
            SDK_FOR_NET,
            "sdk/signalr/Microsoft.Azure.WebJobs.Extensions.SignalRService/src/TriggerBindings/SignalRTriggerAttribute.cs",
            "0efe5a88bc5ad131f561d1efc3adc0d933afb294",
        ),
    ],
    constructors: &[
        &[],
        &["hubName", "category", "event"],
        &["hubName", "category", "event", "parameterNames"],
    ],
    properties: &["ConnectionStringSetting"],
    copies: &[],
};

const NEGOTIATION_PROPERTIES: &[&str] = &[
    "ClaimTypeList",
    "ConnectionStringSetting",
    "HubName",
    "IdToken",
    "UserId",
];

/// `signalRConnectionInfo`.
pub static SIGNALR_CONNECTION_INFO_ATTRIBUTE: Attribute = Attribute {
    class: "SignalRConnectionInfoAttribute",
    package: SIGNALR,
    sources: &[SIGNALR_API],
    constructors: &[&[]],
    properties: NEGOTIATION_PROPERTIES,
    copies: &[],
};

/// `signalRNegotiation`.
pub static SIGNALR_NEGOTIATION_ATTRIBUTE: Attribute = Attribute {
    class: "SignalRNegotiationAttribute",
    package: SIGNALR,
    sources: &[SIGNALR_API],
    constructors: &[&[]],
    properties: NEGOTIATION_PROPERTIES,
    copies: &[],
};

/// `signalREndpoints`.
pub static SIGNALR_ENDPOINTS_ATTRIBUTE: Attribute = Attribute {
    class: "SignalREndpointsAttribute",
    package: SIGNALR,
    sources: &[SIGNALR_API],
    constructors: &[&[]],
    properties: &["ConnectionStringSetting", "HubName"],
    copies: &[],
};

/// `signalR`.
pub static SIGNALR_ATTRIBUTE: Attribute = Attribute {
    class: "SignalRAttribute",
    package: SIGNALR,
    sources: &[SIGNALR_API],
    constructors: &[&[]],
    properties: &["ConnectionStringSetting", "HubName"],
    copies: &[],
};

const SQL_EXTENSION: &str = "Azure/azure-functions-sql-extension";
/// Tag `v3.1.536`.
const SQL_COMMIT: &str = "883b02e5554573d763259a0caccd95137a923d08";

/// `sqlTrigger`: no setters; `leasesTableName` only as a constructor parameter.
pub static SQL_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "SqlTriggerAttribute",
    package: SQL,
    sources: &[src(
        SQL_EXTENSION,
        "src/TriggerBinding/SqlTriggerAttribute.cs",
        SQL_COMMIT,
    )],
    constructors: &[
        &["tableName", "connectionStringSetting", "leasesTableName"],
        &["tableName", "connectionStringSetting"],
    ],
    properties: &[],
    copies: &[],
};

/// `sql`, in and out: no setters, so `commandType` is read only through the constructor that
/// also takes `parameters`.
pub static SQL_ATTRIBUTE: Attribute = Attribute {
    class: "SqlAttribute",
    package: SQL,
    sources: &[src(SQL_EXTENSION, "src/SqlAttribute.cs", SQL_COMMIT)],
    constructors: &[
        &["commandText", "connectionStringSetting", "commandType", "parameters"],
        &["commandText", "connectionStringSetting"],
        &["commandText", "connectionStringSetting", "parameters"],
    ],
    properties: &[],
    copies: &[],
};

const MYSQL_EXTENSION: &str = "Azure/azure-functions-mysql-extension";
/// `main` after the work for general availability (2025-04-17); the repository has no tags, so
/// the commit of 1.0.129 itself was not pinned. `leasesTableName` is there since
/// `09c386d0d37b441270adee7d2cca166666e35a37` (2024-08-19), before the first release.
const MYSQL_COMMIT: &str = "a28494bf18e24191b42796fb00b035b457d9253d";

/// `mysqlTrigger`: the same shape as the SQL trigger.
pub static MYSQL_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "MySqlTriggerAttribute",
    package: MYSQL,
    sources: &[src(
        MYSQL_EXTENSION,
        "src/TriggersBinding/MySqlTriggerAttribute.cs",
        MYSQL_COMMIT,
    )],
    constructors: &[
        &["tableName", "connectionStringSetting", "leasesTableName"],
        &["tableName", "connectionStringSetting"],
    ],
    properties: &[],
    copies: &[],
};

/// `mysql`, in and out: the same shape as [`SQL_ATTRIBUTE`].
pub static MYSQL_ATTRIBUTE: Attribute = Attribute {
    class: "MySqlAttribute",
    package: MYSQL,
    sources: &[src(MYSQL_EXTENSION, "src/MySqlAttribute.cs", MYSQL_COMMIT)],
    constructors: &[
        &["commandText", "connectionStringSetting", "commandType", "parameters"],
        &["commandText", "connectionStringSetting"],
        &["commandText", "connectionStringSetting", "parameters"],
    ],
    properties: &[],
    copies: &[],
};

const KAFKA_EXTENSION: &str = "Azure/azure-functions-kafka-extension";
/// Tag `4.3.2`.
const KAFKA_COMMIT: &str = "1bf7d7fed7fb9eeb0e1202f7c3962bbefc508136";

/// `kafkaTrigger`.
pub static KAFKA_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "KafkaTriggerAttribute",
    package: KAFKA,
    sources: &[src(
        KAFKA_EXTENSION,
        "src/Microsoft.Azure.WebJobs.Extensions.Kafka/Trigger/KafkaTriggerAttribute.cs",
        KAFKA_COMMIT,
    )],
    constructors: &[&["brokerList", "topic"]],
    properties: &[
        "EventHubConnectionString",
        "ConsumerGroup",
        "AvroSchema",
        "KeyAvroSchema",
        "KeyDataType",
        "AuthenticationMode",
        "Username",
        "Password",
        "Protocol",
        "SslKeyLocation",
        "SslCaLocation",
        "SslCertificateLocation",
        "SslKeyPassword",
        "SslCertificatePEM",
        "SslKeyPEM",
        "SslCaPEM",
        "SslCertificateandKeyPEM",
        "LagThreshold",
        "SchemaRegistryUrl",
        "SchemaRegistryUsername",
        "SchemaRegistryPassword",
        "OAuthBearerMethod",
        "OAuthBearerClientId",
        "OAuthBearerClientSecret",
        "OAuthBearerScope",
        "OAuthBearerTokenEndpointUrl",
        "OAuthBearerExtensions",
        "Topic",
        "BrokerList",
    ],
    copies: &[],
};

/// `kafka`.
pub static KAFKA_ATTRIBUTE: Attribute = Attribute {
    class: "KafkaAttribute",
    package: KAFKA,
    sources: &[src(
        KAFKA_EXTENSION,
        "src/Microsoft.Azure.WebJobs.Extensions.Kafka/Output/KafkaAttribute.cs",
        KAFKA_COMMIT,
    )],
    constructors: &[&["brokerList", "topic"], &[]],
    properties: &[
        "BrokerList",
        "AvroSchema",
        "KeyAvroSchema",
        "KeyDataType",
        "MaxMessageBytes",
        "BatchSize",
        "EnableIdempotence",
        "MessageTimeoutMs",
        "RequestTimeoutMs",
        "MaxRetries",
        "AuthenticationMode",
        "Username",
        "Password",
        "Protocol",
        "SslKeyLocation",
        "SslCaLocation",
        "SslCertificateLocation",
        "SslKeyPassword",
        "SslCertificatePEM",
        "SslKeyPEM",
        "SslCaPEM",
        "SslCertificateandKeyPEM",
        "LingerMs",
        "SchemaRegistryUrl",
        "SchemaRegistryUsername",
        "SchemaRegistryPassword",
        "OAuthBearerMethod",
        "OAuthBearerClientId",
        "OAuthBearerClientSecret",
        "OAuthBearerScope",
        "OAuthBearerTokenEndpointUrl",
        "OAuthBearerExtensions",
        "Topic",
    ],
    copies: &[],
};

const RABBITMQ_EXTENSION: &str = "Azure/azure-functions-rabbitmq-extension";
/// Tag `v2.0.3`, the newest stored; `dev` at `ec0bb66288027b8b095664cabdbd7d6a1ab16ffa` has the
/// same attribute files. 2.0.0 removed the host name, port and credential keys
/// (`ae75cde6ca4a5d715dd6846a6cff718e95a1ed2c`). The bundle resolves 2.1.0, whose own commit
/// was not pinned; the client-certificate properties of an unmerged pull request (#231) are
/// not assumed.
const RABBITMQ_COMMIT: &str = "b07eae9dc6761b419478d971bd2b2ad0de93f86d";

/// `rabbitMQTrigger`.
pub static RABBITMQ_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "RabbitMQTriggerAttribute",
    package: RABBITMQ,
    sources: &[src(
        RABBITMQ_EXTENSION,
        "extension/WebJobs.Extensions.RabbitMQ/Trigger/RabbitMQTriggerAttribute.cs",
        RABBITMQ_COMMIT,
    )],
    constructors: &[&["queueName"]],
    properties: &["ConnectionStringSetting", "DisableCertificateValidation", "QueueName"],
    copies: &[],
};

/// `rabbitMQ`.
pub static RABBITMQ_ATTRIBUTE: Attribute = Attribute {
    class: "RabbitMQAttribute",
    package: RABBITMQ,
    sources: &[src(
        RABBITMQ_EXTENSION,
        "extension/WebJobs.Extensions.RabbitMQ/RabbitMQAttribute.cs",
        RABBITMQ_COMMIT,
    )],
    constructors: &[&[]],
    properties: &["ConnectionStringSetting", "QueueName", "DisableCertificateValidation"],
    copies: &[],
};

/// `sendGrid` (the stored source is the `dev` file, unchanged since 2021; 3.1.1's own commit
/// was not pinned).
pub static SENDGRID_ATTRIBUTE: Attribute = Attribute {
    class: "SendGridAttribute",
    package: SENDGRID,
    sources: &[src(
        SDK_EXTENSIONS,
        "src/WebJobs.Extensions.SendGrid/SendGridAttribute.cs",
        SDK_EXTENSIONS_COMMIT,
    )],
    constructors: &[&[]],
    properties: &["ApiKey", "To", "From", "Subject", "Text"],
    copies: &[],
};

const DURABLE_EXTENSION: &str = "Azure/azure-functions-durable-extension";
/// Branch `v3.x` (2024-10); 3.12.5's own commit was not pinned. These attributes have kept
/// their shape since 2.x.
const DURABLE_COMMIT: &str = "92fecfc6671568adaf62531544f26d2197d3f271";

/// `orchestrationTrigger`.
pub static ORCHESTRATION_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "OrchestrationTriggerAttribute",
    package: DURABLE_TASK,
    sources: &[src(
        DURABLE_EXTENSION,
        "src/WebJobs.Extensions.DurableTask/TriggerAttributes/OrchestrationTriggerAttribute.cs",
        DURABLE_COMMIT,
    )],
    constructors: &[&[]],
    properties: &["Orchestration"],
    copies: &[],
};

/// `activityTrigger`.
pub static ACTIVITY_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "ActivityTriggerAttribute",
    package: DURABLE_TASK,
    sources: &[src(
        DURABLE_EXTENSION,
        "src/WebJobs.Extensions.DurableTask/TriggerAttributes/ActivityTriggerAttribute.cs",
        DURABLE_COMMIT,
    )],
    constructors: &[&[]],
    properties: &["Activity"],
    copies: &[],
};

/// `entityTrigger`.
pub static ENTITY_TRIGGER_ATTRIBUTE: Attribute = Attribute {
    class: "EntityTriggerAttribute",
    package: DURABLE_TASK,
    sources: &[src(
        DURABLE_EXTENSION,
        "src/WebJobs.Extensions.DurableTask/TriggerAttributes/EntityTriggerAttribute.cs",
        DURABLE_COMMIT,
    )],
    constructors: &[&[]],
    properties: &["EntityName"],
    copies: &[],
};

/// `durableClient` (its second constructor takes an options object no key can give).
pub static DURABLE_CLIENT_ATTRIBUTE: Attribute = Attribute {
    class: "DurableClientAttribute",
    package: DURABLE_TASK,
    sources: &[src(
        DURABLE_EXTENSION,
        "src/WebJobs.Extensions.DurableTask/DurableClientAttribute.cs",
        DURABLE_COMMIT,
    )],
    constructors: &[&[], &["durableClientOptions"]],
    properties: &["TaskHub", "ConnectionName", "ExternalClient"],
    copies: &[],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, ALL, Batch, BindingKind, KeySpec};

    /// The user's keys of `kind` whose presence can change what the host builds: constructor
    /// parameters (after the copies), keys named by a rule across keys, and keys that are
    /// filled or make another be filled. The rest are independent of each other.
    fn interacting(kind: &BindingKind, key: &KeySpec) -> bool {
        let in_constructor = kind.host.attribute().is_some_and(|a| {
            let names = a.with_copies(&[key.json]);
            a.constructors.iter().any(|c| names.iter().any(|n| named(c, n)))
        });
        in_constructor
            || kind.key_rules.iter().any(|r| r.keys().contains(&key.attr))
            || key.fill.is_some()
            || kind
                .keys
                .iter()
                .any(|k| k.fill.is_some_and(|f| f.when == Some(key.attr)))
    }

    /// The keys a user may leave out or set (`cardinality` is always written by the macro, from
    /// the payload type).
    fn optional(kind: &BindingKind) -> impl Iterator<Item = &'static KeySpec> {
        let keys: &'static [KeySpec] = kind.keys;
        keys.iter()
            .filter(|k| !k.required && k.json != catalog::CARDINALITY.json)
    }

    /// Whether the macro accepts a binding of `kind` setting exactly the optional keys `set`.
    fn accepted(kind: &BindingKind, set: &[&str]) -> bool {
        kind.key_rules.iter().all(|rule| rule.admits(|k| set.contains(&k)))
    }

    /// The `function.json` keys the macro writes for a binding of `kind` whose user set the
    /// optional keys `set`: the host's own, the required keys, the set ones, and the filled ones.
    fn emitted(kind: &BindingKind, set: &[&str]) -> Vec<&'static str> {
        let mut keys = vec!["type", "direction", "name"];
        if kind.direction() == crate::Direction::In {
            keys.push("dataType");
        }
        if matches!(kind.batch, Batch::Optional { .. }) {
            keys.push(catalog::CARDINALITY.json);
        }
        for key in kind.keys {
            if key.required || set.contains(&key.attr) {
                keys.push(key.json);
            }
        }
        keys.extend(kind.fills(|k| set.contains(&k)).map(|(key, _)| key.json));
        keys
    }

    fn check(kind: &BindingKind, set: &[&str], failures: &mut Vec<String>) {
        let keys = emitted(kind, set);
        match kind.host.read(&keys) {
            Ok(dropped) if dropped.is_empty() => {}
            Ok(dropped) => failures.push(format!(
                "{} with {set:?}: the host drops {dropped:?} of {keys:?}",
                kind.attr
            )),
            Err(e) => failures.push(format!(
                "{} with {set:?}: no constructor of {} fits {keys:?}",
                kind.attr, e.class
            )),
        }
    }

    /// The rule of issue 14: every binding the macros can emit reaches a constructor of its
    /// attribute, and no key it carries is dropped. Keys that can change the constructor are
    /// tried in every combination the macro accepts; each other key is added to each of those.
    #[test]
    fn every_emittable_binding_fits_a_constructor_and_loses_no_key() {
        let mut failures = Vec::new();
        let mut bindings = 0;
        for kind in ALL {
            if kind.open_keys {
                continue;
            }
            let (interacting, independent): (Vec<&KeySpec>, Vec<&KeySpec>) =
                optional(kind).partition(|k| interacting(kind, k));
            assert!(interacting.len() <= 12, "{}: too many combinations", kind.attr);
            let mut accepted_sets = 0;
            for mask in 0u32..1 << interacting.len() {
                let set: Vec<&str> = interacting
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, k)| k.attr)
                    .collect();
                if !accepted(kind, &set) {
                    continue;
                }
                accepted_sets += 1;
                check(kind, &set, &mut failures);
                for key in &independent {
                    let mut more = set.clone();
                    more.push(key.attr);
                    check(kind, &more, &mut failures);
                    bindings += 1;
                }
                bindings += 1;
            }
            assert!(accepted_sets > 0, "{}: the macro accepts no binding", kind.attr);
        }
        assert!(
            failures.is_empty(),
            "{} of {bindings} bindings are misread:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(bindings > 200, "{bindings}");
    }

    #[test]
    fn only_the_generic_kinds_are_unknown() {
        for kind in ALL {
            assert_eq!(
                kind.open_keys,
                matches!(kind.host, HostBuild::UserType),
                "{}",
                kind.attr
            );
        }
    }

    /// The host finds the attribute by the binding's `type`: the class name less `Attribute`,
    /// ignoring case. The built-in kinds are the three the host makes itself.
    #[test]
    fn every_kind_names_its_attribute_and_where_it_was_read() {
        let mut built_in = Vec::new();
        for kind in ALL {
            let sources: Vec<&Source> = match kind.host {
                HostBuild::Attribute(a) => {
                    let stem = a
                        .class
                        .strip_suffix("Attribute")
                        .expect("attribute classes end in Attribute");
                    assert!(
                        stem.eq_ignore_ascii_case(kind.json_type),
                        "{} is not {}",
                        a.class,
                        kind.json_type
                    );
                    assert!(
                        a.package.id.starts_with("Microsoft.Azure.WebJobs.Extensions"),
                        "{}",
                        a.package.id
                    );
                    assert!(
                        a.package.version.starts_with(|c: char| c.is_ascii_digit()),
                        "{}",
                        a.package.version
                    );
                    assert!(!a.constructors.is_empty(), "{}", a.class);
                    a.sources.iter().collect()
                }
                HostBuild::BuiltIn(b) => {
                    built_in.push(kind.json_type);
                    assert!(!b.builder.is_empty());
                    vec![&b.source]
                }
                HostBuild::UserType => continue,
            };
            assert!(!sources.is_empty(), "{}", kind.attr);
            for s in sources {
                assert_eq!(s.repo.matches('/').count(), 1, "{}", s.repo);
                assert!(s.path.contains('.'), "{}", s.path);
                assert!(
                    s.commit.len() == 40
                        && s.commit
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                    "{}",
                    s.commit
                );
            }
        }
        assert_eq!(built_in, ["httpTrigger", "timerTrigger", "http"]);
    }

    #[test]
    fn refused_keys_are_ones_the_loaded_extension_does_not_read() {
        let mut refused = 0;
        for kind in ALL {
            for r in kind.refused {
                let attribute = kind.host.attribute().expect("a refusal names its extension");
                assert!(!attribute.knows(r.json), "{} reads {}", attribute.class, r.json);
                refused += 1;
            }
        }
        assert_eq!(refused, 10);
    }

    #[test]
    fn the_constructor_is_the_longest_whose_parameters_are_all_keys() {
        static A: Attribute = Attribute {
            class: "AAttribute",
            package: TABLES,
            sources: &[],
            constructors: &[&["a"], &["a", "b"], &["a", "c"]],
            properties: &["P"],
            copies: &[("x", "c")],
        };
        assert_eq!(A.constructor_for(&["A"]), Some(&["a"][..]));
        assert_eq!(
            A.constructor_for(&["a", "b", "c"]),
            Some(&["a", "b"][..]),
            "the first of equals"
        );
        assert_eq!(
            A.constructor_for(&["a", "x"]),
            Some(&["a", "c"][..]),
            "through the copy"
        );
        assert_eq!(A.constructor_for(&["b"]), None);
        assert_eq!(A.dropped(&["a", "c", "p", "q", "name"]), Ok(vec!["q"]));
        assert_eq!(
            A.dropped(&["a", "b", "c"]),
            Ok(vec!["c"]),
            "a parameter of a constructor not chosen"
        );
        assert_eq!(A.dropped(&["b"]), Err(NoConstructor { class: "AAttribute" }));
    }

    /// What the catalog wrote before issue 14, read with the records: the checker finds it.
    #[test]
    fn the_misreadings_of_issue_14_are_found() {
        let host_keys = ["type", "direction", "name"];
        let with = |more: &[&'static str]| host_keys.iter().chain(more).copied().collect::<Vec<_>>();
        assert_eq!(
            SERVICE_BUS_ATTRIBUTE.dropped(&with(&["queueOrTopicName", "connection"])),
            Err(NoConstructor {
                class: "ServiceBusAttribute"
            })
        );
        assert_eq!(
            SQL_ATTRIBUTE.dropped(&with(&["commandText", "commandType", "connectionStringSetting"])),
            Ok(vec!["commandType"])
        );
        assert_eq!(
            MYSQL_ATTRIBUTE.dropped(&with(&[
                "commandText",
                "commandType",
                "parameters",
                "connectionStringSetting"
            ])),
            Ok(vec![])
        );
        assert_eq!(
            TABLE_ATTRIBUTE.dropped(&with(&["tableName", "rowKey"])),
            Ok(vec!["rowKey"])
        );
        assert_eq!(
            RABBITMQ_TRIGGER_ATTRIBUTE.dropped(&with(&["queueName", "hostName", "port", "userNameSetting"])),
            Ok(vec!["hostName", "port", "userNameSetting"])
        );
        assert_eq!(
            SERVICE_BUS_TRIGGER_ATTRIBUTE.dropped(&with(&["topicName", "subscriptionName", "accessRights"])),
            Ok(vec!["accessRights"])
        );
    }
}
