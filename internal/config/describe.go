package config

import (
	"slices"
	"strings"
)

// Entry is one config of a DescribeConfigs result, shaped like
// kmsg.DescribeConfigsResponseResourceConfig so a handler copies the fields
// across: Value is nil for null and for sensitive configs, Documentation is
// nil unless asked for, Synonyms is nil unless asked for.
type Entry struct {
	Name          string
	Value         *string
	Source        Source
	ReadOnly      bool
	Sensitive     bool
	Type          Type
	Documentation *string
	Synonyms      []SynonymValue
}

// IsDefault is DescribeConfigs v0's is_default flag.
func (e Entry) IsDefault() bool { return e.Source == SourceDefault }

// DescribeOptions selects what a describe returns. Names empty means every
// config; unknown names are skipped, as Kafka does.
type DescribeOptions struct {
	Names                []string
	IncludeSynonyms      bool
	IncludeDocumentation bool
}

func (o DescribeOptions) wants(name string) bool {
	return len(o.Names) == 0 || slices.Contains(o.Names, name)
}

func documentation(d *Def) *string {
	doc := d.Doc
	if d.Deprecated != "" {
		doc = "[DEPRECATED] " + doc + " " + d.Deprecated
	}
	return &doc
}

// Describe returns the topic's configs for DescribeConfigs, sorted by name:
// every (non-internal) topic config with its effective value and source, and
// its synonyms when asked for — the topic override first, then the broker
// synonyms level by level in Kafka's order. Topic configs are never
// read-only or sensitive.
//
// Unlike Kafka's ConfigHelper, whose synonym list starts only at the first
// broker synonym's own name (so retention.ms reports DEFAULT_CONFIG and no
// synonyms even when log.retention.hours is set), Samsa reports the synonym
// that actually supplied the value and its source.
func (t *TopicConfig) Describe(opts DescribeOptions) []Entry {
	var out []Entry
	for _, d := range topicRegistry.all {
		e, ok := t.entries[d.Name]
		if !ok || !opts.wants(d.Name) || (d.Internal && e.source != SourceDynamicTopic) {
			continue
		}
		ent := Entry{Name: d.Name, Source: e.source, Type: d.Type}
		if s, ok := e.value.Canonical(); ok {
			ent.Value = &s
		}
		if opts.IncludeDocumentation {
			ent.Documentation = documentation(d)
		}
		if opts.IncludeSynonyms {
			ent.Synonyms = slices.Clone(e.synonyms)
			if ent.Synonyms == nil {
				ent.Synonyms = []SynonymValue{}
			}
		}
		out = append(out, ent)
	}
	return out
}

// brokerSynonymNames is Kafka's DynamicBrokerConfig.brokerConfigSynonyms:
// the names that set the same broker setting, highest precedence first.
func brokerSynonymNames(name string) []string {
	switch name {
	case "log.roll.ms", "log.roll.hours":
		return []string{"log.roll.ms", "log.roll.hours"}
	case "log.roll.jitter.ms", "log.roll.jitter.hours":
		return []string{"log.roll.jitter.ms", "log.roll.jitter.hours"}
	case "log.flush.interval.ms":
		return []string{"log.flush.interval.ms", "log.flush.scheduler.interval.ms"}
	case "log.retention.ms", "log.retention.minutes", "log.retention.hours":
		return []string{"log.retention.ms", "log.retention.minutes", "log.retention.hours"}
	}
	if _, _, d, ok := brokerRegistry.LookupListenerOverride(name); ok {
		return []string{name, d.Name}
	}
	return []string{name}
}

