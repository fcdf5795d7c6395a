package metadata

import "strings"

// MaxTopicNameLength is the longest topic name Kafka accepts. It leaves room
// for "-<partition>" and a deletion suffix within a 255-byte file name.
const MaxTopicNameLength = 249

// ValidateTopicName applies Kafka's topic name rules (Topic.validate): not
// empty, not "." or "..", at most 249 characters, only ASCII letters,
// digits, '.', '_' and '-'. The error wraps ErrInvalidTopic and carries
// Kafka's message.
func ValidateTopicName(name string) error {
	reason := ""
	switch {
	case name == "":
		reason = "the empty string is not allowed"
	case name == ".":
		reason = "'.' is not allowed"
	case name == "..":
		reason = "'..' is not allowed"
	case len(name) > MaxTopicNameLength:
		reason = "the length of '" + name + "' is longer than the max allowed length 249"
	case !legalTopicChars(name):
		reason = "'" + name + "' contains one or more characters other than ASCII alphanumerics, '.', '_' and '-'"
	default:
		return nil
	}
	return newAPIError(ErrInvalidTopic, "Topic name is invalid: %s", reason)
}

func legalTopicChars(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// HasCollisionChars reports whether a topic name contains '.' or '_'.
// Kafka's metric names turn '.' into '_', so two names that differ only
// there would share metrics; Kafka warns on such names and refuses to create
// one that collides with an existing topic.
func HasCollisionChars(name string) bool {
	return strings.ContainsAny(name, "._")
}

// UnifyCollisionChars maps a topic name to the form its metrics use ('.'
// replaced by '_'). Two names collide when their unified forms are equal.
func UnifyCollisionChars(name string) string {
	return strings.ReplaceAll(name, ".", "_")
}
