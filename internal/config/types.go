package config

import "strconv"

// Type is a config's data type. The numeric values are the ConfigType codes
// that DescribeConfigs v3+ puts on the wire (kmsg.ConfigType), so a handler
// can copy them across unchanged.
type Type int8

// The config types, numbered as Kafka's DescribeConfigsResponse.ConfigType.
const (
	TypeUnknown  Type = 0
	TypeBoolean  Type = 1
	TypeString   Type = 2
	TypeInt      Type = 3 // 32-bit signed
	TypeShort    Type = 4 // 16-bit signed
	TypeLong     Type = 5 // 64-bit signed
	TypeDouble   Type = 6
	TypeList     Type = 7 // comma-separated strings
	TypeClass    Type = 8 // a Java class name (Samsa accepts only the names it implements)
	TypePassword Type = 9 // a string that is never shown (sensitive)
)

// String returns the type's name as Kafka's generated config docs print it
// ("boolean", "int", "list", ...).
func (t Type) String() string {
	switch t {
	case TypeBoolean:
		return "boolean"
	case TypeString:
		return "string"
	case TypeInt:
		return "int"
	case TypeShort:
		return "short"
	case TypeLong:
		return "long"
	case TypeDouble:
		return "double"
	case TypeList:
		return "list"
	case TypeClass:
		return "class"
	case TypePassword:
		return "password"
	}
	return "unknown(" + strconv.Itoa(int(t)) + ")"
}

// Source says where a config value came from. The numeric values are the
// ConfigSource codes of DescribeConfigs v1+ (kmsg.ConfigSource).
type Source int8

// The config sources, numbered as Kafka's DescribeConfigsResponse.ConfigSource.
// For a broker config the precedence is DynamicBroker > DynamicDefaultBroker >
// StaticBroker > Default; a topic config puts DynamicTopic in front of its
// broker synonyms' chain.
const (
	SourceUnknown              Source = 0
	SourceDynamicTopic         Source = 1 // DYNAMIC_TOPIC_CONFIG: a topic override
	SourceDynamicBroker        Source = 2 // DYNAMIC_BROKER_CONFIG: set at runtime for this node
	SourceDynamicDefaultBroker Source = 3 // DYNAMIC_DEFAULT_BROKER_CONFIG: set at runtime for all nodes
	SourceStaticBroker         Source = 4 // STATIC_BROKER_CONFIG: file, environment or --override
	SourceDefault              Source = 5 // DEFAULT_CONFIG: the built-in default
	SourceDynamicBrokerLogger  Source = 6 // DYNAMIC_BROKER_LOGGER_CONFIG
	SourceClientMetrics        Source = 7 // CLIENT_METRICS_CONFIG
	SourceGroup                Source = 8 // GROUP_CONFIG
)

// String returns Kafka's enum name for the source (DEFAULT_CONFIG, ...).
func (s Source) String() string {
	switch s {
	case SourceDynamicTopic:
		return "DYNAMIC_TOPIC_CONFIG"
	case SourceDynamicBroker:
		return "DYNAMIC_BROKER_CONFIG"
	case SourceDynamicDefaultBroker:
		return "DYNAMIC_DEFAULT_BROKER_CONFIG"
	case SourceStaticBroker:
		return "STATIC_BROKER_CONFIG"
	case SourceDefault:
		return "DEFAULT_CONFIG"
	case SourceDynamicBrokerLogger:
		return "DYNAMIC_BROKER_LOGGER_CONFIG"
	case SourceClientMetrics:
		return "CLIENT_METRICS_CONFIG"
	case SourceGroup:
		return "GROUP_CONFIG"
	}
	return "UNKNOWN"
}

// Importance is Kafka's documentation hint for how much a config matters.
type Importance int8

// The importance levels of Kafka's ConfigDef.
const (
	ImportanceLow Importance = iota
	ImportanceMedium
	ImportanceHigh
)

// String returns "low", "medium" or "high".
func (i Importance) String() string {
	switch i {
	case ImportanceLow:
		return "low"
	case ImportanceMedium:
		return "medium"
	case ImportanceHigh:
		return "high"
	}
	return "unknown"
}

// UpdateMode is Kafka's "Dynamic update mode" of a config: whether it can be
// changed on a running cluster and at which level.
type UpdateMode int8