// Describe returns the broker's configs for DescribeConfigs, sorted by name.
// perBroker selects the resource: true for this node (resource name = node
// id), which lists every broker config and every per-listener key that is set
// with its effective value; false for the cluster default (resource name ""),
// which lists only the configs set at the dynamic cluster-default level.
// Sources and synonyms follow Kafka's ConfigHelper.createBrokerConfigEntry:
// the synonyms of a config are its own name and its alternative names
// (log.retention.ms, .minutes, .hours) at every level they are set, level by
// level, starting from the config's own name; the first one is the source.
// Sensitive (password) values are never returned.
func (c *BrokerConfig) Describe(perBroker bool, opts DescribeOptions) []Entry {
	c.mu.RLock()
	defer c.mu.RUnlock()
	type lvl struct {
		m      map[string]setting
		source Source
	}
	levels := []lvl{
		{c.dynNode, SourceDynamicBroker},
		{c.dynDefault, SourceDynamicDefaultBroker},
		{c.static, SourceStaticBroker},
	}

	var names []string
	if perBroker {
		seen := map[string]bool{}
		for _, d := range brokerRegistry.public {
			names = append(names, d.Name)
			seen[d.Name] = true
		}
		for _, l := range levels {
			for k := range l.m {
				if !seen[k] {
					names = append(names, k)
					seen[k] = true
				}
			}
		}
	} else {
		names = sortedKeys(c.dynDefault)
	}
	slices.Sort(names)

	var out []Entry
	for _, name := range names {
		if !opts.wants(name) {
			continue
		}
		d, ok := brokerRegistry.resolveKey(name)
		if !ok {
			continue
		}
		sensitive := d.Sensitive()
		var syns []SynonymValue
		add := func(n, raw string, src Source) {
			var v *string
			if !sensitive {
				r := raw
				v = &r
			}
			syns = append(syns, SynonymValue{Name: n, Value: v, Source: src})
		}
		synNames := brokerSynonymNames(name)
		for _, l := range levels {
			for _, n := range synNames {
				if s, ok := l.m[n]; ok {
					add(n, s.raw, l.source)
				}
			}
		}
		for _, n := range synNames {
			if sd, ok := brokerRegistry.Lookup(n); ok {
				if raw, ok := sd.Default(); ok {
					add(n, raw, SourceDefault)
				}
			}
		}
		// Kafka drops the synonyms before the config's own name (a
		// higher-precedence alternative name is not this key's value).
		for len(syns) > 0 && syns[0].Name != name {
			syns = syns[1:]
		}
		if !perBroker {
			syns = slices.DeleteFunc(syns, func(s SynonymValue) bool { return s.Source != SourceDynamicDefaultBroker })
		}

		ent := Entry{Name: name, Source: SourceDefault, ReadOnly: d.Mode == ModeReadOnly, Sensitive: sensitive, Type: d.Type}
		if len(syns) > 0 {
			ent.Source = syns[0].Source
		}
		var v Value
		if perBroker {
			v = c.lookup(name, c.dynNode, c.dynDefault).value
		} else {
			v = c.dynDefault[name].value
		}
		if s, ok := v.Canonical(); ok && !sensitive {
			ent.Value = &s
		}
		if opts.IncludeDocumentation {
			ent.Documentation = documentation(d)
		}
		if opts.IncludeSynonyms {
			if syns == nil {
				syns = []SynonymValue{}
			}
			ent.Synonyms = syns
		}
		out = append(out, ent)
	}
	return out
}

// DescribeDefs returns the documentation table of a registry in Kafka's
// generated-docs columns, for `samsa config --list` style output: name,
// type, default ("null" for none), valid values, importance, update mode and
// documentation, plus Samsa's note where its default differs from Kafka's.
func DescribeDefs(r *Registry) [][]string {
	out := [][]string{{"Name", "Type", "Default", "Valid Values", "Importance", "Dynamic Update Mode", "Description"}}
	for _, d := range r.Defs() {
		dflt, ok := d.Default()
		if !ok {
			dflt = "null"
		} else if dflt == "" {
			dflt = `""`
		}
		doc := *documentation(d)
		if d.DefaultNote != "" {
			kd := d.KafkaDefault
			if kd == "" {
				kd = "none"
			}
			doc += " Samsa's default differs from Kafka's (" + kd + "): " + d.DefaultNote
		}
		if len(d.Synonyms) > 0 {
			var names []string
			for _, s := range d.Synonyms {
				names = append(names, s.Name)
			}
			doc += " Server default property: " + strings.Join(names, ", ") + "."
		}
		out = append(out, []string{d.Name, d.Type.String(), dflt, d.ValidValues(), d.Importance.String(), d.Mode.String(), doc})
	}
	return out
}
