package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseListener(t *testing.T) {
	tests := []struct {
		in      string
		want    Listener
		wantErr string
	}{
		{"PLAINTEXT://127.0.0.1:9092", Listener{Name: "PLAINTEXT", Host: "127.0.0.1", Port: 9092}, ""},
		{"plaintext://:9092", Listener{Name: "PLAINTEXT", Host: "", Port: 9092}, ""},
		{"CLIENT://broker-1.example.com:19092", Listener{Name: "CLIENT", Host: "broker-1.example.com", Port: 19092}, ""},
		{"SSL://[::1]:9093", Listener{Name: "SSL", Host: "::1", Port: 9093}, ""},
		{"SSL://[fe80::1%eth0]:9093", Listener{Name: "SSL", Host: "fe80::1%eth0", Port: 9093}, ""},
		{"TEST://127.0.0.1:0", Listener{Name: "TEST", Host: "127.0.0.1", Port: 0}, ""},
		{"PLAINTEXT://0.0.0.0:9092", Listener{Name: "PLAINTEXT", Host: "0.0.0.0", Port: 9092}, ""},
		{"PLAINTEXT:9092", Listener{}, "Unable to parse"},
		{"://h:1", Listener{}, "Unable to parse"},
		{"PLAINTEXT://h", Listener{}, "Unable to parse"},
		{"PLAINTEXT://h:65536", Listener{}, "must be between 0 and 65535"},
		{"PLAINTEXT://h:-1", Listener{}, "must be between 0 and 65535"},
		{"PLAINTEXT://bad host:1", Listener{}, "Unable to parse"},
	}
	for _, tc := range tests {
		got, err := ParseListener(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseListener(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseListener(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	l := Listener{Name: "SSL", Host: "::1", Port: 9093}
	if l.String() != "SSL://[::1]:9093" || l.Addr() != "[::1]:9093" {
		t.Errorf("String/Addr = %s %s", l.String(), l.Addr())
	}
}

func TestParseListeners(t *testing.T) {
	got, err := ParseListeners(" PLAINTEXT://:9092 , CONTROLLER://:9093,")
	if err != nil || len(got) != 2 || got[1].Name != "CONTROLLER" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for in, want := range map[string]string{
		"A://h:1,a://h:2":             "Each listener must have a different name",
		"A://h:1,B://h:1":             "Each listener must have a different port",
		"A://:1,B://127.0.0.1:1":      "Each listener must have a different port",
		"A://127.0.0.1:1,B://[::1]:1": "", // one IPv4 and one IPv6 may share a port
		"A://127.0.0.1:0,B://[::1]:0": "",
		"A://127.0.0.1:0,B://h:0":     "", // port 0 never collides
		"":                            "",
	} {
		_, err := ParseListeners(in)
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("ParseListeners(%q) = %v, want %q", in, err, want)
		}
	}
}

func TestParseSecurityProtocolMap(t *testing.T) {
	got, err := ParseSecurityProtocolMap("internal:ssl, EXTERNAL : SASL_SSL,CONTROLLER:PLAINTEXT")
	want := map[string]SecurityProtocol{"INTERNAL": ProtocolSSL, "EXTERNAL": ProtocolSASLSSL, "CONTROLLER": ProtocolPlaintext}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, %v", got, err)
	}
	if !ProtocolSASLSSL.TLS() || !ProtocolSASLSSL.SASL() || ProtocolPlaintext.TLS() || ProtocolSSL.SASL() {
		t.Error("protocol predicates wrong")
	}
}

func TestParseQuorumVoters(t *testing.T) {
	got, err := ParseQuorumVoters([]string{"1@localhost:9093", "2@[::1]:9094"})
	want := []QuorumVoter{{1, "localhost", 9093}, {2, "::1", 9094}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, %v", got, err)
	}
	if got[1].Addr() != "[::1]:9094" {
		t.Errorf("Addr = %s", got[1].Addr())
	}
}

func brokerErr(t *testing.T, props map[string]string) error {
	t.Helper()
	_, err := NewBrokerConfig(props)
	return err
}

func TestBrokerListenerDerivation(t *testing.T) {
	c, err := NewBrokerConfig(map[string]string{
		"listeners":                      "INTERNAL://0.0.0.0:9092,EXTERNAL://:9094,CONTROLLER://127.0.0.1:9093",
		"advertised.listeners":           "INTERNAL://kafka-1.internal:9092,EXTERNAL://kafka-1.example.com:9094",
		"listener.security.protocol.map": "INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT",
		"inter.broker.listener.name":     "internal",
		"controller.listener.names":      "CONTROLLER",
		"controller.quorum.voters":       "1@127.0.0.1:9093",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker()
	if len(b.Listeners) != 3 || b.Listeners[1].SecurityProtocol != ProtocolSASLSSL {
		t.Errorf("listeners = %+v", b.Listeners)
	}
	if len(b.AdvertisedListeners) != 2 || b.AdvertisedListeners[1].Host != "kafka-1.example.com" || b.AdvertisedListeners[1].SecurityProtocol != ProtocolSASLSSL {
		t.Errorf("advertised = %+v", b.AdvertisedListeners)
	}
	if b.InterBrokerListenerName != "INTERNAL" || b.InterBrokerSecurityProtocol != ProtocolPlaintext {
		t.Errorf("inter-broker = %s %s", b.InterBrokerListenerName, b.InterBrokerSecurityProtocol)
	}
	if !reflect.DeepEqual(b.ControllerListenerNames, []string{"CONTROLLER"}) || b.ControllerListenerSecurityProtocol != ProtocolPlaintext {
		t.Errorf("controller = %v %v", b.ControllerListenerNames, b.ControllerListenerSecurityProtocol)
	}
	if l, ok := b.Listener("external"); !ok || l.Port != 9094 {
		t.Errorf("Listener(external) = %+v %v", l, ok)
	}
}

func TestBrokerAdvertisedDefaults(t *testing.T) {
	// Advertised defaults to listeners less controller listeners, and the
	// controller listener gets PLAINTEXT when the map is not set.
	c, err := NewBrokerConfig(map[string]string{
		"listeners":                 "PLAINTEXT://:9092,CONTROLLER://:9093",
		"controller.listener.names": "CONTROLLER",
		"controller.quorum.voters":  "1@localhost:9093",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker()
	if len(b.AdvertisedListeners) != 1 || b.AdvertisedListeners[0].Name != "PLAINTEXT" || b.AdvertisedListeners[0].Host != "" {
		t.Errorf("advertised = %+v", b.AdvertisedListeners)
	}
	if b.SecurityProtocolMap["CONTROLLER"] != ProtocolPlaintext {
		t.Errorf("map = %v", b.SecurityProtocolMap)
	}
	// Samsa leniency: neither inter-broker setting given and no PLAINTEXT
	// listener: the first advertised listener is used.
	c, err = NewBrokerConfig(map[string]string{
		"listeners":                      "CLIENT://127.0.0.1:0",
		"listener.security.protocol.map": "CLIENT:PLAINTEXT",
	})
	if err != nil {
		t.Fatal(err)
	}
	if b := c.Broker(); b.InterBrokerListenerName != "CLIENT" || b.Listeners[0].Port != 0 {
		t.Errorf("inter-broker = %s, port %d", b.InterBrokerListenerName, b.Listeners[0].Port)
	}
}

func TestBrokerCrossFieldErrors(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"listener without protocol", map[string]string{"listeners": "FOO://:9092"},
			"Listener with name FOO defined in listeners not found in listener.security.protocol.map"},
		{"no listeners", map[string]string{"listeners": ""}, "listeners must contain at least one listener"},
		{"advertised unknown name", map[string]string{"advertised.listeners": "SSL://h:9093"},
			"advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. Found SSL"},
		{"advertised meta-address", map[string]string{"advertised.listeners": "PLAINTEXT://0.0.0.0:9092"},
			"advertised.listeners cannot use the nonroutable meta-address 0.0.0.0"},
		{"both inter-broker settings", map[string]string{"inter.broker.listener.name": "PLAINTEXT", "security.inter.broker.protocol": "PLAINTEXT"},
			"Only one of inter.broker.listener.name and security.inter.broker.protocol should be set."},
		{"inter-broker listener missing", map[string]string{"inter.broker.listener.name": "REPLICATION"},
			"inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are PLAINTEXT"},
		{"inter-broker protocol without listener", map[string]string{"security.inter.broker.protocol": "SSL"},
			"inter.broker.listener.name must be a listener name defined in advertised.listeners"},
		{"controller listener missing", map[string]string{"controller.listener.names": "CONTROLLER"},
			"controller.listener.names must contain only listeners that appear in listeners"},
		{"controller listener on broker-only node", map[string]string{"process.roles": "broker", "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
			"controller.listener.names": "CONTROLLER", "controller.quorum.bootstrap.servers": "c:9093"},
			"must not contain a value appearing in listeners when running with just the broker role"},
		{"broker-only without controllers", map[string]string{"process.roles": "broker"},
			"needs controllers: set controller.quorum.bootstrap.servers or controller.quorum.voters"},
		{"voters without this node", map[string]string{"controller.quorum.voters": "2@h:9093", "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093", "controller.listener.names": "CONTROLLER"},
			"the node id 1 must be included in the set of voters"},
		{"voters without controller listener", map[string]string{"controller.quorum.voters": "1@h:9093"},
			"controller.listener.names must be set when controller.quorum.voters is"},
		{"listener override for unknown listener", map[string]string{"listener.name.ssl.ssl.keystore.location": "/k.pem"},
			"listener.name.ssl.ssl.keystore.location is set for listener SSL, which is not in listeners (PLAINTEXT)"},
		{"compaction lags", map[string]string{"log.cleaner.min.compaction.lag.ms": "10", "log.cleaner.max.compaction.lag.ms": "5"},
			"conflict broker config setting log.cleaner.min.compaction.lag.ms (10) > log.cleaner.max.compaction.lag.ms (5)"},
		{"replica fetch wait vs socket timeout", map[string]string{"replica.fetch.wait.max.ms": "40000"},
			"replica.socket.timeout.ms should always be at least replica.fetch.wait.max.ms"},
		{"group session bounds", map[string]string{"group.min.session.timeout.ms": "10", "group.max.session.timeout.ms": "5"},
			"group.max.session.timeout.ms must be greater than or equal to group.min.session.timeout.ms"},
		{"consumer heartbeat vs session", map[string]string{"group.consumer.heartbeat.interval.ms": "50000", "group.consumer.max.heartbeat.interval.ms": "60000"},
			"group.consumer.heartbeat.interval.ms must be less than group.consumer.session.timeout.ms"},
		{"consumer session out of bounds", map[string]string{"group.consumer.session.timeout.ms": "70000"},
			"group.consumer.session.timeout.ms must be between group.consumer.min.session.timeout.ms and group.consumer.max.session.timeout.ms"},
		{"classic protocol required", map[string]string{"group.coordinator.rebalance.protocols": "consumer"},
			"The classic rebalance protocol must be enabled"},
		{"max connections per ip", map[string]string{"max.connections.per.ip": "0"},
			"There must be at least one override of max.connections.per.ip"},
		{"bad connection overrides", map[string]string{"max.connections.per.ip.overrides": "host"},
			"expected host:count"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := brokerErr(t, tc.props)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrInvalidValue) {
				t.Errorf("error does not wrap ErrConflict: %v", err)
			}
		})
	}
}

func TestBrokerValueChecks(t *testing.T) {
	for props, want := range map[string]string{
		"process.roles=worker":                                          "String must be one of: broker, controller",
		"cluster.id=not-a-uuid":                                         "22 characters",
		"log.dirs=/a,/a":                                                "must not be duplicated",
		"remote.log.storage.system.enable=true":                         "Tiered storage is not supported by Samsa",
		"create.topic.policy.class.name=com.example.Policy":             "Samsa cannot load Java classes",
		"authorizer.class.name=kafka.security.authorizer.AclAuthorizer": "String must be one of",
		"sasl.enabled.mechanisms=GSSAPI":                                "String must be one of: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
		"ssl.keystore.type=JKS":                                         "String must be one of: PEM",
		"log.segment.bytes=1048575":                                     "Value must be at least 1048576",
		"samsa.http.listener=nope":                                      "Expected host:port",
	} {
		k, v, _ := strings.Cut(props, "=")
		err := brokerErr(t, map[string]string{k: v})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", props, err, want)
		}
	}
	c, err := NewBrokerConfig(map[string]string{
		"cluster.id": "MkU3OEVBNTcwNTJENDM2Qg", "authorizer.class.name": StandardAuthorizerClass,
		"super.users": "User:admin; User:broker", "samsa.http.listener": "", "log.dirs": "/d1,/d2", "log.dir": "/ignored",
		"max.connections.per.ip.overrides": "host1:10,[::1]:20,::1:30",
	})
	if err != nil {
		t.Fatal(err)
	}
	b := c.Broker()
	if b.ClusterID != "MkU3OEVBNTcwNTJENDM2Qg" || !b.AuthorizerEnabled || !reflect.DeepEqual(b.SuperUsers, []string{"User:admin", "User:broker"}) || b.HTTPListener != "" {
		t.Errorf("broker = %+v", b)
	}
	if !reflect.DeepEqual(b.LogDirs, []string{"/d1", "/d2"}) {
		t.Errorf("log.dirs should win over log.dir: %q", b.LogDirs)
	}
	if b.MaxConnectionsPerIPOverrides["host1"] != 10 || b.MaxConnectionsPerIPOverrides["[::1]"] != 20 || b.MaxConnectionsPerIPOverrides["::1"] != 30 {
		t.Errorf("overrides = %v", b.MaxConnectionsPerIPOverrides)
	}
}

func TestForListener(t *testing.T) {
	c, err := NewBrokerConfig(map[string]string{
		"listeners":             "PLAINTEXT://:9092,SASL_SSL://:9093",
		"ssl.keystore.location": "/base.pem",
		"listener.name.sasl_ssl.ssl.keystore.location":          "/sasl.pem",
		"listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": "scram-jaas",
		"listener.name.sasl_ssl.sasl.jaas.config":               "any-jaas",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.ForListener("SASL_SSL", "", "ssl.keystore.location").Str(); got != "/sasl.pem" {
		t.Errorf("per-listener keystore = %q", got)
	}
	if got := c.ForListener("PLAINTEXT", "", "ssl.keystore.location").Str(); got != "/base.pem" {
		t.Errorf("base keystore = %q", got)
	}
	if got := c.ForListener("SASL_SSL", "SCRAM-SHA-256", "sasl.jaas.config").Str(); got != "scram-jaas" {
		t.Errorf("mechanism jaas = %q", got)
	}
	if got := c.ForListener("SASL_SSL", "PLAIN", "sasl.jaas.config").Str(); got != "any-jaas" {
		t.Errorf("listener jaas = %q", got)
	}
	if got := c.ForListener("SASL_SSL", "", "ssl.client.auth").Str(); got != "none" {
		t.Errorf("default = %q", got)
	}
}
