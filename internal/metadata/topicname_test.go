package metadata

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateTopicName(t *testing.T) {
	valid := []string{"a", "orders", "Orders-2024_v1.x", "__consumer_offsets", strings.Repeat("x", 249), "...", "-"}
	for _, name := range valid {
		if err := ValidateTopicName(name); err != nil {
			t.Errorf("ValidateTopicName(%q) = %v", name, err)
		}
	}
	invalid := map[string]string{
		"":                       "Topic name is invalid: the empty string is not allowed",
		".":                      "Topic name is invalid: '.' is not allowed",
		"..":                     "Topic name is invalid: '..' is not allowed",
		strings.Repeat("x", 250): "Topic name is invalid: the length of '" + strings.Repeat("x", 250) + "' is longer than the max allowed length 249",
		"a b":                    "Topic name is invalid: 'a b' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'",
		"a/b":                    "",
		"é":                      "",
		"topic\x00":              "",
		"with:colon":             "",
	}
	for name, msg := range invalid {
		err := ValidateTopicName(name)
		if !errors.Is(err, ErrInvalidTopic) {
			t.Errorf("ValidateTopicName(%q) = %v, want ErrInvalidTopic", name, err)
			continue
		}
		if msg != "" && ErrorMessage(err) != msg {
			t.Errorf("ValidateTopicName(%q) message %q, want %q", name, ErrorMessage(err), msg)
		}
	}
}

func TestCollisionChars(t *testing.T) {
	if HasCollisionChars("abc") || !HasCollisionChars("a.b") || !HasCollisionChars("a_b") {
		t.Error("HasCollisionChars")
	}
	if UnifyCollisionChars("a.b_c") != "a_b_c" {
		t.Error("UnifyCollisionChars")
	}
}