// The update modes. Broker configs use the first three, exactly as Kafka's
// DynamicBrokerConfig classifies them; every topic config is ModeTopic.
const (
	// ModeReadOnly configs take effect only at start (file, env, --override).
	ModeReadOnly UpdateMode = iota
	// ModePerBroker configs may be altered for one node (resource name = node id).
	ModePerBroker
	// ModeClusterWide configs may be altered for one node or as the cluster
	// default (resource name "").
	ModeClusterWide
	// ModeTopic marks topic configs, which are always alterable per topic.
	ModeTopic
)

// String returns the mode as Kafka's docs print it.
func (m UpdateMode) String() string {
	switch m {
	case ModeReadOnly:
		return "read-only"
	case ModePerBroker:
		return "per-broker"
	case ModeClusterWide:
		return "cluster-wide"
	case ModeTopic:
		return "per-topic"
	}
	return "unknown"
}

// Scope tells broker configs from topic configs.
type Scope int8

// The two config scopes.
const (
	ScopeBroker Scope = iota
	ScopeTopic
)

// String returns "broker" or "topic".
func (s Scope) String() string {
	if s == ScopeTopic {
		return "topic"
	}
	return "broker"
}

// Unit is the unit a broker synonym of a topic config is expressed in; the
// value is converted to the topic config's milliseconds (Kafka's
// ConfigSynonym.HOURS_TO_MILLISECONDS and MINUTES_TO_MILLISECONDS).
type Unit int8

// The synonym units.
const (
	UnitSame    Unit = iota // no conversion
	UnitHours               // value * 3,600,000
	UnitMinutes             // value * 60,000
)

// Synonym names a broker config that supplies a topic config's default.
type Synonym struct {
	Name string
	Unit Unit
}

// Def defines one config: its name, type, default, validation and the
// metadata that DescribeConfigs serves. Defs are immutable after package
// initialisation and safe for concurrent use; callers must not modify them.
type Def struct {
	Name       string
	Type       Type
	Importance Importance
	Mode       UpdateMode
	Doc        string
	// Validator checks a parsed value; nil accepts any value of Type.
	Validator Validator
	// Synonyms lists, for a topic config, the broker configs that supply its
	// default, in Kafka's order of precedence (ServerTopicConfigSynonyms).
	Synonyms []Synonym
	// Deprecated, when non-empty, says why the config is deprecated and what
	// replaces it.
	Deprecated string
	// Internal configs are accepted but not listed (Kafka's defineInternal).
	Internal bool
	// ListenerOverride marks broker configs that may also be set for one
	// listener as listener.name.<listener>.<name>.
	ListenerOverride bool
	// KafkaDefault is set only where Samsa's default intentionally differs
	// from Apache Kafka's; it holds Kafka's default ("" for none/null) and
	// DefaultNote says why Samsa differs.
	KafkaDefault string
	DefaultNote  string

	dflt    string
	hasDflt bool
}

// Default returns the default in Kafka's string form and whether there is
// one; ok is false for a null default.
func (d *Def) Default() (value string, ok bool) { return d.dflt, d.hasDflt }

// Sensitive reports whether values of this config must never be shown
// (passwords), as Kafka's KafkaConfig.maybeSensitive.
func (d *Def) Sensitive() bool { return d.Type == TypePassword }

// ValidValues describes the accepted values as Kafka's docs do ("[1,...]",
// "[compact, delete]"); "" when any value of the type is accepted.
func (d *Def) ValidValues() string {
	if d.Validator == nil {
		return ""
	}
	return d.Validator.String()
}

// DiffersFromKafka reports whether Samsa's default differs from Kafka's.
func (d *Def) DiffersFromKafka() bool { return d.DefaultNote != "" }

// DefaultValue returns the parsed default; a null default gives a null Value.
func (d *Def) DefaultValue() Value {
	if !d.hasDflt {
		return Value{t: d.Type, null: true}
	}
	v, err := parseValue(d.Type, d.dflt)
	if err != nil {
		// Defaults are package constants checked by TestDefaultsParse.
		panic("config: bad built-in default for " + d.Name + ": " + err.Error())
	}
	return v
}

// Parse converts a raw string to a typed value and validates it, reporting
// failures as an *Error naming the config, the value and what is expected.
func (d *Def) Parse(raw string) (Value, error) {
	v, err := parseValue(d.Type, raw)
	if err != nil {
		return Value{}, d.invalid(raw, err.Error())
	}
	if d.Validator != nil {
		if err := d.Validator.Validate(v); err != nil {
			return Value{}, d.invalid(raw, err.Error())
		}
	}
	return v, nil
}

func (d *Def) invalid(raw, reason string) *Error {
	return &Error{Err: ErrInvalidValue, Name: d.Name, Value: raw, Reason: reason, Sensitive: d.Sensitive()}
}
