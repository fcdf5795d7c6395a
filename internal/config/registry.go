package config

import (
	"sort"
	"strings"
)

// Registry is the set of config definitions of one scope. The two registries
// (BrokerDefs, TopicDefs) are built once at package initialisation and are
// immutable and safe for concurrent use.
type Registry struct {
	scope  Scope
	byName map[string]*Def
	all    []*Def // every def, internal ones included, sorted by name
	public []*Def // non-internal defs, sorted by name
}

func newRegistry(scope Scope, defs []*Def) *Registry {
	r := &Registry{scope: scope, byName: make(map[string]*Def, len(defs))}
	for _, d := range defs {
		if _, dup := r.byName[d.Name]; dup {
			panic("config: " + d.Name + " is defined twice")
		}
		if scope == ScopeTopic {
			d.Mode = ModeTopic
		}
		r.byName[d.Name] = d
		r.all = append(r.all, d)
	}
	sort.Slice(r.all, func(i, j int) bool { return r.all[i].Name < r.all[j].Name })
	for _, d := range r.all {
		if !d.Internal {
			r.public = append(r.public, d)
		}
	}
	return r
}

var (
	brokerRegistry = newRegistry(ScopeBroker, brokerDefs())
	topicRegistry  = newRegistry(ScopeTopic, topicDefs())
)

// BrokerDefs returns the registry of broker configs.
func BrokerDefs() *Registry { return brokerRegistry }

// TopicDefs returns the registry of topic configs.
func TopicDefs() *Registry { return topicRegistry }

// Scope returns the registry's scope.
func (r *Registry) Scope() Scope { return r.scope }

// Lookup returns the definition of name, internal ones included.
func (r *Registry) Lookup(name string) (*Def, bool) {
	d, ok := r.byName[name]
	return d, ok
}

// Defs returns the non-internal definitions sorted by name. The slice is
// shared: callers must not modify it or the Defs.
func (r *Registry) Defs() []*Def { return r.public }

// Names returns the non-internal config names, sorted; the caller owns the
// slice.
func (r *Registry) Names() []string {
	out := make([]string, len(r.public))
	for i, d := range r.public {
		out[i] = d.Name
	}
	return out
}

// ListenerPrefix is the prefix of per-listener broker configs:
// listener.name.<listener name, lower case>.<config>.
const ListenerPrefix = "listener.name."

// saslMechanismConfigs may also carry a SASL mechanism between the listener
// prefix and the name (listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config),
// as Kafka's DynamicBrokerConfig.ListenerMechanismConfigs.
var saslMechanismConfigs = map[string]bool{"sasl.jaas.config": true}

// LookupListenerOverride resolves a per-listener key such as
// "listener.name.sasl_ssl.ssl.keystore.location". It returns the listener
// name (upper-cased, as listener names are normalised), the SASL mechanism
// for mechanism-scoped keys ("" otherwise) and the definition of the base
// config. ok is false if key is not a per-listener form of a config that
// allows one.
func (r *Registry) LookupListenerOverride(key string) (listener, mechanism string, d *Def, ok bool) {
	if r.scope != ScopeBroker || !strings.HasPrefix(key, ListenerPrefix) {
		return "", "", nil, false
	}
	rest := key[len(ListenerPrefix):]
	name, base, found := strings.Cut(rest, ".")
	if !found || name == "" {
		return "", "", nil, false
	}
	if d, ok := r.byName[base]; ok && d.ListenerOverride {
		return strings.ToUpper(name), "", d, true
	}
	mech, base2, found := strings.Cut(base, ".")
	if found && mech != "" && saslMechanismConfigs[base2] {
		if d, ok := r.byName[base2]; ok {
			return strings.ToUpper(name), strings.ToUpper(mech), d, true
		}
	}
	return "", "", nil, false
}

// resolveKey finds the definition for a broker or topic key, accepting the
// per-listener forms for broker configs.
func (r *Registry) resolveKey(key string) (*Def, bool) {
	if d, ok := r.byName[key]; ok {
		return d, true
	}
	if _, _, d, ok := r.LookupListenerOverride(key); ok {
		return d, true
	}
	return nil, false
}

// nullDefault marks a definition whose default is null.
const nullDefault = "\x00null"

func newDef(name string, t Type, dflt string, v Validator, imp Importance, mode UpdateMode, doc string) *Def {
	d := &Def{Name: name, Type: t, Validator: v, Importance: imp, Mode: mode, Doc: doc}
	if dflt != nullDefault {
		d.dflt, d.hasDflt = dflt, true
	}
	return d
}

// samsa records that Samsa's default differs from Kafka's and why.
func (d *Def) samsa(kafkaDefault, why string) *Def {
	d.KafkaDefault, d.DefaultNote = kafkaDefault, why
	return d
}

func (d *Def) deprecated(why string) *Def {
	d.Deprecated = why
	return d
}

func (d *Def) perListener() *Def {
	d.ListenerOverride = true
	return d
}

func (d *Def) internal() *Def {
	d.Internal = true
	return d
}

func (d *Def) syn(s ...Synonym) *Def {
	d.Synonyms = s
	return d
}
