package cli

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestParseTopicPartitions(t *testing.T) {
	for _, tc := range []struct {
		in    string
		topic string
		parts []int32
	}{
		{"t", "t", nil},
		{" t ", "t", nil},
		{"t:0", "t", []int32{0}},
		{"t:3,1,1, 2", "t", []int32{1, 2, 3}},
	} {
		topic, parts, err := ParseTopicPartitions(tc.in)
		if err != nil || topic != tc.topic || !slices.Equal(parts, tc.parts) {
			t.Errorf("ParseTopicPartitions(%q) = %q %v %v", tc.in, topic, parts, err)
		}
	}
	for _, bad := range []string{"", ":1", "t:", "t:x", "t:-1", "t:1,", "t:99999999999"} {
		if _, _, err := ParseTopicPartitions(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseTopicPartitions(%q): err = %v", bad, err)
		}
	}
}

func TestParseResetSpec(t *testing.T) {
	for _, tc := range []struct {
		f    ResetFlags
		want ResetSpec
	}{
		{ResetFlags{ToEarliest: true}, ResetSpec{Kind: ResetToEarliest}},
		{ResetFlags{ToLatest: true}, ResetSpec{Kind: ResetToLatest}},
		{ResetFlags{ToCurrent: true}, ResetSpec{Kind: ResetToCurrent}},
		{ResetFlags{ToOffset: "42"}, ResetSpec{Kind: ResetToOffset, N: 42}},
		{ResetFlags{ShiftBy: "-5"}, ResetSpec{Kind: ResetShiftBy, N: -5}},
		{ResetFlags{ToDatetime: "1700000000000"}, ResetSpec{Kind: ResetToDatetime, N: 1700000000000}},
		{ResetFlags{ToDatetime: "2024-05-01T12:00:00Z"}, ResetSpec{Kind: ResetToDatetime, N: 1714564800000}},
	} {
		got, err := ParseResetSpec(tc.f)
		if err != nil || got != tc.want {
			t.Errorf("ParseResetSpec(%+v) = %+v, %v", tc.f, got, err)
		}
	}
	for _, bad := range []ResetFlags{
		{},
		{ToEarliest: true, ToLatest: true},
		{ToOffset: "1", ShiftBy: "1"},
		{ToOffset: "-1"},
		{ToOffset: "x"},
		{ShiftBy: "1.5"},
		{ShiftBy: "-9223372036854775808"},
		{ToDatetime: "yesterday"},
	} {
		if _, err := ParseResetSpec(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseResetSpec(%+v): err = %v", bad, err)
		}
	}
}

func TestResetTarget(t *testing.T) {
	// A partition holding offsets [10, 20); the group committed 15.
	const start, end = 10, 20
	for _, tc := range []struct {
		spec      ResetSpec
		committed int64
		byTime    int64
		want      int64
		ok        bool
	}{
		{ResetSpec{Kind: ResetToEarliest}, 15, -1, 10, true},
		{ResetSpec{Kind: ResetToLatest}, 15, -1, 20, true},
		{ResetSpec{Kind: ResetToCurrent}, 15, -1, 15, true},
		{ResetSpec{Kind: ResetToCurrent}, -1, -1, 20, true}, // no commit: the end
		{ResetSpec{Kind: ResetToCurrent}, 3, -1, 10, true},  // below the log start: clamped
		{ResetSpec{Kind: ResetToOffset, N: 12}, 15, -1, 12, true},
		{ResetSpec{Kind: ResetToOffset, N: 5}, 15, -1, 10, true},
		{ResetSpec{Kind: ResetToOffset, N: 99}, 15, -1, 20, true},
		{ResetSpec{Kind: ResetShiftBy, N: -2}, 15, -1, 13, true},
		{ResetSpec{Kind: ResetShiftBy, N: -100}, 15, -1, 10, true},
		{ResetSpec{Kind: ResetShiftBy, N: 3}, 15, -1, 18, true},
		{ResetSpec{Kind: ResetShiftBy, N: math.MaxInt64}, 15, -1, 20, true},
		{ResetSpec{Kind: ResetShiftBy, N: 1}, -1, -1, 0, false}, // nothing to shift
		{ResetSpec{Kind: ResetToDatetime, N: 1}, 15, 17, 17, true},
		{ResetSpec{Kind: ResetToDatetime, N: 1}, 15, -1, 20, true},
	} {
		got, ok := tc.spec.Target(tc.committed, start, end, tc.byTime)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%+v committed %d byTime %d: %d %v, want %d %v", tc.spec, tc.committed, tc.byTime, got, ok, tc.want, tc.ok)
		}
	}
	if !(ResetSpec{Kind: ResetToDatetime}).NeedsTimes() || (ResetSpec{Kind: ResetToLatest}).NeedsTimes() {
		t.Error("NeedsTimes")
	}
}

// FuzzParseTopicPartitions: any input either fails with ErrInvalid or
// gives a non-empty topic and sorted, distinct, non-negative partitions.
func FuzzParseTopicPartitions(f *testing.F) {
	for _, seed := range []string{"t", "t:0,1", "t:", ":", "t:1,1,0", "a:b:c", "t:-1", "\xff:1"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		topic, parts, err := ParseTopicPartitions(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if topic == "" {
			t.Fatal("empty topic accepted")
		}
		for i, p := range parts {
			if p < 0 || (i > 0 && parts[i-1] >= p) {
				t.Fatalf("partitions %v", parts)
			}
		}
	})
}
