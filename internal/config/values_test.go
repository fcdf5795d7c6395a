package config

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestParseValue(t *testing.T) {
	tests := []struct {
		t       Type
		in      string
		want    string // canonical form
		wantErr string
	}{
		{TypeBoolean, "true", "true", ""},
		{TypeBoolean, " TRUE ", "true", ""},
		{TypeBoolean, "False", "false", ""},
		{TypeBoolean, "yes", "", "Expected value to be either true or false"},
		{TypeBoolean, "", "", "Expected value to be either true or false"},
		{TypeInt, "42", "42", ""},
		{TypeInt, " -7\t", "-7", ""},
		{TypeInt, "+7", "7", ""},
		{TypeInt, "2147483647", "2147483647", ""},
		{TypeInt, "2147483648", "", "Not a number of type INT"},
		{TypeInt, "1_000", "", "Not a number of type INT"},
		{TypeInt, "0x10", "", "Not a number of type INT"},
		{TypeInt, "1.0", "", "Not a number of type INT"},
		{TypeInt, "", "", "Not a number of type INT"},
		{TypeShort, "32767", "32767", ""},
		{TypeShort, "32768", "", "Not a number of type SHORT"},
		{TypeLong, "9223372036854775807", "9223372036854775807", ""},
		{TypeLong, "-9223372036854775808", "-9223372036854775808", ""},
		{TypeLong, "9223372036854775808", "", "Not a number of type LONG"},
		{TypeDouble, "0.5", "0.5", ""},
		{TypeDouble, "1", "1.0", ""},
		{TypeDouble, "1e3", "1000.0", ""},
		{TypeDouble, ".5", "0.5", ""},
		{TypeDouble, "2.5d", "2.5", ""},
		{TypeDouble, "1.7976931348623157E308", "1.7976931348623157E308", ""},
		{TypeDouble, "1e400", "Infinity", ""},
		{TypeDouble, "-Infinity", "-Infinity", ""},
		{TypeDouble, "NaN", "NaN", ""},
		{TypeDouble, "inf", "", "Not a number of type DOUBLE"},
		{TypeDouble, "1_0", "", "Not a number of type DOUBLE"},
		{TypeDouble, "e5", "", "Not a number of type DOUBLE"},
		{TypeDouble, "1e", "", "Not a number of type DOUBLE"},
		{TypeString, "  spaced  ", "spaced", ""},
		{TypeString, "\x01ctl\x02", "ctl", ""},
		{TypePassword, " secret ", "secret", ""},
		{TypeClass, "a.B", "a.B", ""},
		{TypeList, "", "", ""},
		{TypeList, "   ", "", ""},
		{TypeList, "a,b", "a,b", ""},
		{TypeList, " a , b\t,c ", "a,b,c", ""},
		{TypeList, "a,,b,", "a,,b,", ""},
	}
	for _, tc := range tests {
		v, err := parseValue(tc.t, tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("parseValue(%v, %q) error = %v, want %q", tc.t, tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseValue(%v, %q): %v", tc.t, tc.in, err)
			continue
		}
		if got, _ := v.Canonical(); got != tc.want {
			t.Errorf("parseValue(%v, %q) = %q, want %q", tc.t, tc.in, got, tc.want)
		}
	}
}

func TestListElements(t *testing.T) {
	v, err := parseValue(TypeList, "a,,b,")
	if err != nil {
		t.Fatal(err)
	}
	// Kafka splits with limit -1, keeping empty elements (which validators
	// then reject).
	if got := v.List(); !reflect.DeepEqual(got, []string{"a", "", "b", ""}) {
		t.Errorf("List() = %q", got)
	}
}

func TestFormatJavaDouble(t *testing.T) {
	tests := map[float64]string{
		0: "0.0", 0.5: "0.5", 0.9: "0.9", 1: "1.0", 100: "100.0", 1e-3: "0.001", 1e-4: "1.0E-4",
		9999999: "9999999.0", 1e7: "1.0E7", 1.5e10: "1.5E10", math.MaxFloat64: "1.7976931348623157E308",
		-2.5: "-2.5", 123456.789: "123456.789", math.Copysign(0, -1): "-0.0",
	}
	for f, want := range tests {
		if got := formatJavaDouble(f); got != want {
			t.Errorf("formatJavaDouble(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestValueStringHidesPasswords(t *testing.T) {
	v, _ := parseValue(TypePassword, "hunter2")
	if v.String() != "[hidden]" || v.Str() != "hunter2" {
		t.Errorf("String() = %q, Str() = %q", v.String(), v.Str())
	}
	if (Value{}).String() != "null" || !(Value{}).IsNull() {
		t.Error("zero Value is not null")
	}
}

func TestValueEqual(t *testing.T) {
	if !IntValue(3).Equal(IntValue(3)) || IntValue(3).Equal(LongValue(3)) || ListValue([]string{"a"}).Equal(ListValue([]string{"b"})) {
		t.Error("Equal is wrong")
	}
}

func TestMsDuration(t *testing.T) {
	if MsDuration(1500) != 1500*time.Millisecond || MsDuration(-1) != -time.Millisecond {
		t.Error("plain conversion wrong")
	}
	if MsDuration(math.MaxInt64) != time.Duration(math.MaxInt64) {
		t.Error("MaxInt64 ms does not saturate")
	}
	if MsDuration(math.MinInt64) != time.Duration(math.MinInt64) {
		t.Error("MinInt64 ms does not saturate")
	}
}

// The Type and Source numbering must be the wire codes, so a handler can copy
// them into kmsg structs.
func TestWireCodes(t *testing.T) {
	types := map[Type]kmsg.ConfigType{
		TypeBoolean: kmsg.ConfigTypeBoolean, TypeString: kmsg.ConfigTypeString, TypeInt: kmsg.ConfigTypeInt,
		TypeShort: kmsg.ConfigTypeShort, TypeLong: kmsg.ConfigTypeLong, TypeDouble: kmsg.ConfigTypeDouble,
		TypeList: kmsg.ConfigTypeList, TypeClass: kmsg.ConfigTypeClass, TypePassword: kmsg.ConfigTypePassword,
	}
	for ours, theirs := range types {
		if int8(ours) != int8(theirs) {
			t.Errorf("%v = %d, kmsg has %d", ours, ours, theirs)
		}
		if !strings.EqualFold(ours.String(), theirs.String()) {
			t.Errorf("%v name differs from kmsg %v", ours, theirs)
		}
	}
	sources := map[Source]kmsg.ConfigSource{
		SourceDynamicTopic: kmsg.ConfigSourceDynamicTopicConfig, SourceDynamicBroker: kmsg.ConfigSourceDynamicBrokerConfig,
		SourceDynamicDefaultBroker: kmsg.ConfigSourceDynamicDefaultBrokerConfig, SourceStaticBroker: kmsg.ConfigSourceStaticBrokerConfig,
		SourceDefault: kmsg.ConfigSourceDefaultConfig, SourceDynamicBrokerLogger: kmsg.ConfigSourceDynamicBrokerLoggerConfig,
		SourceClientMetrics: kmsg.ConfigSourceClientMetricsConfig, SourceGroup: kmsg.ConfigSourceGroupConfig,
	}
	for ours, theirs := range sources {
		if int8(ours) != int8(theirs) {
			t.Errorf("%v = %d, kmsg has %d", ours, ours, theirs)
		}
		if ours.String() != theirs.String() {
			t.Errorf("%v name differs from kmsg %v", ours, theirs)
		}
	}
	ops := map[AlterOp]kmsg.IncrementalAlterConfigOp{
		OpSet: kmsg.IncrementalAlterConfigOpSet, OpDelete: kmsg.IncrementalAlterConfigOpDelete,
		OpAppend: kmsg.IncrementalAlterConfigOpAppend, OpSubtract: kmsg.IncrementalAlterConfigOpSubtract,
	}
	for ours, theirs := range ops {
		if int8(ours) != int8(theirs) {
			t.Errorf("%v = %d, kmsg has %d", ours, ours, theirs)
		}
	}
}
