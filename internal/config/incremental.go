package config

import (
	"slices"
	"strconv"
	"strings"
)

// AlterOp is an IncrementalAlterConfigs operation; the values are the wire
// codes (kmsg.IncrementalAlterConfigOp).
type AlterOp int8

// The IncrementalAlterConfigs operations.
const (
	OpSet      AlterOp = 0
	OpDelete   AlterOp = 1
	OpAppend   AlterOp = 2
	OpSubtract AlterOp = 3
)

// String returns Kafka's name of the operation.
func (o AlterOp) String() string {
	switch o {
	case OpSet:
		return "SET"
	case OpDelete:
		return "DELETE"
	case OpAppend:
		return "APPEND"
	case OpSubtract:
		return "SUBTRACT"
	}
	return "UNKNOWN"
}

// ApplyIncremental applies one IncrementalAlterConfigs operation to a
// resource's set of explicitly set configs (a topic's overrides, or one
// dynamic broker level), as Kafka's ConfigurationControlManager does: SET
// stores the value (a nil value removes the key), DELETE removes it, APPEND
// and SUBTRACT edit a list config element-wise, starting from the current
// value or, when there is none, the config's default. Only the key and the
// operation are checked here; validate the resulting set afterwards
// (ValidateTopicConfigs, ValidateDynamic). overrides is modified in place.
func (r *Registry) ApplyIncremental(overrides map[string]string, name string, op AlterOp, value *string) error {
	d, ok := r.resolveKey(name)
	if !ok {
		return unknownError(r.scope, name, "")
	}
	switch op {
	case OpSet:
		if value == nil {
			delete(overrides, name)
		} else {
			overrides[name] = *value
		}
	case OpDelete:
		delete(overrides, name)
	case OpAppend, OpSubtract:
		if d.Type != TypeList {
			return &Error{Err: ErrInvalidValue, Name: name, plain: true,
				Reason: "Can't " + op.String() + " to key " + name + " because its type is not LIST."}
		}
		current, ok := overrides[name]
		if !ok {
			current, ok = d.Default()
		}
		var parts []string
		if ok {
			for _, p := range strings.Split(current, ",") {
				if p != "" {
					parts = append(parts, p)
				}
			}
		}
		if value != nil {
			ops := strings.Split(*value, ",")
			if op == OpAppend {
				for _, v := range ops {
					if !slices.Contains(parts, v) {
						parts = append(parts, v)
					}
				}
			} else {
				parts = slices.DeleteFunc(parts, func(p string) bool { return slices.Contains(ops, p) })
			}
		}
		overrides[name] = strings.Join(parts, ",")
	default:
		return &Error{Err: ErrInvalidValue, Name: name, plain: true,
			Reason: "Unknown IncrementalAlterConfigs operation " + strconv.Itoa(int(op)) + " for " + name}
	}
	return nil
}
