package config

import (
	"strings"
	"testing"
)

func mustParse(t *testing.T, typ Type, raw string) Value {
	t.Helper()
	v, err := parseValue(typ, raw)
	if err != nil {
		t.Fatalf("parseValue(%v, %q): %v", typ, raw, err)
	}
	return v
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name    string
		v       Validator
		typ     Type
		ok      []string
		bad     []string
		wantErr string // substring of the error for bad[0]
		desc    string // String(); "" to skip
	}{
		{"AtLeast", AtLeast(1), TypeInt, []string{"1", "100"}, []string{"0", "-5"}, "Value must be at least 1", "[1,...]"},
		{"AtLeast negative", AtLeast(-2), TypeLong, []string{"-2", "0"}, []string{"-3"}, "Value must be at least -2", "[-2,...]"},
		{"Between", Between(1, 17), TypeInt, []string{"1", "17"}, []string{"18", "0"}, "Value must be no more than 17", "[1,...,17]"},
		{"Between double", Between(0, 1), TypeDouble, []string{"0", "0.5", "1"}, []string{"1.01", "-0.1"}, "Value must be no more than 1", "[0,...,1]"},
		{"AtLeastFloat", AtLeastFloat(0.5), TypeDouble, []string{"0.5"}, []string{"0.4"}, "Value must be at least 0.5", "[0.5,...]"},
		{"OneOf", OneOf("CreateTime", "LogAppendTime"), TypeString, []string{"CreateTime", " LogAppendTime "}, []string{"createtime", ""}, "String must be one of: CreateTime, LogAppendTime", "[CreateTime, LogAppendTime]"},
		{"ListOf", ListOf("compact", "delete"), TypeList, []string{"", "compact", "delete,compact", "compact, delete"}, []string{"compact,foo", "compact,"}, "String must be one of: compact, delete", "[compact, delete]"},
		{"gzip level", gzipLevel, TypeInt, []string{"-1", "1", "9"}, []string{"0", "10", "-2"}, "Value must be between 1 and 9 or equal to -1", "[1,...,9] or -1"},
		{"throttled replicas", throttledReplicas("leader.replication.throttled.replicas"), TypeList,
			[]string{"", "*", "0:1", "0:1,1:2", " 0:1 , 2:3 "}, []string{"0-1", "*,0:1", "a:b"},
			"leader.replication.throttled.replicas must be the literal '*' or a list of replicas", "[partitionId]:[brokerId],[partitionId]:[brokerId],..."},
		{"non-empty unique list", nonEmptyNoDuplicates(false), TypeList, []string{"/a", "/a,/b"}, []string{"/a,/a", "", "/a,,/b"}, "must not be duplicated", ""},
		{"process roles", processRoles, TypeList, []string{"broker", "controller", "broker,controller"}, []string{"broker,broker", "", "worker"}, "Duplicate role names", "[broker, controller]"},
		{"cluster id", clusterID, TypeString, []string{"MkU3OEVBNTcwNTJENDM2Qg", "AAAAAAAAAAAAAAAAAAAAAA"}, []string{"my-cluster", "MkU3OEVBNTcwNTJENDM2Q", "MkU3OEVBNTcwNTJENDM2Qg=="}, "22 characters", ""},
		{"listeners", listenerList, TypeString, []string{"PLAINTEXT://:9092", "A://h:1,B://h:2", ""}, []string{"PLAINTEXT:9092", "A://h:1,A://h:2"}, "Unable to parse", ""},
		{"protocol map", protocolMap, TypeString, []string{"A:PLAINTEXT", "a:ssl, B:SASL_SSL"}, []string{"A:FOO", "A", "A:SSL,a:SSL"}, "Unknown security protocol", ""},
		{"host:port or empty", hostPortOrEmpty, TypeString, []string{"", "127.0.0.1:9644", "[::1]:80", ":0"}, []string{"localhost", "h:99999", "h:x"}, "Expected host:port", ""},
		{"quorum voters", quorumVoters, TypeList, []string{"", "1@h:9093", "1@h:9093,2@[::1]:9093"}, []string{"h:9093", "x@h:1", "1@h:1,1@g:2", "1@h"}, "expected {id}@{host}:{port}", ""},
		{"host:port list", hostPortList, TypeList, []string{"", "a:1,b:2"}, []string{"a", ":1"}, "expected host:port", ""},
		{"only null", onlyNull("x.class"), TypeClass, []string{""}, []string{"com.example.Policy"}, "Samsa cannot load Java classes; x.class must be left unset", ""},
		{"only false", onlyFalse("Tiered storage"), TypeBoolean, []string{"false"}, []string{"true"}, "Tiered storage is not supported by Samsa", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, raw := range tc.ok {
				if err := tc.v.Validate(mustParse(t, tc.typ, raw)); err != nil {
					t.Errorf("Validate(%q) = %v, want nil", raw, err)
				}
			}
			for i, raw := range tc.bad {
				err := tc.v.Validate(mustParse(t, tc.typ, raw))
				if err == nil {
					t.Errorf("Validate(%q) = nil, want an error", raw)
					continue
				}
				if i == 0 && !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Validate(%q) = %q, want it to contain %q", raw, err, tc.wantErr)
				}
			}
			if tc.desc != "" && tc.v.String() != tc.desc {
				t.Errorf("String() = %q, want %q", tc.v.String(), tc.desc)
			}
		})
	}
}

func TestRangeRejectsNull(t *testing.T) {
	if err := AtLeast(0).Validate(Value{t: TypeInt, null: true}); err == nil || err.Error() != "Value must be non-null" {
		t.Errorf("got %v", err)
	}
}

// Def.Parse frames a validator failure as Kafka's ConfigException does.
func TestDefParseMessage(t *testing.T) {
	d, _ := TopicDefs().Lookup("retention.ms")
	_, err := d.Parse("-5")
	e := FirstError(err)
	if e == nil {
		t.Fatalf("no *Error in %v", err)
	}
	if want := "Invalid value -5 for configuration retention.ms: Value must be at least -1"; e.Message() != want {
		t.Errorf("Message() = %q, want %q", e.Message(), want)
	}
	if want := "config: " + e.Message(); err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	pw, _ := BrokerDefs().Lookup("ssl.keystore.password")
	if _, err := pw.Parse("x"); err != nil {
		t.Fatal(err)
	}
	// Sensitive values are masked in messages.
	e2 := &Error{Err: ErrInvalidValue, Name: "ssl.key.password", Value: "hunter2", Reason: "bad", Sensitive: true}
	if strings.Contains(e2.Error(), "hunter2") {
		t.Errorf("password leaked: %s", e2)
	}
}
